/**
 * Train/validation/test splits of one chronological sequence:
 * - `loo` (leave-one-out): test target = last item, val target = second-to-last, train = everything before;
 * - `original` (docs/original.md#data): the 80/10/10 prefix split with one target per split.
 */
import type { Config } from "../config/schema.ts";
import type { UserSplit } from "./types.ts";

/** A split kind. */
export type SplitKind = Config["split"];

/** Shortest sequence either split accepts (preprocessing keeps users with >= 5 interactions). */
export const MIN_SPLIT_LENGTH = 3;

function checkLength(seq: number[]): number {
  const n = seq.length;
  if (n < MIN_SPLIT_LENGTH) throw new Error(`cannot split a sequence of ${n} items (need ${MIN_SPLIT_LENGTH})`);
  return n;
}

/** Leave-one-out: train = seq[0..n-2), val = seq[n-2] after seq[0..n-2), test = seq[n-1] after seq[0..n-1). */
export function leaveOneOutSplit(seq: number[]): UserSplit {
  const n = checkLength(seq);
  return {
    train: seq.slice(0, n - 2),
    valInput: seq.slice(0, n - 2),
    valTarget: seq[n - 2],
    testInput: seq.slice(0, n - 1),
    testTarget: seq[n - 1],
  };
}

/**
 * The split points of the original 80/10/10 prefix split for a sequence of length n:
 * a = max(1, floor(0.8n)), v = floor(0.9n); v <= a -> v = a + 1; v >= n -> v = n - 1.
 * Train = items[0:a] (target index a-1), val target index v-1, test target index n-1.
 */
export function originalSplitPoints(n: number): { a: number; v: number } {
  const a = Math.max(1, Math.floor(0.8 * n));
  let v = Math.floor(0.9 * n);
  if (v <= a) v = a + 1;
  if (v >= n) v = n - 1;
  return { a, v };
}

/** The original 80/10/10 prefix split (see `originalSplitPoints`). For n = 5 the val target is the train target. */
export function originalSplit(seq: number[]): UserSplit {
  const n = checkLength(seq);
  const { a, v } = originalSplitPoints(n);
  return {
    train: seq.slice(0, a),
    valInput: seq.slice(0, v - 1),
    valTarget: seq[v - 1],
    testInput: seq.slice(0, n - 1),
    testTarget: seq[n - 1],
  };
}

/** Splits every sequence with the given kind. */
export function splitSequences(sequences: number[][], kind: SplitKind): UserSplit[] {
  return sequences.map(kind === "loo" ? leaveOneOutSplit : originalSplit);
}
