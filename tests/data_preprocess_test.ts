import assert from "node:assert/strict";
import { join } from "node:path";
import { buildDataset, limitUsers, loadDataset } from "../src/data/dataset.ts";
import { loadMovieLens100k } from "../src/data/movielens.ts";
import { ML100K_MISSING_ITEMS, preprocess } from "../src/data/preprocess.ts";
import { leaveOneOutSplit, originalSplit, originalSplitPoints } from "../src/data/split.ts";
import { interactionStats } from "../src/data/stats.ts";
import { tieCounts } from "../src/data/ties.ts";
import type { ItemInfo, RawData } from "../src/data/types.ts";
import { testConfig } from "./data_fixtures.ts";
import { sharedDataDir } from "./helpers.ts";

function rawData(name: string): RawData {
  const items = new Map<number, ItemInfo>(
    [1, 2, 3, 5, 8, 9, 246].map((id) => [id, { id, title: `Item ${id}`, year: 1990, genres: [] }]),
  );
  // [user, item, rating, timestamp] in file order; item 7 is not in the item file
  const rows = [
    [10, 3, 5, 100],
    [10, 1, 4, 100],
    [10, 246, 5, 50],
    [10, 2, 4, 200],
    [10, 5, 4, 300],
    [10, 7, 5, 400],
    [10, 8, 2, 250],
    [10, 9, 5, 500],
    [20, 1, 5, 10],
    [20, 2, 5, 20],
    [20, 3, 3, 30],
    [20, 5, 4, 40],
    [20, 8, 4, 50],
    [20, 9, 1, 60],
    [30, 1, 2, 10],
    [30, 2, 1, 20],
    [30, 3, 3, 30],
    [30, 5, 2, 40],
    [30, 9, 3, 50],
    [5, 1, 4, 1],
    [5, 2, 4, 2],
    [5, 3, 4, 3],
    [5, 5, 4, 4],
  ]; // deno-fmt-ignore
  const ratings = rows.map(([user, item, rating, timestamp]) => ({ user, item, rating, timestamp }));
  return { name, items, ratings };
}

Deno.test("preprocess: original preset on a hand-made ML-100K (missing ids, >= 4, stable ties, >= 5)", () => {
  const raw = rawData("ml-100k");
  const out = preprocess(raw, "original");
  assert.deepEqual(out.userIds, [10]);
  assert.deepEqual(out.sequences, [[3, 1, 2, 5, 9]]); // 3 and 1 tie at t=100: file order kept
  assert.equal(out.numItems, 9); // 246 dropped
  assert.equal(out.items.has(246), false);
  assert.deepEqual(out.report, {
    ratings_read: 23,
    items_read: 7,
    items_dropped_missing: 1,
    ratings_dropped_duplicate: 0,
    ratings_dropped_unknown_item: 1,
    ratings_dropped_missing_items: 1,
    ratings_dropped_below_4: 8,
    interactions: 13,
    users_read: 4,
    users_dropped_no_interactions: 1,
    users_dropped_fewer_than_5: 2,
    interactions_dropped_fewer_than_5: 8,
    users: 1,
    interactions_kept: 5,
    items_kept: 6,
    items_active: 5,
  });
  assert.equal(raw.items.has(246), true, "raw data is not modified");
  assert.equal(raw.ratings.length, 23);
  // the missing-id drop applies to ML-100K only
  assert.equal(preprocess(rawData("ml-1m"), "original").numItems, 246);
});

Deno.test("preprocess: sasrec preset keeps every rating, ties broken by item id", () => {
  const out = preprocess(rawData("ml-100k"), "sasrec");
  assert.deepEqual(out.userIds, [10, 20, 30]);
  assert.deepEqual(out.sequences, [[246, 1, 3, 2, 8, 5, 9], [1, 2, 3, 5, 8, 9], [1, 2, 3, 5, 9]]);
  assert.equal(out.numItems, 246);
  assert.equal(out.report.users_dropped_fewer_than_5, 1);
  assert.equal(out.report.interactions_kept, 18);
  assert.equal(out.report.items_active, 7);
});

Deno.test("split: leave-one-out", () => {
  assert.deepEqual(leaveOneOutSplit([1, 2, 3, 4, 5]), {
    train: [1, 2, 3],
    valInput: [1, 2, 3],
    valTarget: 4,
    testInput: [1, 2, 3, 4],
    testTarget: 5,
  });
});

Deno.test("split: original 80/10/10 indices for n = 5 and n = 58 (docs/original.md#data)", () => {
  const seq = (n: number) => Array.from({ length: n }, (_, i) => 100 + i); // value = 100 + index
  const s58 = originalSplit(seq(58));
  assert.deepEqual(originalSplitPoints(58), { a: 46, v: 52 });
  assert.equal(s58.train.at(-1), 145); // train target index 45
  assert.equal(s58.train.length, 46);
  assert.equal(s58.valTarget, 151); // index 51
  assert.deepEqual(s58.valInput, seq(51));
  assert.equal(s58.testTarget, 157); // index 57
  assert.deepEqual(s58.testInput, seq(57));
  const s5 = originalSplit(seq(5));
  assert.deepEqual(originalSplitPoints(5), { a: 4, v: 4 });
  assert.deepEqual(s5.train, [100, 101, 102, 103]);
  assert.equal(s5.valTarget, 103); // = the train target for n = 5
  assert.deepEqual(s5.valInput, [100, 101, 102]);
  assert.equal(s5.testTarget, 104);
  assert.deepEqual(originalSplitPoints(10), { a: 8, v: 9 });
  assert.throws(() => originalSplit([1, 2]), /cannot split a sequence of 2 items/);
});

