/// <reference lib="dom" />
/**
 * Charts of grids and model comparisons: NaN rate and NDCG@10 (mean with its interval) per ablation cell, main effects
 * per axis level, and test metrics per model. Their rows are computed by the grid summary (src/experiments/summary.ts,
 * src/report/rows.ts); the charts only draw them.
 */
import * as Plot from "@observablehq/plot";
import { type Chart, chart, type ChartOptions, FLAG_COLOR } from "./chart.ts";

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
