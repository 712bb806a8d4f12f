/**
 * Repeated (user, item) pairs in a ratings file. MovieLens holds one rating per pair, so a repeat is a fault of
 * the file (a concatenated copy, a re-rating appended later); kept, it would put the same item in a user's
 * history twice and let an evaluation target be a copy of the last input item (on the built-in data written
 * twice, test HR@10 went from 0.19 to 0.97). `duplicate_ratings` decides:
 * - `error` (default): a `UserError` naming the file, both line numbers, the user and the item;
 * - `drop_keep_first`: the first line of each pair in file order is kept, later ones are dropped and counted
 *   (whatever their rating and timestamp), before any preset filter.
 */
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import type { Rating, RawData } from "./types.ts";

/** What to do with repeated (user, item) pairs. */
export type DuplicatePolicy = Config["duplicate_ratings"];

/** The ratings of `raw` with repeated (user, item) pairs handled by `policy`, and how many were dropped. */
export function dropDuplicateRatings(raw: RawData, policy: DuplicatePolicy): { ratings: Rating[]; dropped: number } {
  const first = new Map<string, Rating>();
  const ratings: Rating[] = [];
  for (const r of raw.ratings) {
    const key = `${r.user}:${r.item}`;
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, r);
      ratings.push(r);
    } else if (policy === "error") {
      const file = raw.ratingsPath ?? `${raw.name} ratings`;
      throw new UserError(
        `${file}:${r.line ?? "?"}: user ${r.user} rates item ${r.item} again (first at line ${earlier.line ?? "?"}); ` +
          `each (user, item) pair must appear once: remove the repeated lines or set ` +
          `duplicate_ratings: drop_keep_first to keep the first and drop the rest`,
      );
    }
  }
  return { ratings, dropped: raw.ratings.length - ratings.length };
}
