/// <reference lib="dom" />
/**
 * The paired-difference chart: per comparison of two models over common seeds (src/experiments/paired.ts), the mean
 * of the per-seed differences a − b as a dot, its 95% t-interval as a horizontal bar, a vertical rule at zero, and
 * the verdict written beside the interval.
 */
import * as Plot from "@observablehq/plot";
import { type Chart, chart, type ChartOptions } from "./chart.ts";

/** One comparison as the chart draws it (the computation is elsewhere, e.g. src/report/paired_section.ts). */
export interface PairedDifferenceRow {
  /** Its label, e.g. "UR4Rec (fixed, leak_free) − SASRec". */
  comparison: string;
  /** Mean of the per-seed differences a − b, in the metric's units. */
  mean: number;
  /** 95% interval of the mean difference. */
  lo: number;
  hi: number;
  /** Seeds paired. */
  seeds: number;
  /** "better", "worse" or "not distinguishable" (a against b). */
  verdict: string;
}

/** Options of `pairedDifferenceChart`. */
export interface PairedDifferenceOptions extends ChartOptions {
  /** The metric the differences are of, for the x axis. @default "test NDCG@10" */
  metric?: string;
}

/** "3 seeds", or "2–3 seeds" when the comparisons paired different numbers of seeds. */
function seedCount(rows: readonly PairedDifferenceRow[]): string {
  const counts = rows.map((r) => r.seeds);
  const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
  return lo === hi ? `${lo} seeds` : `${lo}–${hi} seeds`;
}

/**
 * One row per comparison (labelled on the y axis): the mean paired difference (dot), its 95% interval (bar), the
 * verdict as text right of the interval, and a rule at zero; x axis "paired difference in <metric> (mean over n
 * seeds, 95% CI)".
 */
export function pairedDifferenceChart(
  rows: readonly PairedDifferenceRow[],
  options: PairedDifferenceOptions = {},
): Chart {
  const { metric = "test NDCG@10", ...plot } = options;
  const span = Math.max(1e-9, ...rows.flatMap((r) => [Math.abs(r.lo), Math.abs(r.hi)]));
  return chart({
    height: 26 * rows.length + 60,
    marginLeft: 10 + 6.5 * Math.max(0, ...rows.map((r) => r.comparison.length)),
    marginRight: 130,
    x: {
      domain: [-span * 1.05, span * 1.05],
      grid: true,
      label: `paired difference in ${metric} (mean over ${rows.length === 0 ? 0 : seedCount(rows)}, 95% CI)`,
      labelAnchor: "center",
    },
    y: { domain: rows.map((r) => r.comparison), label: null },
    marks: [
      Plot.ruleX([0], { stroke: "#666" }),
      Plot.ruleY(rows, { y: "comparison", x1: "lo", x2: "hi", stroke: "#4c78a8", strokeWidth: 2 }),
      Plot.dot(rows, { y: "comparison", x: "mean", fill: "#4c78a8", r: 4 }),
      Plot.text(rows, {
        y: "comparison",
        x: "hi",
        text: "verdict",
        textAnchor: "start",
        dx: 8,
      }),
    ],
    ...plot,
  });
}