Deno.test("dataset: itemExists, train popularity and max_users", () => {
  const interactions = preprocess(rawData("ml-100k"), "sasrec");
  const ds = buildDataset("x", limitUsers(interactions, 2), "loo");
  assert.deepEqual(ds.userIds, [10, 20]);
  assert.equal(ds.report.users_dropped_max_users, 1);
  assert.equal(ds.itemExists.length, 247);
  assert.deepEqual([...ds.itemExists.keys()].filter((id) => ds.itemExists[id] === 1), [1, 2, 3, 5, 8, 9, 246]);
  // train sequences: [246, 1, 3, 2, 8] and [1, 2, 3, 5]
  const pop = Object.fromEntries([...ds.trainPopularity.entries()].filter(([, c]) => c > 0));
  assert.deepEqual(pop, { 1: 2, 2: 2, 3: 2, 5: 1, 8: 1, 246: 1 });
  assert.equal(limitUsers(interactions, null), interactions);
});

const shared = sharedDataDir();
Deno.test({
  name: "preprocess: real ML-100K original preset matches the spec (938 users, 55,024 positives, 1,428 items)",
  ignore: shared === undefined,
  fn: async () => {
    const raw = await loadMovieLens100k(join(shared!, "ml-100k"));
    const out = preprocess(raw, "original");
    assert.equal(out.report.ratings_dropped_missing_items, 691); // 100,000 - 691 = 99,309 ratings
    assert.equal(out.report.interactions, 55_024);
    assert.equal(out.report.users_read - out.report.users_dropped_no_interactions, 942);
    assert.equal(out.report.items_active, 1428);
    assert.equal(out.report.items_kept, 1659);
    assert.equal(out.numItems, 1682);
    const dropped = [...new Set(raw.ratings.map((r) => r.user))].filter((u) => !out.userIds.includes(u));
    assert.deepEqual(dropped.sort((a, b) => a - b), [155, 302, 656, 685, 824]);
    const stats = interactionStats(out);
    assert.equal(stats.users, 938);
    assert.equal(stats.items, 1428);
    assert.equal(stats.interactions, 55_010);
    assert.equal(stats.seqLen.mean.toFixed(2), "58.65");
    assert.deepEqual([stats.seqLen.min, stats.seqLen.median, stats.seqLen.max], [5, 39, 376]);
    assert.ok(out.sequences.flat().every((id) => !ML100K_MISSING_ITEMS.includes(id)));

    const sasrec = preprocess(raw, "sasrec");
    assert.equal(sasrec.userIds.length, 943);
    assert.equal(sasrec.report.interactions_kept, 100_000);
    assert.equal(sasrec.items.size, 1682);
  },
});

Deno.test({
  name: "preprocess: on real ML-100K equal timestamps decide the test target of 415 of 943 users (299 of 938 original)",
  ignore: shared === undefined,
  fn: async () => {
    const raw = await loadMovieLens100k(join(shared!, "ml-100k"));
    /** Users whose last item differs between the item-id and the file order under `preset`. */
    const testTargetsDiffering = (preset: "sasrec" | "original") => {
      const byId = preprocess(raw, preset, { tieOrder: "item_id" }).sequences;
      const byLine = preprocess(raw, preset, { tieOrder: "file_order" }).sequences;
      return byId.filter((s, u) => s.at(-1) !== byLine[u].at(-1)).length;
    };
    const sasrec = preprocess(raw, "sasrec").timestamps;
    assert.deepEqual(tieCounts(sasrec, "loo"), {
      consecutive_pairs_tied: 50_561, // of 99,057: 51%
      users_val_target_tied: 599,
      users_test_target_tied: 415,
      users_val_or_test_target_tied: 599,
    });
    const sasrecOriginal = tieCounts(sasrec, "original");
    assert.deepEqual([sasrecOriginal.users_val_target_tied, sasrecOriginal.users_val_or_test_target_tied], [696, 764]);
    assert.equal(testTargetsDiffering("sasrec"), 281);
    const original = preprocess(raw, "original").timestamps;
    assert.deepEqual(tieCounts(original, "loo"), {
      consecutive_pairs_tied: 22_863, // of 54,072: 42%
      users_val_target_tied: 466,
      users_test_target_tied: 299,
      users_val_or_test_target_tied: 466,
    });
    const originalOriginal = tieCounts(original, "original");
    assert.deepEqual([originalOriginal.users_val_target_tied, originalOriginal.users_val_or_test_target_tied], [
      559,
      623,
    ]);
    assert.equal(testTargetsDiffering("original"), 187);
  },
});

Deno.test({
  name: "dataset: real ML-100K original split has the spec's train mean length 46.52",
  ignore: shared === undefined,
  fn: async () => {
    const ds = await loadDataset(
      testConfig({ dataset: "ml-100k", data_dir: shared, preset: "original", split: "original" }),
    );
    const meanTrain = ds.splits.reduce((n, s) => n + s.train.length, 0) / ds.splits.length;
    assert.equal(meanTrain.toFixed(2), "46.52");
    assert.equal(ds.itemExists.reduce((a, b) => a + b, 0), 1659);
    assert.equal(ds.itemExists[246], 0);
    const limited = await loadDataset(testConfig({ dataset: "ml-100k", data_dir: shared, max_users: 10 }));
    assert.equal(limited.userIds.length, 10);
    assert.deepEqual(limited.userIds, Array.from({ length: 10 }, (_, i) => i + 1));
  },
});
