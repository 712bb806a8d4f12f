/**
 * A statistics probe for NaN investigation: records min/max/mean/std and non-finite counts of every tapped
 * forward tensor and (optionally) of the gradients flowing back through them, and remembers where a
 * non-finite value appeared first, with the batch rows and sequence positions that hold it.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Probe } from "../models/probe.ts";
import type { FirstNonfinite, ProbeStat } from "./records.ts";
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

/** Builds the FirstNonfinite record from a tensor's finiteness mask. */
export function describeNonfinite(
  where: { step: number; stage: string; phase: "forward" | "backward"; layer: string; op: string },
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
    if (row >= 0 && pos >= 0 && cells.size < 256) cells.set(`${row},${pos}`, [row, pos]);
    if (row < 0 || pos < 0 || !isPadding(pos, layout.padsPerRow[row], layout)) allPad = false;
  }
  const sortedRows = [...rows].sort((a, b) => a - b);
  return {
    ...where,
    count,
    shape,
    rows: sortedRows,
    positions: [...positions].sort((a, b) => a - b),
    row_padding: sortedRows.map((r) => layout.padsPerRow[r]),
    all_in_padding: allPad && count > 0,
    cells: [...cells.values()],
  };
}

/** A Probe that records statistics and the first non-finite tensor. */
export class StatsProbe implements Probe {
  readonly stats: ProbeStat[] = [];
  first: FirstNonfinite | null = null;
  step = 0;
  stage = "";

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
    if (s.nonfinite > 0 && this.first === null) {
      const finite = t.isFinite();
      const mask = finite.dataSync();
      finite.dispose();
      this.first = describeNonfinite(
        { step: this.step, stage: this.stage, phase, layer, op },
        t.shape,
        mask,
        this.layout,
      );
    }
  }
}
