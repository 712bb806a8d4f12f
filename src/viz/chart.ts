/// <reference lib="dom" />
/**
 * What every chart of the kit shares: the rendered `Chart` type, the `ChartOptions` a caller passes to any chart, the
 * kit's Plot defaults and the red of flagged values. The charts themselves are grouped by what they show:
 * plots.ts (training records), nan_charts.ts (the NaN study), grid_charts.ts (grids and model comparisons).
 */
import * as Plot from "@observablehq/plot";
import { plotDocument } from "./dom.ts";

/** A rendered chart: Plot's `<svg>`, or a `<figure>` holding legends and the chart `<svg>`. */
export type Chart = SVGSVGElement | HTMLElement;

/** The colour of flagged values (skipped or non-finite steps, non-finite probes, fully masked rows). */
export const FLAG_COLOR = "#d62728";

/**
 * Plot options a caller passes to any chart (title, width, height, margins, scales, ...): they override the chart's
 * own settings key by key (a scale given here replaces the chart's scale options whole). The marks stay the chart's.
 */
export type ChartOptions = Omit<Plot.PlotOptions, "marks" | "document">;

/** The kit's chart defaults (document, size, font), overridable per chart. */
export function chart(options: Plot.PlotOptions): Chart {
  return Plot.plot({
    document: plotDocument,
    width: 720,
    marginLeft: 60,
    style: { fontFamily: "DejaVu Sans, sans-serif", fontSize: "11px" },
    ...options,
  });
}
