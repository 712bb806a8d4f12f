/**
 * The summary of a grid, built with danfojs from the result rows. Only runs with a final status (completed or
 * diverged) count.
 * - Per cell (axis values, seeds pooled): runs, NaN rate (share of runs that diverged or had a non-finite batch) and,
 *   for test HR@10, NDCG@10 and MRR, the mean and the 95% confidence half-width across seeds,
 *   t_{0.975, n-1} * s / sqrt(n) (null below two seeds).
 * - Main effects: for each axis level, the mean NaN rate and mean NDCG@10 over the cells at that level (each cell
 *   weighs the same), and the difference from the axis's first level; only when the cells are a full crossing of the
 *   axes (else none: a level's mean would mix different cells).
 * Written as `DIR/grid_summary.csv` (cells) and `DIR/grid_summary.json` (cells and effects), atomically (run/files.ts
 * `GRID_FILES`; a run's own summary.json is a different record).
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import * as dfd from "danfojs";
import { join } from "node:path";
import { GRID_FILES } from "../run/files.ts";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { type CsvValue, toCsv } from "./csv.ts";
import { cellId, formatValue } from "./grid.ts";
import type { ResultRow } from "./results.ts";

/** Summarised test metrics: summary name -> metric. */
export const SUMMARY_METRICS = { hr10: "HR@10", ndcg10: "NDCG@10", mrr: "MRR" } as const;
/** A summarised metric's name. */
export type SummaryMetric = keyof typeof SUMMARY_METRICS;
const METRICS = Object.keys(SUMMARY_METRICS) as SummaryMetric[];

/** A mean across seeds with its 95% confidence half-width. */
export interface MeanCi {
  mean: number | null;
  /** Half-width of the 95% t interval; null with fewer than two values. */
  ci95: number | null;
  /** Number of runs with a value. */
  n: number;
}

/**
 * The 95% interval of a mean as `[lo, hi]` (mean ∓ half-width, same units as the mean); null when it is not known:
 * no mean (no finished run) or no half-width (fewer than two values, e.g. one seed).
 */
export function ciBounds(m: MeanCi): [number, number] | null {
  if (m.mean === null || m.ci95 === null) return null;
  return [m.mean - m.ci95, m.mean + m.ci95];
}

/** One cell of the grid, seeds pooled. */
export interface CellSummary extends Record<SummaryMetric, MeanCi> {
  /** Axis values. */
  values: Record<string, unknown>;
  /** Runs with a final status. */
  runs: number;
  nan_rate: number;
}

/** The effect of one axis level, averaged over all other cells. */
export interface MainEffect {
  axis: string;
  level: unknown;
  /** Cells at this level with a final run. */
  cells: number;
  nan_rate: number | null;
  ndcg10: number | null;
  /** Difference from the axis's first level. */
  delta_nan_rate: number | null;
  delta_ndcg10: number | null;
}

/** Content of grid_summary.json. */
export interface GridSummary {
  /** Where the metrics come from. */
  split: "test";
  runs: number;
  final_runs: number;
  cells: CellSummary[];
  effects: MainEffect[];
}

/** The 0.975 quantile of Student's t with `df` degrees of freedom (`@stdlib/stats-base-dists-t-quantile`). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`t quantile: df must be a positive integer, got ${df}`);
  return tQuantile(0.975, df);
}

/** Half-width of the 95% t interval of a mean from the sample standard deviation of `n` values. */
export function ci95HalfWidth(std: number, n: number): number | null {
  return n >= 2 ? tQuantile975(n - 1) * std / Math.sqrt(n) : null;
}

type Row = Record<string, unknown>;

function records(df: dfd.DataFrame): Row[] {
  const columns = df.columns;
  return (df.values as unknown[][]).map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
}

/** Mean, sample std and count of `column` per value of `by`, over the rows where `column` is not NaN. */
function groupStats(
  df: dfd.DataFrame,
  by: string,
  column: string,
): Map<string, { mean: number; std: number; n: number }> {
  const present = df.loc({ columns: [by, column] }).dropNa({ axis: 1 });
  if (present.shape[0] === 0) return new Map();
  const agg = present.groupby([by]).agg({ [column]: ["mean", "std", "count"] });
  return new Map(
    records(agg).map((r) => [
      String(r[by]),
      { mean: r[`${column}_mean`] as number, std: r[`${column}_std`] as number, n: r[`${column}_count`] as number },
    ]),
  );
}

