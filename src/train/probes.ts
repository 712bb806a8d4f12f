/**
 * A statistics probe for NaN investigation: records min/max/mean/std and non-finite counts of every tapped
 * forward tensor and (optionally) of the gradients flowing back through them, and remembers where a
 * non-finite value appeared first, with the batch rows and sequence positions that hold it.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Probe } from "../models/probe.ts";
import type { FirstNonfinite, ProbeStat } from "../run/records.ts";
import { tensorStats } from "./tensor_stats.ts";

/** Where in a tensor of a given shape the batch row and sequence position of a flat index are. */
export interface BatchLayout {
  batchSize: number;
  seqLen: number;
  /** Pads per batch row (for locating padding). */
  padsPerRow: number[];
  /** True when pads are on the left. */
  leftPadded: boolean;
}

/** Maps a flat index of a tensor of `shape` to its batch row and sequence position (or -1 when unknown). */
export function rowAndPosition(shape: number[], flatIndex: number, layout: BatchLayout): [number, number] {
  const { batchSize: B, seqLen: T } = layout;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const idx = shape.map((_, i) => Math.floor(flatIndex / strides[i]) % shape[i]);
  if (shape[0] === B && shape.length >= 2 && shape[1] === T) return [idx[0], idx[1]];
  if (shape[0] === B && shape.length >= 3 && shape[2] === T) return [idx[0], idx[2]]; // [B, H, T, ...]
  if (shape[0] === B * T) return [Math.floor(idx[0] / T), idx[0] % T];
  if (shape[0] % B === 0 && shape.length >= 2 && shape[1] === T) return [Math.floor(idx[0] / (shape[0] / B)), idx[1]];
  if (shape[0] === B) return [idx[0], -1];
  return [-1, -1];
}

/** True when `position` is a padding position of a row with `pads` pads. */
export function isPadding(position: number, pads: number, layout: BatchLayout): boolean {
  return layout.leftPadded ? position < pads : position >= layout.seqLen - pads;
}

/** Number of keys a causal + key-padding mask lets query `pos` of a row with `pads` pads see. */
export function visibleKeys(pos: number, pads: number, layout: BatchLayout): number {
  if (layout.leftPadded) return pos < pads ? 0 : pos - pads + 1;
  return Math.min(pos + 1, layout.seqLen - pads);
}

type Where = { step: number; stage: string; phase: "forward" | "backward"; layer: string; op: string };

/** Builds the FirstNonfinite record from a tensor's finiteness mask (1 = finite). */
export function describeNonfinite(
  where: Where & { kind: "nan" | "inf" },
  shape: number[],
  finiteMask: ArrayLike<number | boolean>,
  layout: BatchLayout,
): FirstNonfinite {
  const rows = new Set<number>();
  const positions = new Set<number>();
  const cells = new Map<string, [number, number]>();
  let count = 0;
  let allPad = true;
  for (let i = 0; i < finiteMask.length; i++) {
    if (finiteMask[i]) continue;
    count++;
    const [row, pos] = rowAndPosition(shape, i, layout);
    if (row >= 0) rows.add(row);
    if (pos >= 0) positions.add(pos);
    if (row >= 0 && pos >= 0) cells.set(`${row},${pos}`, [row, pos]);
    if (row < 0 || pos < 0 || !isPadding(pos, layout.padsPerRow[row], layout)) allPad = false;
  }
  const sortedRows = [...rows].sort((a, b) => a - b);
  const allCells = [...cells.values()];
  return {
    ...where,
    count,
    shape,
    rows: sortedRows,
    positions: [...positions].sort((a, b) => a - b),
    row_padding: sortedRows.map((r) => layout.padsPerRow[r]),
    all_in_padding: allPad && count > 0,
    cells: allCells.slice(0, 256),
    cell_count: allCells.length,
    blind_cells: allCells.filter(([r, p]) => visibleKeys(p, layout.padsPerRow[r], layout) === 0).length,
  };
}

/** A Probe that records statistics, the first NaN-holding tensor and the first infinity-holding one. */
export class StatsProbe implements Probe {
  readonly stats: ProbeStat[] = [];
  private firstNan: FirstNonfinite | null = null;
  private firstInf: FirstNonfinite | null = null;
  private infinite: NonNullable<FirstNonfinite["preceded_by"]> = [];
  step = 0;
  stage = "";

  /** The first NaN if one appeared (with the infinities seen before it), else the first ±Infinity. */
  get first(): FirstNonfinite | null {
    return this.firstNan ?? this.firstInf;
  }

  constructor(readonly layout: BatchLayout, readonly watchBackward = true) {}

  forward(layer: string, op: string, t: tf.Tensor): void {
    this.record("forward", layer, op, t);
  }

  gradient(layer: string, op: string, dy: tf.Tensor): void {
    this.record("backward", layer, op, dy);
  }

  /** Records a tensor that is not a tapped intermediate (e.g. a parameter gradient). */
  record(phase: "forward" | "backward", layer: string, op: string, t: tf.Tensor): void {
    const s = tensorStats(t);
    this.stats.push({ step: this.step, phase, layer, op, ...s });
    if (s.nonfinite === 0 || this.firstNan !== null) return;
    const kind = s.nan > 0 ? "nan" : "inf";
    if (kind === "inf") {
      if (this.infinite.length < 32) this.infinite.push({ phase, layer, op, posinf: s.posinf, neginf: s.neginf });
      if (this.firstInf !== null) return;
    }
    const finite = kind === "nan" ? t.isNaN().logicalNot() : t.isFinite();
    const mask = finite.dataSync();
    finite.dispose();
    const where = { step: this.step, stage: this.stage, phase, layer, op, kind } as const;
    const found = describeNonfinite(where, t.shape, mask, this.layout);
    if (kind === "nan") this.firstNan = { ...found, preceded_by: [...this.infinite] };
    else this.firstInf = found;
  }
}
