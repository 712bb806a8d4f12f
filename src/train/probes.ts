/**
 * A statistics probe for NaN investigation: records min/max/mean/std and non-finite counts of every tapped
 * forward tensor and (optionally) of the gradients flowing back through them, and remembers where a
 * non-finite value appeared first, with the batch rows and sequence positions that hold it. Nothing is read back
 * synchronously: the probe keeps the tensors it is given and reads them once, with `await`, after the step.
 */
import * as tf from "@tensorflow/tfjs";
import type { Probe } from "../models/probe.ts";
import type { FirstNonfinite, ProbeStat } from "../run/records.ts";
import { readStats } from "./tensor_stats.ts";

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

/** The index of the first NaN-holding record, or else of the first infinity-holding one, and the infinities before it. */
export function firstNonfiniteRecord(
  stats: ProbeStat[],
): { index: number; kind: "nan" | "inf"; precededBy: NonNullable<FirstNonfinite["preceded_by"]> } | null {
  const infinite: NonNullable<FirstNonfinite["preceded_by"]> = [];
  let firstInf = -1;
  for (let i = 0; i < stats.length; i++) {
    const { phase, layer, op, nonfinite, nan, posinf, neginf } = stats[i];
    if (nonfinite === 0) continue;
    if (nan > 0) return { index: i, kind: "nan", precededBy: infinite };
    if (infinite.length < 32) infinite.push({ phase, layer, op, posinf, neginf });
    if (firstInf < 0) firstInf = i;
  }
  return firstInf < 0 ? null : { index: firstInf, kind: "inf", precededBy: [] };
}

/** What a probe saw: the statistics of every recorded tensor, in order, and the first non-finite value. */
export interface ProbeReading {
  stats: ProbeStat[];
  first: FirstNonfinite | null;
}

/**
 * A Probe that records statistics, the first NaN-holding tensor and the first infinity-holding one. While the step
 * runs it only keeps a clone of each tensor it is given (which shares the tensor's data: no copy, no read-back, so it
 * works inside the forward and backward passes on every backend); `read()` then reads everything back asynchronously.
 * Until then the recorded tensors stay in memory.
 */
export class StatsProbe implements Probe {
  private readonly recorded: { phase: "forward" | "backward"; layer: string; op: string; t: tf.Tensor }[] = [];
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
    this.recorded.push({ phase, layer, op, t: tf.keep(t.clone()) });
  }

  /**
   * Reads back the statistics of every recorded tensor at once, then (only when one held a non-finite value) the
   * finiteness mask of the first NaN-holding tensor, else of the first infinity-holding one; releases the tensors.
   */
  async read(): Promise<ProbeReading> {
    const recorded = this.recorded.splice(0);
    try {
      const values = await readStats(recorded.map((r) => r.t));
      const stats = recorded.map(({ phase, layer, op }, i) => ({ step: this.step, phase, layer, op, ...values[i] }));
      const found = firstNonfiniteRecord(stats);
      if (found === null) return { stats, first: null };
      const { phase, layer, op, t } = recorded[found.index];
      const finite = tf.tidy(() => found.kind === "nan" ? t.isNaN().logicalNot() : t.isFinite());
      const mask = await finite.data().finally(() => finite.dispose());
      const where = { step: this.step, stage: this.stage, phase, layer, op, kind: found.kind };
      const first = describeNonfinite(where, t.shape, mask, this.layout);
      return { stats, first: found.kind === "nan" ? { ...first, preceded_by: found.precededBy } : first };
    } finally {
      tf.dispose(recorded.map((r) => r.t));
    }
  }

  /** Releases the recorded tensors without reading them (after a failed step). */
  dispose(): void {
    tf.dispose(this.recorded.splice(0).map((r) => r.t));
  }
}
