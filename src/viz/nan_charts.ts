/// <reference lib="dom" />
/**
 * Charts of the NaN study: per-layer activation and gradient magnitudes from the probes (with the first non-finite
 * tensor outlined), the causal + key-padding attention mask of one batch row, and the padding of every row of a batch.
 */
import * as Plot from "@observablehq/plot";
import type { FirstNonfinite, NanReport, ProbeStat } from "../run/records.ts";
import { type Chart, chart, type ChartOptions, FLAG_COLOR } from "./chart.ts";

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
    x: { type: "band", label: "training step" },
    y: { domain: rows, label: null },
    color: { type: "symlog", scheme: "viridis", legend: true, label: `${stat} of the tensor (symlog scale)` },
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
    x: { type: "band", label: "key position", axis: "top", ticks: [] },
    y: { type: "band", label: "query position", ticks: [] },
    color: {
      domain: ["allowed", "masked", "masked (whole row)"],
      range: ["#4c78a8", "#e6e6e6", FLAG_COLOR],
      legend: true,
      label: "attention",
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
    y: { domain: [0, padding.seq_len], grid: true, label: "padding positions (of the row's sequence)" },
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
