/// <reference lib="dom" />
/**
 * Charts of run records, one pure function per chart: records in, a detached Plot element (`<svg>`, or a `<figure>`
 * when it has a legend) out. Show them in notebooks with `show()` and save them with `saveSvg`/`savePng` (display.ts).
 * As in Observable Plot, each chart is `chart(data, options)`: the data are records or summaries computed elsewhere
 * (grid statistics in src/report/rows.ts; no aggregation here), the options override the chart's Plot settings.
 */
import * as Plot from "@observablehq/plot";
import type { FirstNonfinite, MetricsRecord, NanReport, ProbeStat, StepRecord } from "../run/records.ts";
import { plotDocument } from "./dom.ts";

/** A rendered chart: Plot's `<svg>`, or a `<figure>` holding legends and the chart `<svg>`. */
export type Chart = SVGSVGElement | HTMLElement;

const FLAG_COLOR = "#d62728";

/**
 * Plot options a caller passes to any chart (title, width, height, margins, scales, ...): they override the chart's
 * own settings key by key (a scale given here replaces the chart's scale options whole). The marks stay the chart's.
 */
export type ChartOptions = Omit<Plot.PlotOptions, "marks" | "document">;

/** The kit's chart defaults (document, size, font), overridable per chart. */
function chart(options: Plot.PlotOptions): Chart {
  return Plot.plot({
    document: plotDocument,
    width: 720,
    marginLeft: 60,
    style: { fontFamily: "DejaVu Sans, sans-serif", fontSize: "11px" },
    ...options,
  });
}

/** One value of one named series at one training step. */
export interface StepPoint {
  stage: string;
  global_step: number;
  series: string;
  /** NaN where the record holds null (a non-finite value). */
  value: number;
}

/** Flattens a per-name field of the step records (loss terms, modules) into one point per name and step. */
export function stepPoints(records: readonly MetricsRecord[], field: "loss" | "grad_norm" | "lr"): StepPoint[] {
  return stepRecords(records).flatMap((s) =>
    Object.entries(s[field]).map(([series, value]) => ({
      stage: s.stage,
      global_step: s.global_step,
      series,
      value: value ?? NaN,
    }))
  );
}

/** Steps the NaN guard acted on or that saw non-finite loss/gradient values. */
export function flaggedSteps(records: readonly MetricsRecord[]): StepRecord[] {
  return stepRecords(records).filter((s) => s.action !== "ok" || s.nonfinite.loss + s.nonfinite.grads > 0);
}

function stepRecords(records: readonly MetricsRecord[]): StepRecord[] {
  return records.filter((r): r is StepRecord => r.type === "step");
}

/** Lines per series over global steps, one row per stage, with flagged steps drawn as red rules. */
function stepCurves(
  records: readonly MetricsRecord[],
  field: "loss" | "grad_norm" | "lr",
  y: Plot.ScaleOptions,
  options: ChartOptions,
): Chart {
  const points = stepPoints(records, field);
  const data = y.type === "log" ? points.map((p) => ({ ...p, value: p.value > 0 ? p.value : NaN })) : points;
  const stages = [...new Set(stepRecords(records).map((s) => s.stage))];
  return chart({
    marginRight: 10 + 6.5 * Math.max(0, ...stages.map((s) => s.length)),
    y: { grid: true, ...y },
    x: { label: "global step" },
    color: { legend: true },
    fy: { domain: stages, label: null },
    marks: [
      Plot.ruleX(flaggedSteps(records), {
        x: "global_step",
        fy: "stage",
        stroke: FLAG_COLOR,
        strokeOpacity: 0.6,
        title: (s: StepRecord) =>
          `step ${s.global_step}: ${s.action}, non-finite loss ${s.nonfinite.loss}, grads ${s.nonfinite.grads}`,
      }),
      Plot.lineY(data, { x: "global_step", y: "value", z: "series", stroke: "series", fy: "stage" }),
    ],
    ...options,
  });
}

/** Loss per term (and "total") over steps, per stage; skipped/patched/non-finite steps are red rules. */
export function lossCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(records, "loss", { label: "loss" }, options);
}

/** Pre-clip gradient L2 norm per module over steps (log scale), per stage; flagged steps are red rules. */
export function gradNormCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(records, "grad_norm", { label: "gradient norm", type: "log" }, options);
}

/** Learning rate per module over steps, per stage; flagged steps are red rules. */
export function learningRateCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(records, "lr", { label: "learning rate" }, options);
}

/** Summary statistics a probe heatmap can colour by. */
export type ProbeStatName = "absmax" | "mean" | "std";

/** The statistic of one probe record, or null when it is not finite. */
export function probeValue(p: ProbeStat, stat: ProbeStatName): number | null {
  if (stat !== "absmax") return p[stat];
  return p.min === null || p.max === null ? null : Math.max(Math.abs(p.min), Math.abs(p.max));
}

