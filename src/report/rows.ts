/**
 * Tables and chart rows computed from a grid summary (the transforms; the charts in viz/grid_charts.ts only draw):
 * the per-cell table, ablation rows, main-effect points and model-comparison rows, with the labels they share (models,
 * cells, and the data and protocol a chart's subtitle names).
 */
import type { Row } from "../viz/tables.ts";
import type { AblationRow, MainEffectPoint, ModelMetricRow } from "../viz/grid_charts.ts";
import type { Config } from "../config/schema.ts";
import { formatValue } from "../experiments/grid.ts";
import type { GridResults } from "./read.ts";
import { type GridSummary, type MeanCi, SUMMARY_METRICS, type SummaryMetric } from "../experiments/summary.ts";

/** "mean ± half-width" with 4 decimals; "-" without a mean, "± ?" without an interval (fewer than two seeds). */
export function formatMeanCi(m: MeanCi): string {
  if (m.mean === null) return "-";
  return `${m.mean.toFixed(4)} ± ${m.ci95 === null ? "?" : m.ci95.toFixed(4)}`;
}

/** A cell's label: its axis values as `key=value` pairs. */
export function cellLabel(values: Record<string, unknown>, axes: Record<string, unknown[]>): string {
  return Object.keys(axes).map((k) => `${k}=${formatValue(values[k])}`).join(", ");
}

const MODEL_NAMES: Record<string, string> = { pop: "Popularity", bprmf: "BPR-MF", sasrec: "SASRec", ur4rec: "UR4Rec" };

/**
 * A readable model name from a cell's values: "Popularity", "SASRec", "UR4Rec (fixed, leak_free)", and a SASRec that
 * uses the texts named by its `text_use` ("SASRec + embedding_init"), ...
 */
export function modelLabel(values: Record<string, unknown>): string {
  const name = MODEL_NAMES[String(values.model)] ?? String(values.model);
  if (values.model !== "ur4rec") {
    const textUse = values.text_use;
    return typeof textUse === "string" && textUse !== "none" ? `${name} + ${textUse}` : name;
  }
  const details = ["retriever_mode", "user_text"].filter((k) => k in values).map((k) => formatValue(values[k]));
  return details.length > 0 ? `${name} (${details.join(", ")})` : name;
}

const DATASET_NAMES: Record<Config["dataset"], string> = {
  "ml-100k": "ML-100K",
  "ml-1m": "ML-1M",
  synthetic: "synthetic data",
};
const SPLIT_NAMES: Record<Config["split"], string> = { loo: "leave-one-out", original: "80/10/10 split" };
const EVAL_NAMES: Record<Config["eval_protocol"], string> = {
  full: "full ranking",
  sampled100: "target + 99 sampled items",
};

/**
 * The data and protocol of a run for a chart's subtitle, e.g. "ML-100K (sasrec preset), leave-one-out, full ranking",
 * with ", N seeds" when `seeds` is given.
 */
export function protocolLabel(
  config: Pick<Config, "dataset" | "preset" | "split" | "eval_protocol">,
  seeds?: number,
): string {
  return `${DATASET_NAMES[config.dataset]} (${config.preset} preset), ${SPLIT_NAMES[config.split]}, ` +
    `${EVAL_NAMES[config.eval_protocol]}${seeds === undefined ? "" : `, ${seeds} seed${seeds === 1 ? "" : "s"}`}`;
}

/** `protocolLabel` of a grid's first cell with the number of seeds its rows hold; "" for a grid without cells. */
export function gridSubtitle(results: Pick<GridResults, "cells" | "rows">): string {
  const config = results.cells[0]?.config;
  return config === undefined ? "" : protocolLabel(config, new Set(results.rows.map((r) => r.values.seed)).size);
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

/** The cells as chart rows for `ablationNanRate` / `ablationNdcg` (src/viz/grid_charts.ts). */
export function ablationRows(summary: GridSummary, axes: Record<string, unknown[]>): AblationRow[] {
  return summary.cells.map((c) => ({
    cell: cellLabel(c.values, axes),
    values: Object.fromEntries(Object.keys(axes).map((k) => [k, formatValue(c.values[k])])),
    nan_rate: c.nan_rate,
    ndcg10: c.ndcg10,
  }));
}

/** Chart rows for `modelComparison`: per cell with a test metric, its mean and 95% interval for each summary metric. */
export function comparisonRows(summary: GridSummary): ModelMetricRow[] {
  return summary.cells.flatMap((c) =>
    (Object.keys(SUMMARY_METRICS) as SummaryMetric[]).flatMap((m) =>
      c[m].mean === null ? [] : [{ model: modelLabel(c.values), metric: `test ${SUMMARY_METRICS[m]}`, score: c[m] }]
    )
  );
}

/**
 * Points for `mainEffects`: each axis level's mean `metric` over its cells, from the grid summary's main effects
 * (experiments/summary.ts), levels in grid order; levels without a value (no finished cell) are left out.
 */
export function mainEffectPoints(summary: GridSummary, metric: "nan_rate" | "ndcg10"): MainEffectPoint[] {
  return summary.effects.flatMap((e) => {
    const mean = e[metric];
    return mean === null ? [] : [{ axis: e.axis, level: formatValue(e.level), mean }];
  });
}
