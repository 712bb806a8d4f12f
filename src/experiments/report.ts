/**
 * Reports from grid output directories: read a grid directory back (cells, result rows, summary), turn its summary
 * into tables, chart rows and sentences computed from the numbers, and render a report (sections of paragraphs,
 * tables, figures and the commands that reproduce them) as Markdown or standalone HTML.
 * Every number in a report comes from a grid directory the report names.
 */
import { isAbsolute, join, relative } from "node:path";
import type { Row } from "../viz/tables.ts";
import type { AblationRow, ModelMetricRow } from "../viz/plots.ts";
import { exists } from "../util/fs.ts";
import { median } from "../util/stats.ts";
import { type Cell, formatValue } from "./grid.ts";
import { collectResults, type ResultRow } from "./results.ts";
import { readGridRecord, runDirOf } from "./runner.ts";
import {
  type CellSummary,
  type GridSummary,
  type MeanCi,
  summarizeResults,
  SUMMARY_METRICS,
  type SummaryMetric,
} from "./summary.ts";

/** A grid output directory read back from disk. */
export interface GridResults {
  /** The grid output directory. */
  dir: string;
  /** The grid file it was run from, as recorded in grid.json. */
  grid: string;
  axes: Record<string, unknown[]>;
  cells: Cell[];
  /** One row per cell, from the run directories (pending/failed cells included). */
  rows: ResultRow[];
  summary: GridSummary;
}

/** Reads `dir/grid.json` and every cell's run directory, and summarises them (see summary.ts). */
export async function readGridResults(dir: string): Promise<GridResults> {
  const record = await readGridRecord(dir);
  const rows = await collectResults(dir, record.cells);
  return {
    dir,
    grid: record.grid,
    axes: record.axes,
    cells: record.cells,
    rows,
    summary: summarizeResults(rows, record.axes),
  };
}

/** `readGridResults(dir)`, or undefined when `dir` holds no grid.json (the grid has not been started there). */
export async function readGridResultsIfExists(dir: string): Promise<GridResults | undefined> {
  return (await exists(join(dir, "grid.json"))) ? await readGridResults(dir) : undefined;
}

/** A path as the report shows it: absolute paths under `root` (the repository root) relative to it, others unchanged. */
export function shownPath(path: string, root: string = Deno.cwd()): string {
  if (!isAbsolute(path)) return path;
  const inside = relative(root, path);
  return inside.startsWith("..") || isAbsolute(inside) ? path : inside || ".";
}

/** The command that (re)runs a grid into its directory, run from `root` (the repository root). */
export function ablateCommand(grid: string, dir: string, root: string = Deno.cwd()): string {
  return `deno task ablate run --grid ${shownPath(grid, root)} --out ${shownPath(dir, root)}`;
}

/** "mean ± half-width" with 4 decimals; "-" without a mean, "± ?" without an interval (fewer than two seeds). */
export function formatMeanCi(m: MeanCi): string {
  if (m.mean === null) return "-";
  return `${m.mean.toFixed(4)} ± ${m.ci95 === null ? "?" : m.ci95.toFixed(4)}`;
}

/** A cell's label: its axis values as `key=value` pairs. */
export function cellLabel(values: Record<string, unknown>, axes: Record<string, unknown[]>): string {
  return Object.keys(axes).map((k) => `${k}=${formatValue(values[k])}`).join(", ");
}

/** One table row per cell: axis values, runs, NaN rate and test HR@10 / NDCG@10 / MRR as mean ± 95% CI. */
export function cellTable(summary: GridSummary, axes: Record<string, unknown[]>): Row[] {
  return summary.cells.map((c) => ({
    ...Object.fromEntries(Object.keys(axes).map((k) => [k, formatValue(c.values[k])])),
    runs: c.runs,
    nan_rate: c.nan_rate.toFixed(2),
    "test HR@10": formatMeanCi(c.hr10),
    "test NDCG@10": formatMeanCi(c.ndcg10),
    "test MRR": formatMeanCi(c.mrr),
  }));
}

