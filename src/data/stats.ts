/** Summary statistics of preprocessed interactions (`deno task data stats`, notebooks). */
import { median } from "../util/stats.ts";
import type { Interactions } from "./types.ts";

/** Counts and sequence-length statistics. */
export interface InteractionStats {
  users: number;
  /** Distinct items that occur in some sequence. */
  items: number;
  /** Largest item id (id tables have numItems + 1 rows). */
  numItems: number;
  interactions: number;
  seqLen: { min: number; median: number; mean: number; max: number };
}

/** Statistics of `interactions` (sequence lengths all zero when there are no users). */
export function interactionStats(interactions: Interactions): InteractionStats {
  const lengths = interactions.sequences.map((s) => s.length).sort((a, b) => a - b);
  const total = lengths.reduce((a, b) => a + b, 0);
  const n = lengths.length;
  return {
    users: n,
    items: new Set(interactions.sequences.flat()).size,
    numItems: interactions.numItems,
    interactions: total,
    seqLen: n === 0
      ? { min: 0, median: 0, mean: 0, max: 0 }
      : { min: lengths[0], median: median(lengths), mean: total / n, max: lengths[n - 1] },
  };
}