function isFinal(row: ResultRow): boolean {
  return row.status === "completed" || row.status === "diverged";
}

function hadNonfinite(row: ResultRow): boolean {
  return row.status === "diverged" || (row.nonfinite_batches ?? 0) > 0;
}

function withoutSeed(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => k !== "seed"));
}

function summarizeCells(runs: ResultRow[], axes: Record<string, unknown[]>): CellSummary[] {
  const df = new dfd.DataFrame(runs.map((r) => ({
    cell: cellId(withoutSeed(r.values)),
    nan: hadNonfinite(r) ? 1 : 0,
    ...Object.fromEntries(METRICS.map((m) => [m, r.test?.[SUMMARY_METRICS[m]] ?? NaN])),
  })));
  const nan = groupStats(df, "cell", "nan");
  const metrics = Object.fromEntries(METRICS.map((m) => [m, groupStats(df, "cell", m)]));
  const valuesOf = new Map(runs.map((r) => [cellId(withoutSeed(r.values)), withoutSeed(r.values)]));
  const levelIndex = (values: Record<string, unknown>) =>
    Object.keys(axes).map((k) => axes[k].findIndex((level) => formatValue(level) === formatValue(values[k])));
  const order = (a: number[], b: number[]) => a.findIndex((x, i) => x !== b[i]);
  return [...nan.entries()]
    .map(([key, { mean, n }]) => ({
      values: valuesOf.get(key)!,
      runs: n,
      nan_rate: mean,
      ...Object.fromEntries(METRICS.map((m) => {
        const s = metrics[m].get(key);
        return [m, s ? { mean: s.mean, ci95: ci95HalfWidth(s.std, s.n), n: s.n } : { mean: null, ci95: null, n: 0 }];
      })) as Record<SummaryMetric, MeanCi>,
    }))
    .sort((a, b) => {
      const [ia, ib] = [levelIndex(a.values), levelIndex(b.values)];
      const i = order(ia, ib);
      return i < 0 ? 0 : ia[i] - ib[i];
    });
}

/** The number of combinations of the axes' levels. */
function combinations(axes: Record<string, unknown[]>): number {
  return Object.values(axes).reduce((n, levels) => n * levels.length, 1);
}

/**
 * Whether the cells hold every combination of the axes' levels. Main effects are only computed then: with cells
 * missing (`exclude` rules, unfinished cells) a level's mean would average different sets of the other axes' levels.
 */
function isFullCrossing(cells: CellSummary[], axes: Record<string, unknown[]>): boolean {
  return cells.length === combinations(axes);
}

function mainEffects(cells: CellSummary[], axes: Record<string, unknown[]>): MainEffect[] {
  if (cells.length === 0) return [];
  const df = new dfd.DataFrame(cells.map((c) => ({
    ...Object.fromEntries(Object.keys(axes).map((k) => [k, formatValue(c.values[k])])),
    nan_rate: c.nan_rate,
    ndcg10: c.ndcg10.mean ?? NaN,
  })));
  return Object.entries(axes).flatMap(([axis, levels]) => {
    const nan = groupStats(df, axis, "nan_rate");
    const ndcg = groupStats(df, axis, "ndcg10");
    const at = (level: unknown) => ({
      nan_rate: nan.get(formatValue(level))?.mean ?? null,
      ndcg10: ndcg.get(formatValue(level))?.mean ?? null,
    });
    const first = at(levels[0]);
    const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    return levels.map((level) => {
      const here = at(level);
      return {
        axis,
        level,
        cells: nan.get(formatValue(level))?.n ?? 0,
        ...here,
        delta_nan_rate: minus(here.nan_rate, first.nan_rate),
        delta_ndcg10: minus(here.ndcg10, first.ndcg10),
      };
    });
  });
}