/** Row label of a probed tensor in the heatmap. */
function probeKey(p: { phase: string; layer: string; op: string }): string {
  return `${p.phase} ${p.layer}/${p.op}`;
}

/** Options of `activationHeatmap`. */
export interface HeatmapOptions extends ChartOptions {
  /** Where non-finite values first appeared: that cell is outlined and named in the title. @default null */
  first?: FirstNonfinite | null;
  /** The statistic the cells are coloured by. @default "absmax" */
  stat?: ProbeStatName;
}

/**
 * Per-layer activation (and gradient) statistics over steps: one cell per probe and step coloured by `stat`
 * (symlog scale), red where the tensor held non-finite values, and an outlined cell (named in the title) where
 * non-finite values first appeared.
 */
export function activationHeatmap(probes: readonly ProbeStat[], options: HeatmapOptions = {}): Chart {
  const { first = null, stat = "absmax", ...plot } = options;
  const rows = [...new Set(probes.map(probeKey))];
  const cells = probes.map((p) => ({ key: probeKey(p), step: p.step, value: probeValue(p, stat), bad: p.nonfinite }));
  const origin = first === null ? [] : [{ key: probeKey(first), step: first.step }];
  return chart({
    title: first ? `First non-finite: step ${first.step}, ${probeKey(first)} (outlined)` : undefined,
    height: 16 * rows.length + 70,
    marginLeft: 10 + 6.5 * Math.max(...rows.map((r) => r.length)),
    x: { type: "band", label: "step" },
    y: { domain: rows, label: null },
    color: { type: "symlog", scheme: "viridis", legend: true, label: stat },
    marks: [
      Plot.cell(cells, { x: "step", y: "key", fill: "value" }),
      Plot.cell(cells.filter((c) => c.bad > 0), {
        x: "step",
        y: "key",
        fill: FLAG_COLOR,
        title: (c: { bad: number }) => `${c.bad} non-finite`,
      }),
      Plot.cell(origin, { x: "step", y: "key", stroke: "black", strokeWidth: 2, fill: "none" }),
    ],
    ...plot,
  });
}

/** Padding side of a batch, as written in `NanReport.input_padding`. */
export type PadSide = NanReport["input_padding"]["side"];

/**
 * The attention mask of one row: `allowed[q][k]` is true when query `q` may attend to key `k`, i.e. the causal
 * mask (k <= q) and the key-padding mask (key `k` is not a padding position) both allow it.
 */
export function attentionMask(seqLen: number, pads: number, side: PadSide): boolean[][] {
  const isPad = (k: number) => side === "left" ? k < pads : k >= seqLen - pads;
  return Array.from({ length: seqLen }, (_, q) => Array.from({ length: seqLen }, (_, k) => k <= q && !isPad(k)));
}

/** One batch row's padding: sequence length T, padding positions and their side. */
export interface PaddedRow {
  seqLen: number;
  pads: number;
  side: PadSide;
}

/**
 * The [T, T] attention mask of a row with `pads` padding positions: allowed and masked query/key pairs, and in red
 * the query rows where every key is masked (softmax over an all -inf row is 0/0 = NaN).
 */
export function attentionMaskChart(row: PaddedRow, options: ChartOptions = {}): Chart {
  const { seqLen, pads, side } = row;
  const cells = attentionMask(seqLen, pads, side).flatMap((row, query) =>
    row.map((allowed, key) => ({
      query,
      key,
      state: allowed ? "allowed" : row.some(Boolean) ? "masked" : "masked (whole row)",
    }))
  );
  const size = Math.max(6, Math.min(14, Math.floor(520 / seqLen)));
  return chart({
    width: size * seqLen + 80,
    height: size * seqLen + 70,
    marginLeft: 50,
    title: `Attention mask, ${pads} of ${seqLen} positions padded (${side})`,
    x: { type: "band", label: "key", axis: "top", ticks: [] },
    y: { type: "band", label: "query", ticks: [] },
    color: {
      domain: ["allowed", "masked", "masked (whole row)"],
      range: ["#4c78a8", "#e6e6e6", FLAG_COLOR],
      legend: true,
    },
    marks: [Plot.cell(cells, { x: "key", y: "query", fill: "state", inset: 0.5 })],
    ...options,
  });
}

/** Options of `paddingChart`. */
export interface PaddingChartOptions extends ChartOptions {
  /** Batch rows drawn in red, e.g. the rows that held non-finite values (`first.rows`). @default [] */
  highlightRows?: readonly number[];
}

