/**
 * The final evaluation sliced where item texts should matter: by the target item's popularity and by the length of
 * the user's history (issue #13). Pure: per-user ranks in, per-bucket `{ users, metrics }` out (`metricsFromRanks`),
 * so each family of buckets partitions the evaluated users and its user-weighted average is the overall metric.
 *
 * - Popularity (`pop_head`, `pop_torso`, `pop_tail`): items sorted by training count (`Dataset.trainPopularity`,
 *   what the model trains on) descending, ties by smaller id; head = the first items until the running count reaches
 *   a third of all training interactions (the item that crosses the third included), torso = the next items until
 *   two thirds, tail = the rest, including items never seen in training. Equal interaction mass gives the buckets
 *   numbers of targets of the same order (targets follow popularity), while their item counts differ tenfold.
 * - History length: the number of items in the user's input at evaluation time (`valInput` / `testInput`, before
 *   truncation to `max_seq_len`), cut at `history_buckets` c1 < c2 < ... < cn: `hist_lt<c1>` (< c1),
 *   `hist_<ci>_<ci+1 - 1>` (ci <= length < ci+1), `hist_ge<cn>` (>= cn).
 */
import type { Dataset } from "../data/types.ts";
import type { PopularityCuts, RunSlices, SliceBucket, SplitSlices } from "../run/records.ts";
import type { UserRanks } from "./evaluate.ts";
import { metricsFromRanks } from "./metrics.ts";

/** Popularity bucket names, most popular first; index = the bucket number in `PopularityBuckets.bucketOf`. */
export const POPULARITY_BUCKETS = ["pop_head", "pop_torso", "pop_tail"] as const;

/** Each item id's popularity bucket and where the buckets were cut. */
export interface PopularityBuckets {
  /** Per item id (length of the counts given): index into `POPULARITY_BUCKETS`. */
  bucketOf: Uint8Array;
  cuts: PopularityCuts;
}

/** The popularity buckets of item ids from their training counts (`counts[id]`; id 0 is padding, count 0). */
export function popularityBuckets(counts: ArrayLike<number>): PopularityBuckets {
  const bucketOf = new Uint8Array(counts.length).fill(POPULARITY_BUCKETS.length - 1);
  const trained: number[] = [];
  let interactions = 0;
  for (let id = 0; id < counts.length; id++) {
    if (counts[id] > 0) trained.push(id);
    interactions += counts[id];
  }
  trained.sort((a, b) => counts[b] - counts[a] || a - b);
  const items = [0, 0];
  const minCount: (number | null)[] = [null, null];
  let before = 0; // training interactions of the items ahead of this one
  for (const id of trained) {
    // Integer comparisons: the item starts before the first third (head) or before two thirds (torso).
    const bucket = 3 * before < interactions ? 0 : 3 * before < 2 * interactions ? 1 : 2;
    if (bucket === 2) break;
    bucketOf[id] = bucket;
    items[bucket]++;
    minCount[bucket] = counts[id];
    before += counts[id];
  }
  return {
    bucketOf,
    cuts: {
      interactions,
      head_items: items[0],
      torso_items: items[1],
      head_min_count: minCount[0],
      torso_min_count: minCount[1],
    },
  };
}

/** History-length bucket names for increasing cut points: [30, 100] -> `hist_lt30`, `hist_30_99`, `hist_ge100`. */
export function historyBucketNames(cuts: readonly number[]): string[] {
  if (cuts.length === 0) throw new Error("historyBucketNames: no cut points");
  return [
    `hist_lt${cuts[0]}`,
    ...cuts.slice(1).map((cut, i) => `hist_${cuts[i]}_${cut - 1}`),
    `hist_ge${cuts[cuts.length - 1]}`,
  ];
}

/** The history bucket (index into `historyBucketNames(cuts)`) of a history of `length` items. */
export function historyBucket(length: number, cuts: readonly number[]): number {
  const above = cuts.findIndex((cut) => length < cut);
  return above === -1 ? cuts.length : above;
}

/** Per-user inputs of `sliceMetrics`, aligned by row. */
export interface SliceInputs {
  /** Target ranks (1 = best). */
  ranks: ArrayLike<number>;
  /** Target item ids. */
  targets: ArrayLike<number>;
  /** Items in each user's input history. */
  historyLengths: ArrayLike<number>;
}

/**
 * Users and metrics per bucket: the popularity buckets of the targets (`bucketOf` from `popularityBuckets`), then
 * the history-length buckets of `historyCuts`. A bucket no user falls in has `users` 0 and `metrics` null.
 */
export function sliceMetrics(
  inputs: SliceInputs,
  slicing: { bucketOf: Uint8Array; historyCuts: readonly number[] },
): SplitSlices {
  const { ranks, targets, historyLengths } = inputs;
  if (targets.length !== ranks.length || historyLengths.length !== ranks.length) {
    throw new Error(
      `sliceMetrics: ${ranks.length} ranks, ${targets.length} targets, ${historyLengths.length} history lengths`,
    );
  }
  const names = [...POPULARITY_BUCKETS, ...historyBucketNames(slicing.historyCuts)];
  const members: number[][] = names.map(() => []);
  for (let i = 0; i < ranks.length; i++) {
    const pop = slicing.bucketOf[targets[i]];
    if (pop === undefined) throw new Error(`sliceMetrics: target ${targets[i]} has no popularity bucket`);
    members[pop].push(ranks[i]);
    members[POPULARITY_BUCKETS.length + historyBucket(historyLengths[i], slicing.historyCuts)].push(ranks[i]);
  }
  const bucket = (r: number[]): SliceBucket => ({
    users: r.length,
    metrics: r.length > 0 ? metricsFromRanks(r) : null,
  });
  return Object.fromEntries(names.map((name, b) => [name, bucket(members[b])]));
}

/**
 * The slices of a run's final evaluation: popularity buckets from the dataset's training counts, history lengths from
 * each evaluated user's `valInput` / `testInput`, cut at `historyCuts` (the `history_buckets` key).
 */
export function runSlices(
  dataset: Pick<Dataset, "trainPopularity" | "splits">,
  historyCuts: readonly number[],
  evaluations: { val: UserRanks; test: UserRanks },
): RunSlices {
  const { bucketOf, cuts } = popularityBuckets(dataset.trainPopularity);
  const split = (perUser: UserRanks, input: "valInput" | "testInput") =>
    sliceMetrics({
      ranks: perUser.ranks,
      targets: perUser.targets,
      historyLengths: Array.from(perUser.users, (u) => dataset.splits[u][input].length),
    }, { bucketOf, historyCuts });
  return {
    popularity: cuts,
    history: [...historyCuts],
    val: split(evaluations.val, "valInput"),
    test: split(evaluations.test, "testInput"),
  };
}