/** Total and median wall-clock time of the finished runs of a grid. */
export function wallTimeSentence(rows: ResultRow[]): string {
  const times = rows.map((r) => r.wall_time_s).filter((t): t is number => t !== null).sort((a, b) => a - b);
  if (times.length === 0) return "No run has finished yet.";
  const total = times.reduce((a, b) => a + b, 0);
  return `Wall-clock time of the ${times.length} finished run(s): ${(total / 60).toFixed(1)} min in total, ` +
    `${
      median(times).toFixed(0)
    } s median per run (on a 2-core machine shared with other work, so runs that overlapped ` +
    "slowed each other).";
}

/**
 * The training budget of a grid's runs: epochs per stage, validation cadence and early stopping (from the cells'
 * configs; differing values joined by "/"), and how many steps the finished runs that train took.
 */
export function budgetSentence(cells: Cell[], rows: ResultRow[]): string {
  const values = (key: "epochs_per_stage" | "eval_every" | "patience") =>
    [...new Set(cells.map((c) => c.config[key]))].sort((a, b) => a - b).join("/");
  const steps = rows.map((r) => r.steps).filter((n): n is number => n !== null && n > 0).sort((a, b) => a - b);
  const taken = steps.length === 0
    ? "no run that trains has finished yet"
    : `the ${steps.length} finished run(s) that train took ${steps[0]}–${steps[steps.length - 1]} steps (median ` +
      `${Math.round(median(steps))})`;
  return `Training budget: up to ${values("epochs_per_stage")} epochs per stage, validation every ` +
    `${values("eval_every")} epoch(s), a stage stops after ${values("patience")} validation(s) without a new best; ` +
    `${taken}.`;
}

/**
 * The cells with runs still improving when the budget ran out (best validation at the last epoch of the last
 * stage, so more epochs would likely help), as one sentence; none when no run ended that way.
 */
export function stillImprovingSentences(results: GridResults): string[] {
  const configs = new Map(results.cells.map((c) => [c.id, c.config]));
  const counts = new Map<string, { ended: number; runs: number }>();
  for (const row of results.rows) {
    const config = configs.get(row.id);
    if (!config || !row.steps) continue;
    const label = cellLabel(row.values, results.axes) || "the runs";
    const entry = counts.get(label) ?? { ended: 0, runs: 0 };
    entry.runs++;
    const lastStage = config.stages[config.stages.length - 1];
    if (row.best?.stage === lastStage && row.best.epoch === config.epochs_per_stage - 1) entry.ended++;
    counts.set(label, entry);
  }
  const ended = [...counts].filter(([, e]) => e.ended > 0).map(([label, e]) => `${label} (${e.ended} of ${e.runs})`);
  if (ended.length === 0) return [];
  return [
    "Still improving when the budget ran out (best validation at the last epoch of the last stage, so these runs " +
    `may be under-trained): ${ended.join("; ")}.`,
  ];
}

/** The runs that were interrupted and continued from their last checkpoint, as one sentence; none when none was. */
export function resumedSentences(rows: ResultRow[]): string[] {
  const resumed = rows.filter((r) => r.resumed).map((r) => `\`${r.id}\``);
  if (resumed.length === 0) return [];
  return [`Interrupted and resumed from the last checkpoint: ${resumed.join(", ")}.`];
}

/** The code version the runs were made with, from `DIR/COMMIT` when the results driver wrote one. */
function provenance(dir: string): string[] {
  try {
    const commit = Deno.readTextFileSync(`${dir}/COMMIT`).trim();
    return [
      `Runs made with the code at commit \`${commit}\` (\`git checkout ${
        commit.slice(0, 10)
      }\` to rerun them exactly).`,
    ];
  } catch {
    return [];
  }
}

/** The cells as chart rows for `ablationNanRate` / `ablationNdcg` / `mainEffects` (src/viz/plots.ts). */
export function ablationRows(summary: GridSummary, axes: Record<string, unknown[]>): AblationRow[] {
  return summary.cells.map((c) => {
    const { mean, ci95 } = c.ndcg10;
    return {
      ...Object.fromEntries(Object.keys(axes).map((k) => [k, formatValue(c.values[k])])),
      cell: cellLabel(c.values, axes),
      nan_rate: c.nan_rate,
      ndcg10_mean: mean,
      ndcg10_lo: mean === null || ci95 === null ? mean : mean - ci95,
      ndcg10_hi: mean === null || ci95 === null ? mean : mean + ci95,
    };
  });
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
}

