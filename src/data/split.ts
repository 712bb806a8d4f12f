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

/**
 * Where a split cuts a sequence: train = seq[0..train), validation target seq[val] after seq[0..val), test target
 * the last item after all the others.
 */
export interface SplitPoints {
  train: number;
  val: number;
}

/** The split points of `kind` for a sequence of length `n` (>= `MIN_SPLIT_LENGTH`). */
export function splitPoints(n: number, kind: SplitKind): SplitPoints {
  if (kind === "loo") return { train: n - 2, val: n - 2 };
  const { a, v } = originalSplitPoints(n);
  return { train: a, val: v - 1 };
}

/** Splits `seq` at `points`. */
function splitAt(seq: number[], points: SplitPoints): UserSplit {
  const n = seq.length;
  return {
    train: seq.slice(0, points.train),
    valInput: seq.slice(0, points.val),
    valTarget: seq[points.val],
    testInput: seq.slice(0, n - 1),
    testTarget: seq[n - 1],
  };
}

/** Leave-one-out: train = seq[0..n-2), val = seq[n-2] after seq[0..n-2), test = seq[n-1] after seq[0..n-1). */
export function leaveOneOutSplit(seq: number[]): UserSplit {
  return splitAt(seq, splitPoints(checkLength(seq), "loo"));
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
  return splitAt(seq, splitPoints(checkLength(seq), "original"));
}

/** Splits every sequence with the given kind. */
export function splitSequences(sequences: number[][], kind: SplitKind): UserSplit[] {
  return sequences.map(kind === "loo" ? leaveOneOutSplit : originalSplit);
}
