/**
 * Ratings of one user that share a timestamp: the order preprocessing puts them in (`tie_order`), and which users'
 * validation and test targets that order decides. On ML-100K 51% of consecutive ratings of a user share a timestamp
 * (configs/README.md, "Equal timestamps"). The orders:
 * - `item_id`: ascending item id (SASRec.pytorch's order; the `sasrec` preset's rule);
 * - `file_order`: the line order of the ratings file (a stable sort by timestamp; the `original` preset's rule);
 * - `shuffle`: a random order within each group of equal timestamps, drawn from the run's `seed` (stream
 *   `tie-order`, forked per user id, applied to the item-id order), so the same seed gives the same sequences
 *   whatever the file order or the other users.
 */
import type { Config } from "../config/schema.ts";
import type { Rng } from "../rng.ts";
import { type SplitKind, splitPoints } from "./split.ts";
import type { FilterReport, Rating } from "./types.ts";

/** An order of equal-timestamp ratings. */
export type TieOrder = NonNullable<Config["tie_order"]>;

/** The seed stream `shuffle` draws from: `new Rng(seed).fork(TIE_STREAM).fork(String(userId))`. */
export const TIE_STREAM = "tie-order";

/** The order `tieOrder` names, or the preset's own when null (`original`: file order, `sasrec`: item id). */
export function resolveTieOrder(preset: Config["preset"], tieOrder: Config["tie_order"]): TieOrder {
  return tieOrder ?? (preset === "original" ? "file_order" : "item_id");
}

const byTime = (a: Rating, b: Rating) => a.timestamp - b.timestamp;
const byTimeThenItem = (a: Rating, b: Rating) => a.timestamp - b.timestamp || a.item - b.item;

/**
 * One user's ratings, given in file order, sorted by timestamp with ties in `order`; `rng` is that user's stream
 * (used by `shuffle` only). Returns a new array.
 */
export function chronological(ratings: readonly Rating[], order: TieOrder, rng: Rng): Rating[] {
  if (order === "file_order") return [...ratings].sort(byTime); // Array.prototype.sort is stable
  const sorted = [...ratings].sort(byTimeThenItem);
  if (order === "item_id") return sorted;
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i].timestamp === sorted[start].timestamp) continue;
    if (i - start > 1) sorted.splice(start, i - start, ...rng.shuffle(sorted.slice(start, i)));
    start = i;
  }
  return sorted;
}

/** Whether position `i` of the sorted `timestamps` shares its timestamp with another position. */
function tied(timestamps: number[], i: number): boolean {
  return timestamps[i - 1] === timestamps[i] || timestamps[i + 1] === timestamps[i];
}

/**
 * Counts of how much the tie order decides, from each user's sorted timestamps (parallel to the sequences) and the
 * split: `consecutive_pairs_tied` (adjacent ratings of a user with equal timestamps), and the users whose validation
 * target, test target, or either, shares its timestamp with another of the user's interactions
 * (`users_val_target_tied`, `users_test_target_tied`, `users_val_or_test_target_tied`): another tie order could put
 * another item there, and so change the target and the set of input items before it.
 */
export function tieCounts(timestamps: number[][], split: SplitKind): FilterReport {
  const counts = {
    consecutive_pairs_tied: 0,
    users_val_target_tied: 0,
    users_test_target_tied: 0,
    users_val_or_test_target_tied: 0,
  };
  for (const ts of timestamps) {
    for (let i = 1; i < ts.length; i++) if (ts[i] === ts[i - 1]) counts.consecutive_pairs_tied++;
    const val = tied(ts, splitPoints(ts.length, split).val);
    const test = tied(ts, ts.length - 1);
    if (val) counts.users_val_target_tied++;
    if (test) counts.users_test_target_tied++;
    if (val || test) counts.users_val_or_test_target_tied++;
  }
  return counts;
}