/**
 * One sentence per axis level after the first, from the main effects: how the level changes the NaN rate and
 * NDCG@10 relative to the axis's first level (e.g. "attention_mask torch -> safe changes the NaN rate by -1.00").
 */
export function effectSentences(summary: GridSummary): string[] {
  const firstLevel = new Map<string, unknown>();
  const firstNdcg = new Map<string, number | null>();
  const sentences: string[] = [];
  for (const e of summary.effects) {
    if (!firstLevel.has(e.axis)) {
      firstLevel.set(e.axis, e.level);
      firstNdcg.set(e.axis, e.ndcg10);
      continue;
    }
    const from = formatValue(firstLevel.get(e.axis));
    const nan = e.delta_nan_rate === null
      ? "leaves the NaN rate unknown"
      : `changes the NaN rate by ${signed(e.delta_nan_rate)}`;
    const missing = [e.ndcg10 === null ? formatValue(e.level) : null, firstNdcg.get(e.axis) === null ? from : null]
      .filter((x) => x !== null).map((level) => `${e.axis}=${level}`);
    const ndcg = e.delta_ndcg10 !== null
      ? `and test NDCG@10 by ${e.delta_ndcg10 >= 0 ? "+" : ""}${e.delta_ndcg10.toFixed(4)}`
      : `(test NDCG@10 not comparable: no finished run with a test metric at ${missing.join(" or ")})`;
    sentences.push(`${e.axis} ${from} -> ${formatValue(e.level)} ${nan} ${ndcg}.`);
  }
  return sentences;
}

/** The axes whose levels change the NaN rate (any main-effect delta other than 0), largest change first. */
export function nanFactors(summary: GridSummary): { axis: string; delta: number }[] {
  const largest = new Map<string, number>();
  for (const e of summary.effects) {
    if (e.delta_nan_rate === null) continue;
    if (Math.abs(e.delta_nan_rate) > Math.abs(largest.get(e.axis) ?? 0)) largest.set(e.axis, e.delta_nan_rate);
  }
  return [...largest].map(([axis, delta]) => ({ axis, delta })).sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
}

const MODEL_NAMES: Record<string, string> = { pop: "Popularity", bprmf: "BPR-MF", sasrec: "SASRec", ur4rec: "UR4Rec" };

/** A readable model name from a cell's values: "Popularity", "SASRec", "UR4Rec (fixed, leak_free)", ... */
export function modelLabel(values: Record<string, unknown>): string {
  const name = MODEL_NAMES[String(values.model)] ?? String(values.model);
  if (values.model !== "ur4rec") return name;
  const details = ["retriever_mode", "user_text"].filter((k) => k in values).map((k) => formatValue(values[k]));
  return details.length > 0 ? `${name} (${details.join(", ")})` : name;
}

/** Chart rows for `modelComparison`: per cell with a test metric, its mean and 95% interval for each summary metric. */
export function comparisonRows(summary: GridSummary): ModelMetricRow[] {
  return summary.cells.flatMap((c) =>
    (Object.keys(SUMMARY_METRICS) as SummaryMetric[]).flatMap((m) => {
      const { mean, ci95 } = c[m];
      if (mean === null) return [];
      const half = ci95 ?? 0;
      return [{
        model: modelLabel(c.values),
        metric: `test ${SUMMARY_METRICS[m]}`,
        mean,
        lo: mean - half,
        hi: mean + half,
      }];
    })
  );
}

/**
 * The ablation answer in sentences: the axes whose levels change the NaN rate (largest change first), those that
 * leave it unchanged, and those that cannot be told yet because a level has no finished run.
 */