/** Padding positions per batch row, with the `highlightRows` in red. */
export function paddingChart(padding: NanReport["input_padding"], options: PaddingChartOptions = {}): Chart {
  const { highlightRows = [], ...plot } = options;
  const flagged = new Set(highlightRows);
  const bars = padding.pads_per_row.map((pads, row) => ({ row, pads, flagged: flagged.has(row) }));
  return chart({
    height: 240,
    title: `Padding per row (${padding.side}, sequence length ${padding.seq_len})`,
    x: { type: "band", label: "batch row", ticks: [] },
    y: { domain: [0, padding.seq_len], grid: true, label: "padding positions" },
    marks: [
      Plot.barY(bars, {
        x: "row",
        y: "pads",
        fill: (b: { flagged: boolean }) => b.flagged ? FLAG_COLOR : "#4c78a8",
        title: (b: { row: number; pads: number }) => `row ${b.row}: ${b.pads} pads`,
      }),
    ],
    ...plot,
  });
}

/** One cell of an ablation grid: its axis values, NaN rate and NDCG@10 mean with confidence interval. */
export interface AblationRow {
  cell: string;
  nan_rate: number;
  ndcg10_mean: number | null;
  ndcg10_lo: number | null;
  ndcg10_hi: number | null;
  /** Axis values, e.g. `padding: "left"`, `safe_softmax: true`. */
  [axis: string]: string | number | boolean | null;
}

/** Fraction of diverged (NaN) runs per ablation cell, as horizontal bars. */
export function ablationNanRate(rows: readonly AblationRow[], options: ChartOptions = {}): Chart {
  return chart({
    height: 22 * rows.length + 50,
    marginLeft: 200,
    x: { domain: [0, 1], grid: true, percent: true, label: "runs with NaN (%)" },
    y: { domain: rows.map((r) => r.cell), label: null },
    marks: [Plot.barX(rows, { x: "nan_rate", y: "cell", fill: FLAG_COLOR }), Plot.ruleX([0])],
    ...options,
  });
}

/** NDCG@10 per ablation cell: the mean as a dot and its confidence interval as a horizontal bar. */
export function ablationNdcg(rows: readonly AblationRow[], options: ChartOptions = {}): Chart {
  return chart({
    height: 22 * rows.length + 50,
    marginLeft: 200,
    x: { grid: true, label: "NDCG@10" },
    y: { domain: rows.map((r) => r.cell), label: null },
    marks: [
      Plot.ruleY(rows, { y: "cell", x1: "ndcg10_lo", x2: "ndcg10_hi", stroke: "#4c78a8", strokeWidth: 2 }),
      Plot.dot(rows, { x: "ndcg10_mean", y: "cell", fill: "#4c78a8", r: 4 }),
    ],
    ...options,
  });
}

/** One point of a main-effect plot: the mean of a metric over the cells at one level of one axis. */
export interface MainEffectPoint {
  axis: string;
  /** The level as shown on the x axis. */
  level: string;
  mean: number;
}

/** Options of `mainEffects`: the metric's name for the y axis, and Plot options overriding the chart's own. */
export interface MainEffectsOptions extends ChartOptions {
  /** The metric the means are of, shown as "mean <metric>". @default "NDCG@10" */
  metric?: string;
}

/**
 * Main-effect plot of precomputed means (e.g. `mainEffectPoints` in src/report/rows.ts): the mean per level, the
 * levels of one axis joined by a line, one colour per axis.
 */
export function mainEffects(effects: readonly MainEffectPoint[], options: MainEffectsOptions = {}): Chart {
  const { metric = "NDCG@10", ...plot } = options;
  const points = effects.map((e) => ({ ...e, x: `${e.axis}=${e.level}` }));
  return chart({
    marginBottom: 80,
    x: { domain: points.map((e) => e.x), label: null, tickRotate: -30 },
    y: { grid: true, label: `mean ${metric}` },
    color: { legend: true },
    marks: [
      Plot.line(points, { x: "x", y: "mean", z: "axis", stroke: "axis" }),
      Plot.dot(points, { x: "x", y: "mean", fill: "axis", r: 4 }),
    ],
    ...plot,
  });
}

/** One model's value of one metric, with an optional confidence interval. */
export interface ModelMetricRow {
  model: string;
  metric: string;
  mean: number;
  lo?: number | null;
  hi?: number | null;
}

/** Grouped bars: each metric a group, each model (e.g. UR4Rec, SASRec, Popularity, BPR-MF) a bar with its CI. */
export function modelComparison(rows: readonly ModelMetricRow[], options: ChartOptions = {}): Chart {
  const models = [...new Set(rows.map((r) => r.model))];
  return chart({
    x: { domain: models, axis: null },
    fx: { label: null },
    y: { grid: true, label: "value" },
    color: { domain: models, legend: true },
    marks: [
      Plot.barY(rows, { fx: "metric", x: "model", y: "mean", fill: "model" }),
      Plot.ruleX(rows, { fx: "metric", x: "model", y1: "lo", y2: "hi", stroke: "black" }),
      Plot.ruleY([0]),
    ],
    ...options,
  });
}
