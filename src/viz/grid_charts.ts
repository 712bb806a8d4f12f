/// <reference lib="dom" />
/**
 * Charts of grids and model comparisons: NaN rate and NDCG@10 (mean with its interval) per ablation cell, main effects
 * per axis level, and test metrics per model. Their rows are computed by the grid summary (src/experiments/summary.ts,
 * src/report/rows.ts); the charts only draw them.
 */
import * as Plot from "@observablehq/plot";
import { type Chart, chart, type ChartOptions, FLAG_COLOR } from "./chart.ts";
import { ciBounds, type MeanCi } from "../experiments/summary.ts";

/** One cell of an ablation grid: its label, axis values, NaN rate and NDCG@10 mean with its 95% interval. */
export interface AblationRow {
  cell: string;
  /** Axis values as shown, e.g. `padding: "left"`, `safe_softmax: "true"`. */
  values: Record<string, string>;
  nan_rate: number;
  ndcg10: MeanCi;
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

/**
 * NDCG@10 per ablation cell: the mean as a dot (none without a finished run) and its 95% interval as a horizontal
 * bar where the interval is known (none with one seed).
 */
export function ablationNdcg(rows: readonly AblationRow[], options: ChartOptions = {}): Chart {
  const intervals = withBounds(rows, (r) => r.ndcg10);
  return chart({
    height: 22 * rows.length + 50,
    marginLeft: 200,
    x: { grid: true, label: `test NDCG@10 (${seedsNote(rows.map((r) => r.ndcg10))})` },
    y: { domain: rows.map((r) => r.cell), label: null },
    marks: [
      Plot.ruleY(intervals, {
        y: (d) => d.row.cell,
        x1: (d) => d.lo,
        x2: (d) => d.hi,
        stroke: "#4c78a8",
        strokeWidth: 2,
      }),
      Plot.dot(rows, { x: (r: AblationRow) => r.ndcg10.mean, y: "cell", fill: "#4c78a8", r: 4 }),
    ],
    ...options,
  });
}

/** The rows whose interval (read by `score`) is known, each with its bounds, for the interval marks. */
function withBounds<R>(rows: readonly R[], score: (row: R) => MeanCi): { row: R; lo: number; hi: number }[] {
  return rows.flatMap((row) => {
    const b = ciBounds(score(row));
    return b === null ? [] : [{ row, lo: b[0], hi: b[1] }];
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
    y: { grid: true, label: `mean ${metric} (over the cells at each level)` },
    color: { legend: true, label: "axis" },
    marks: [
      Plot.line(points, { x: "x", y: "mean", z: "axis", stroke: "axis" }),
      Plot.dot(points, { x: "x", y: "mean", fill: "axis", r: 4 }),
    ],
    ...plot,
  });
}

/** One model's value of one metric: its mean across seeds with the 95% interval when known (`ci95: null` otherwise). */
export interface ModelMetricRow {
  model: string;
  metric: string;
  score: MeanCi;
}

/** "mean over N seeds" for the intervals drawn (N the largest number of runs with a value), or "mean" without one. */
function seedsNote(scores: readonly MeanCi[]): string {
  const counts = scores.map((s) => s.n);
  const [lo, hi] = [Math.min(...counts), Math.max(0, ...counts)];
  if (hi <= 1) return hi === 1 ? "one seed, no interval" : "mean";
  return `mean over ${lo === hi ? hi : `${lo}-${hi}`} seeds, 95% CI`;
}

/** Options of `modelComparison`. */
export interface ModelComparisonOptions extends ChartOptions {
  /** What the values are, for the x axis, e.g. "test metric". @default "test metric" */
  quantity?: string;
}

/**
 * One panel per metric (named above it), one horizontal bar per model (e.g. UR4Rec, SASRec, Popularity, BPR-MF) named
 * on the y axis, so no colour has to be decoded: the bar is the mean, the black rule its 95% interval where known
 * (none with one seed). The x axis says what was averaged ("test metric (mean over 3 seeds, 95% CI)").
 */
export function modelComparison(rows: readonly ModelMetricRow[], options: ModelComparisonOptions = {}): Chart {
  const { quantity = "test metric", ...plot } = options;
  const models = [...new Set(rows.map((r) => r.model))];
  const intervals = withBounds(rows, (r) => r.score);
  return chart({
    height: 22 * models.length + 80,
    marginLeft: 10 + 6.5 * Math.max(0, ...models.map((m) => m.length)),
    marginRight: 20,
    y: { domain: models, label: null },
    x: { grid: true, label: `${quantity} (${seedsNote(rows.map((r) => r.score))})`, labelAnchor: "center" },
    fx: { domain: [...new Set(rows.map((r) => r.metric))], label: null, axis: "top" },
    marks: [
      Plot.barX(rows, { fx: "metric", y: "model", x: (r: ModelMetricRow) => r.score.mean, fill: "#4c78a8" }),
      Plot.ruleY(intervals, {
        fx: (d) => d.row.metric,
        y: (d) => d.row.model,
        x1: (d) => d.lo,
        x2: (d) => d.hi,
        stroke: "black",
        strokeWidth: 1.5,
      }),
      Plot.ruleX([0]),
    ],
    ...plot,
  });
}