export function nanAnswer(summary: GridSummary, axes: Record<string, unknown[]>): string[] {
  const known = (axis: string, level: unknown) =>
    summary.effects.some((e) => e.axis === axis && formatValue(e.level) === formatValue(level) && e.nan_rate !== null);
  const unknown = Object.keys(axes).filter((a) => axes[a].some((level) => !known(a, level)));
  const factors = nanFactors(summary).filter((f) => !unknown.includes(f.axis));
  const unchanged = Object.keys(axes).filter((a) => !unknown.includes(a) && !factors.some((f) => f.axis === a));
  const sentences = [`${summary.final_runs} of ${summary.runs} runs finished.`];
  if (factors.length > 0) {
    const list = factors.map((f) => `${f.axis} (${f.delta >= 0 ? "+" : ""}${f.delta.toFixed(2)})`).join(", ");
    sentences.push(`Axes that change the NaN rate (largest change between levels): ${list}.`);
  }
  if (unchanged.length > 0) sentences.push(`Axes that leave the NaN rate unchanged: ${unchanged.join(", ")}.`);
  if (unknown.length > 0) {
    sentences.push(`Not known yet (a level has no finished run): ${unknown.join(", ")}.`);
  }
  return sentences;
}

/** A labelled test metric with its interval, for comparisons. */
export interface Scored {
  label: string;
  score: MeanCi;
}

/**
 * Compares two results on one metric: "A beats B" only when A's 95% interval lies wholly above B's; otherwise says
 * whether the intervals overlap or A is below. A missing interval (one seed) counts as zero width and is said.
 */
export function compareSentence(a: Scored, b: Scored, metric: string): string {
  if (a.score.mean === null || b.score.mean === null) {
    return `${a.label} vs ${b.label}: no ${metric} to compare (${
      a.score.mean === null ? a.label : b.label
    } has no finished run).`;
  }
  const [aLo, aHi] = bounds(a.score);
  const [bLo, bHi] = bounds(b.score);
  const numbers = `${metric} ${formatMeanCi(a.score)} vs ${formatMeanCi(b.score)}`;
  const oneSeed = a.score.ci95 === null || b.score.ci95 === null ? "; single-seed values have no interval" : "";
  if (aLo > bHi) return `${a.label} beats ${b.label} (${numbers}${oneSeed}).`;
  if (aHi < bLo) return `${a.label} does not beat ${b.label}: it is below it (${numbers}${oneSeed}).`;
  return `${a.label} does not beat ${b.label}: the 95% intervals overlap (${numbers}${oneSeed}).`;
}

function bounds(m: MeanCi): [number, number] {
  const half = m.ci95 ?? 0;
  return [m.mean! - half, m.mean! + half];
}

/** The summary cell whose axis values include all of `values` (compared as text), if any. */
export function findCell(summary: GridSummary, values: Record<string, unknown>): CellSummary | undefined {
  return summary.cells.find((c) =>
    Object.entries(values).every(([k, v]) => formatValue(c.values[k]) === formatValue(v))
  );
}

/** The run directories of the cells of a grid as the report shows them (see `shownPath`), in results order. */
export function runDirs(results: GridResults, root: string = Deno.cwd()): string[] {
  return results.rows.map((r) => shownPath(runDirOf(results.dir, r.id), root));
}

/** A table of a report. */
export interface ReportTable {
  caption: string;
  rows: Row[];
}

/** A figure of a report: an image file (path relative to the report) and its caption. */
export interface ReportFigure {
  file: string;
  caption: string;
}

/** One section of a report. */
export interface ReportSection {
  heading: string;
  paragraphs: string[];
  tables?: ReportTable[];
  figures?: ReportFigure[];
  /** Shell commands that reproduce the section's numbers. */
  commands?: string[];
  /** Where the numbers come from (run or grid directories). */
  sources?: string[];
}

/** A report: a title and its sections. */
export interface Report {
  title: string;
  sections: ReportSection[];
}

function markdownCell(value: unknown): string {
  return (value === null || value === undefined ? "" : String(value)).replaceAll("|", "\\|");
}

function markdownTable(rows: Row[]): string[] {
  if (rows.length === 0) return ["(no rows)"];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [
    `| ${columns.map(markdownCell).join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${columns.map((c) => markdownCell(r[c])).join(" | ")} |`),
  ];
}