/** Summarises result rows of a grid with the given axes (levels in grid order). */
export function summarizeResults(rows: ResultRow[], axes: Record<string, unknown[]>): GridSummary {
  const runs = rows.filter(isFinal);
  const cells = runs.length > 0 ? summarizeCells(runs, axes) : [];
  const effects = isFullCrossing(cells, axes) ? mainEffects(cells, axes) : [];
  return { split: "test", runs: rows.length, final_runs: runs.length, cells, effects };
}

/** The CSV text of the per-cell summary. */
export function summaryCsv(summary: GridSummary, axes: Record<string, unknown[]>): string {
  const header = [
    ...Object.keys(axes),
    "runs",
    "nan_rate",
    ...METRICS.flatMap((m) => [`${m}_mean`, `${m}_ci95`, `${m}_n`]),
  ];
  const rows: CsvValue[][] = summary.cells.map((c) => [
    ...Object.keys(axes).map((k) => formatValue(c.values[k])),
    c.runs,
    c.nan_rate,
    ...METRICS.flatMap((m) => [c[m].mean, c[m].ci95, c[m].n]),
  ]);
  return toCsv(header, rows);
}

function fixed(x: number | null, signed = false): string {
  if (x === null) return "-";
  return (signed && x >= 0 ? "+" : "") + x.toFixed(4);
}

/** Renders records as a danfojs table whose columns are as wide as their longest entry. */
function renderTable(rows: Record<string, string>[]): string {
  const columns = Object.keys(rows[0]);
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => r[c].length));
  const layout = Object.fromEntries([
    [0, { width: String(rows.length).length }],
    ...columns.map((c, i) => [i + 1, { width: width(c) }]),
  ]);
  const df = new dfd.DataFrame(rows, {
    config: { tableMaxRow: rows.length, tableMaxColInConsole: columns.length, tableDisplayConfig: { columns: layout } },
  });
  return df.toString();
}

/** The summary as text tables: one row per cell, then the main effects. */
export function summaryTables(summary: GridSummary, axes: Record<string, unknown[]>): string {
  if (summary.cells.length === 0) return `no finished runs (${summary.runs} cells in the grid)\n`;
  const cells = renderTable(summary.cells.map((c) => ({
    ...Object.fromEntries(Object.keys(axes).map((k) => [k, formatValue(c.values[k])])),
    runs: String(c.runs),
    nan_rate: c.nan_rate.toFixed(2),
    ...Object.fromEntries(METRICS.map((m) => [
      `${SUMMARY_METRICS[m]} (test)`,
      c[m].mean === null ? "-" : `${fixed(c[m].mean)} ± ${c[m].ci95 === null ? "?" : c[m].ci95!.toFixed(4)}`,
    ])),
  })));
  const effects = summary.effects.length === 0 ? "" : renderTable(summary.effects.map((e) => ({
    axis: e.axis,
    level: formatValue(e.level),
    cells: String(e.cells),
    nan_rate: fixed(e.nan_rate),
    "Δ nan_rate": fixed(e.delta_nan_rate, true),
    "NDCG@10": fixed(e.ndcg10),
    "Δ NDCG@10": fixed(e.delta_ndcg10, true),
  })));
  const total = combinations(axes);
  const effectsText = summary.effects.length > 0
    ? `Main effects (mean over the cells at each level; Δ from the first level):\n${effects}`
    : `Main effects left out: ${summary.cells.length} of the ${total} combinations of the axes' levels have results ` +
      "(exclude rules or unfinished cells), so a level's mean would average different cells; compare cells instead.\n";
  return `Per cell (${summary.final_runs} of ${summary.runs} runs finished; mean ± 95% CI across seeds):\n${cells}` +
    effectsText;
}

/** Writes `out/grid_summary.csv` and `out/grid_summary.json` atomically. */
export async function writeSummary(out: string, summary: GridSummary, axes: Record<string, unknown[]>): Promise<void> {
  await writeFileAtomic(join(out, GRID_FILES.summaryCsv), summaryCsv(summary, axes));
  await writeJsonAtomic(join(out, GRID_FILES.summary), summary);
}
