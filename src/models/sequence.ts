import type { SequenceBatch } from "../data/types.ts";

/**
 * Index arithmetic on padded id sequences (flat row-major [B, T] Int32Arrays, 0 = pad): which position a model
 * reads as the user state, where each row's last training target sits, and id range checks.
 */

/**
 * How the user state is read: `last` = the last real item; `stale` = index (count of real items - 1)
 * (docs/findings.md#f2).
 */
export type StatePosition = "last" | "stale";

/** Number of real (non-pad) items per row, [B]. */
export function realCounts({ inputs, batchSize, seqLen }: SequenceBatch): Int32Array {
  const counts = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < seqLen; t++) if (inputs[b * seqLen + t] !== 0) counts[b]++;
  }
  return counts;
}

/**
 * The position read as each row's user state, [B].
 * `last`: the last non-pad position (T-1 with left padding, len-1 with right padding; T-1 for an empty row).
 * `stale`: the original's (len - 1), which is a prefix or pad position under left padding; like PyTorch's
 * x[b, -1], an empty row reads T-1.
 */
export function statePositions(seq: SequenceBatch, mode: StatePosition): Int32Array {
  const { inputs, batchSize, seqLen } = seq;
  const positions = new Int32Array(batchSize);
  if (mode === "stale") {
    const counts = realCounts(seq);
    for (let b = 0; b < batchSize; b++) positions[b] = (counts[b] - 1 + seqLen) % seqLen;
    return positions;
  }
  for (let b = 0; b < batchSize; b++) positions[b] = lastNonZero(inputs, b * seqLen, seqLen) ?? seqLen - 1;
  return positions;
}

/** The position of each row's last target (positives != 0), [B]; T-1 for a row without targets. */
export function lastTargetPositions(positives: Int32Array, batchSize: number, seqLen: number): Int32Array {
  const positions = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) positions[b] = lastNonZero(positives, b * seqLen, seqLen) ?? seqLen - 1;
  return positions;
}

function lastNonZero(values: Int32Array, offset: number, length: number): number | undefined {
  for (let t = length - 1; t >= 0; t--) if (values[offset + t] !== 0) return t;
  return undefined;
}

/**
 * The candidates [B, 1 + K] at one position per row: the positive first, then that position's K negatives.
 * `positives` is [B, T], `negatives` [B, T, K].
 */
export function candidatesAt(
  positives: Int32Array,
  negatives: Int32Array,
  positions: Int32Array,
  seqLen: number,
  numNegatives: number,
): Int32Array {
  const batchSize = positions.length;
  const width = 1 + numNegatives;
  const out = new Int32Array(batchSize * width);
  for (let b = 0; b < batchSize; b++) {
    const cell = b * seqLen + positions[b];
    out[b * width] = positives[cell];
    out.set(negatives.subarray(cell * numNegatives, (cell + 1) * numNegatives), b * width + 1);
  }
  return out;
}

/** Flat row indices b * T + positions[b] into a [B * T, ...] tensor. */
export function flatIndices(positions: Int32Array, seqLen: number): Int32Array {
  return positions.map((t, b) => b * seqLen + t);
}

/** Throws when an id is outside [0, maxId] (a gather would otherwise read out of bounds). */
export function checkIds(ids: Int32Array, maxId: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] > maxId) throw new Error(`${what}: id ${ids[i]} at index ${i} is outside [0, ${maxId}]`);
  }
}