/** The report as Markdown. */
export function reportMarkdown(report: Report): string {
  const lines = [`# ${report.title}`, ""];
  for (const s of report.sections) {
    lines.push(`## ${s.heading}`, "");
    for (const p of s.paragraphs) lines.push(p, "");
    for (const t of s.tables ?? []) lines.push(`**${t.caption}**`, "", ...markdownTable(t.rows), "");
    for (const f of s.figures ?? []) lines.push(`![${f.caption}](${f.file})`, "", `*${f.caption}*`, "");
    if (s.commands?.length) lines.push("Reproduce with:", "", "```sh", ...s.commands, "```", "");
    if (s.sources?.length) lines.push("Sources:", "", ...s.sources.map((x) => `- \`${x}\``), "");
  }
  return lines.join("\n");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** Inline Markdown of the paragraphs: `code` and **bold**, everything else escaped. */
function inlineHtml(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
}

function htmlTable(t: ReportTable): string {
  const columns = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
  const cell = (tag: string, v: unknown) =>
    `<${tag}>${escapeHtml(v === null || v === undefined ? "" : String(v))}</${tag}>`;
  return `<table><caption>${inlineHtml(t.caption)}</caption><thead><tr>${
    columns.map((c) => cell("th", c)).join("")
  }</tr></thead><tbody>${
    t.rows.map((r) => `<tr>${columns.map((c) => cell("td", r[c])).join("")}</tr>`).join("")
  }</tbody></table>`;
}

const STYLE = "body{font-family:DejaVu Sans,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}" +
  "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}" +
  "caption{font-weight:bold;text-align:left}img{max-width:100%}pre{background:#f4f4f4;padding:.5rem}";

/** The report as a standalone HTML page (figures referenced by their relative paths). */
export function reportHtml(report: Report): string {
  const body = report.sections.map((s) =>
    [
      `<h2>${escapeHtml(s.heading)}</h2>`,
      ...s.paragraphs.map((p) => `<p>${inlineHtml(p)}</p>`),
      ...(s.tables ?? []).map(htmlTable),
      ...(s.figures ?? []).map((f) =>
        `<figure><img src="${escapeHtml(f.file)}" alt="${escapeHtml(f.caption)}"><figcaption>${
          inlineHtml(f.caption)
        }</figcaption></figure>`
      ),
      s.commands?.length ? `<p>Reproduce with:</p><pre>${escapeHtml(s.commands.join("\n"))}</pre>` : "",
      s.sources?.length
        ? `<p>Sources:</p><ul>${s.sources.map((x) => `<li><code>${escapeHtml(x)}</code></li>`).join("")}</ul>`
        : "",
    ].join("\n")
  ).join("\n");
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>` +
    `<style>${STYLE}</style></head><body>\n<h1>${escapeHtml(report.title)}</h1>\n${body}\n</body></html>\n`;
}

/**
 * The report section of a grid: the per-cell table (mean ± 95% CI across seeds), the main-effect sentences (unless
 * `options.effects` is false), the command that reproduces it and the grid and run directories its numbers come from.
 */
export function gridSection(
  heading: string,
  results: GridResults,
  root: string = Deno.cwd(),
  options: { effects?: boolean } = {},
): ReportSection {
  const s = results.summary;
  const dir = shownPath(results.dir, root);
  return {
    heading,
    paragraphs: [
      `Grid \`${shownPath(results.grid, root)}\` in \`${dir}\`: ${s.final_runs} of ${s.runs} ` +
      `runs finished; test metrics, mean ± 95% t-interval across seeds ("± ?" with a single seed).`,
      budgetSentence(results.cells, results.rows),
      ...stillImprovingSentences(results),
      ...resumedSentences(results.rows),
      wallTimeSentence(results.rows),
      ...provenance(results.dir),
      ...(options.effects !== false && s.cells.length > 1 ? effectSentences(s) : []),
    ],
    tables: [{ caption: `Per cell (${dir})`, rows: cellTable(s, results.axes) }],
    commands: [ablateCommand(results.grid, results.dir, root)],
    sources: [dir, ...runDirs(results, root)],
  };
}
