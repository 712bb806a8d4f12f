/**
 * Preprocessing: `RawData` + preset -> per-user chronological `Interactions`, with a report of everything removed.
 * - `original` (docs/original.md#data): ML-100K drops the 23 movies absent from the original's movie file and their
 *   ratings; ratings >= 4 are the interactions; each user's are sorted by timestamp, ties keeping file order;
 *   users with fewer than 5 are dropped. On the real ML-100K: 938 users, 55,014 interactions, numItems 1682.
 * - `sasrec` (SASRec.pytorch): every rating is an interaction; sorted by timestamp, ties by item id;
 *   users with fewer than 5 are dropped; every item of the item file is kept.
 * `tie_order` replaces either preset's tie rule (ties.ts).
 * Before either: repeated (user, item) pairs are an error or dropped by `duplicate_ratings` (duplicates.ts), and
 * ratings of items absent from the item file are dropped (counted, and warned about by warnings.ts).
 */
import type { Config } from "../config/schema.ts";
import { Rng } from "../rng.ts";
import { dropDuplicateRatings, type DuplicatePolicy } from "./duplicates.ts";
import { chronological, resolveTieOrder, TIE_STREAM } from "./ties.ts";
import type { FilterReport, Interactions, ItemInfo, Rating, RawData } from "./types.ts";

/** A preprocessing preset. */
export type Preset = Config["preset"];

/** ML-100K movie ids absent from the original project's movie file (docs/original.md#data). */
export const ML100K_MISSING_ITEMS: readonly number[] = [
  246,
  266,
  267,
  297,
  304,
  305,
  309,
  329,
  573,
  711,
  876,
  878,
  1128,
  1175,
  1201,
  1234,
  1256,
  1395,
  1412,
  1429,
  1477,
  1635,
  1645,
];
/** Smallest rating that counts as a positive in the `original` preset. */
export const POSITIVE_RATING = 4;
/** Users with fewer interactions than this are dropped (both presets). */
export const MIN_INTERACTIONS = 5;

/** The items left after the preset's item drops, and how many it dropped. */
function keptItems(raw: RawData, preset: Preset): { items: Map<number, ItemInfo>; dropped: number } {
  if (preset !== "original" || raw.name !== "ml-100k") return { items: raw.items, dropped: 0 };
  const items = new Map(raw.items);
  const dropped = ML100K_MISSING_ITEMS.filter((id) => items.delete(id)).length;
  return { items, dropped };
}

/** Groups ratings by user (users in ascending id order), each user's list in file order. */
function groupByUser(ratings: Rating[]): Map<number, Rating[]> {
  const byUser = new Map<number, Rating[]>();
  for (const r of ratings) {
    const list = byUser.get(r.user);
    if (list) list.push(r);
    else byUser.set(r.user, [r]);
  }
  return new Map([...byUser].sort(([a], [b]) => a - b));
}

/** What `preprocess` takes besides the preset. */
export interface PreprocessOptions {
  /** Repeated (user, item) pairs (`duplicate_ratings`). @default "error" */
  duplicates?: DuplicatePolicy;
  /** Order of equal timestamps (`tie_order`); null = the preset's. @default null */
  tieOrder?: Config["tie_order"];
  /** The run's `seed`, which seeds `tieOrder: shuffle`. @default 0 */
  seed?: number;
}

/**
 * Applies `preset` to `raw`, after handling repeated (user, item) pairs by `options.duplicates`, ordering equal
 * timestamps by `options.tieOrder`. Pure: `raw` is not modified. Throws a `UserError` on a repeated pair under the
 * `error` policy.
 */
export function preprocess(raw: RawData, preset: Preset, options: PreprocessOptions = {}): Interactions {
  const { duplicates = "error", tieOrder = null, seed = 0 } = options;
  const report: FilterReport = { ratings_read: raw.ratings.length, items_read: raw.items.size };
  const { items, dropped } = keptItems(raw, preset);
  if (dropped > 0) report.items_dropped_missing = dropped;

  const unique = dropDuplicateRatings(raw, duplicates);
  report.ratings_dropped_duplicate = unique.dropped;
  let ratings = unique.ratings.filter((r) => raw.items.has(r.item));
  report.ratings_dropped_unknown_item = unique.ratings.length - ratings.length;
  if (dropped > 0) {
    const before = ratings.length;
    ratings = ratings.filter((r) => items.has(r.item));
    report.ratings_dropped_missing_items = before - ratings.length;
  }
  if (preset === "original") {
    const before = ratings.length;
    ratings = ratings.filter((r) => r.rating >= POSITIVE_RATING);
    report[`ratings_dropped_below_${POSITIVE_RATING}`] = before - ratings.length;
  }
  report.interactions = ratings.length;

  const usersRead = new Set(raw.ratings.map((r) => r.user)).size;
  const byUser = groupByUser(ratings);
  report.users_read = usersRead;
  report.users_dropped_no_interactions = usersRead - byUser.size;

  const order = resolveTieOrder(preset, tieOrder);
  const tieRng = new Rng(seed).fork(TIE_STREAM);
  const userIds: number[] = [];
  const sequences: number[][] = [];
  const timestamps: number[][] = [];
  let shortUsers = 0;
  let shortInteractions = 0;
  for (const [user, list] of byUser) {
    if (list.length < MIN_INTERACTIONS) {
      shortUsers++;
      shortInteractions += list.length;
      continue;
    }
    const sorted = chronological(list, order, tieRng.fork(String(user)));
    userIds.push(user);
    sequences.push(sorted.map((r) => r.item));
    timestamps.push(sorted.map((r) => r.timestamp));
  }
  report[`users_dropped_fewer_than_${MIN_INTERACTIONS}`] = shortUsers;
  report[`interactions_dropped_fewer_than_${MIN_INTERACTIONS}`] = shortInteractions;
  report.users = userIds.length;
  report.interactions_kept = ratings.length - shortInteractions;
  report.items_kept = items.size;
  report.items_active = new Set(sequences.flat()).size;

  const numItems = Math.max(0, ...items.keys());
  return { userIds, sequences, timestamps, numItems, items, report };
}
