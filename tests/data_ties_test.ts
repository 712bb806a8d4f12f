/** Equal timestamps: `tie_order` (item id, file order, seeded shuffle, the preset's) and the tied-target counts. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadInteractions } from "../src/data/dataset.ts";
import { preprocess } from "../src/data/preprocess.ts";
import { splitSequences } from "../src/data/split.ts";
import { resolveTieOrder, tieCounts, type TieOrder } from "../src/data/ties.ts";
import type { ItemInfo, RawData } from "../src/data/types.ts";
import { testConfig, writeFiles } from "./data_fixtures.ts";
import { tempDir } from "./helpers.ts";

/** [user, item, timestamp] in file order (every rating 5, so the `original` preset keeps them all). */
// deno-fmt-ignore
const ROWS = [
  // user 1: t4 = {6, 2} is the val target, t5 = {9, 1} the test target
  [1, 7, 1], [1, 3, 2], [1, 8, 3], [1, 6, 4], [1, 2, 4], [1, 9, 5], [1, 1, 5],
  // user 2: the last three share t3
  [2, 4, 1], [2, 5, 2], [2, 3, 3], [2, 1, 3], [2, 2, 3],
  // user 3: no tie
  [3, 1, 1], [3, 2, 2], [3, 3, 3], [3, 4, 4], [3, 5, 5],
  // user 4: a tie at the start only
  [4, 3, 1], [4, 1, 1], [4, 2, 2], [4, 4, 3], [4, 5, 4], [4, 6, 5],
  // user 5: the leave-one-out val target (index 4) is tied, the test target is not
  [5, 1, 1], [5, 2, 2], [5, 3, 3], [5, 5, 4], [5, 4, 4], [5, 6, 5],
  // user 6 (11 items): index 8, the original split's val target, is tied; index 9, leave-one-out's, is not
  [6, 1, 1], [6, 2, 2], [6, 3, 3], [6, 4, 4], [6, 5, 5], [6, 6, 6], [6, 7, 7], [6, 9, 8], [6, 8, 8], [6, 10, 10],
  [6, 11, 11],
];

function rawData(rows = ROWS): RawData {
  const items = new Map<number, ItemInfo>(
    Array.from({ length: 11 }, (_, i) => [i + 1, { id: i + 1, title: `Item ${i + 1}`, year: 1990, genres: [] }]),
  );
  const ratings = rows.map(([user, item, timestamp], i) => ({ user, item, rating: 5, timestamp, line: i + 1 }));
  return { name: "ties", items, ratings };
}

const ITEM_ID = [
  [7, 3, 8, 2, 6, 1, 9],
  [4, 5, 1, 2, 3],
  [1, 2, 3, 4, 5],
  [1, 3, 2, 4, 5, 6],
  [1, 2, 3, 4, 5, 6],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
];
const FILE_ORDER = [
  [7, 3, 8, 6, 2, 9, 1],
  [4, 5, 3, 1, 2],
  [1, 2, 3, 4, 5],
  [3, 1, 2, 4, 5, 6],
  [1, 2, 3, 5, 4, 6],
  [1, 2, 3, 4, 5, 6, 7, 9, 8, 10, 11],
];

const sequences = (tieOrder: TieOrder | null, seed = 0, preset: "sasrec" | "original" = "sasrec", rows = ROWS) =>
  preprocess(rawData(rows), preset, { tieOrder, seed }).sequences;

Deno.test("tie_order: item_id and file_order give the hand-made sequences, so other val/test targets", () => {
  assert.deepEqual(sequences("item_id"), ITEM_ID);
  assert.deepEqual(sequences("file_order"), FILE_ORDER);
  const [byId, byLine] = [splitSequences(ITEM_ID, "loo")[0], splitSequences(FILE_ORDER, "loo")[0]];
  assert.deepEqual([byId.valTarget, byId.testTarget, byId.testInput], [1, 9, [7, 3, 8, 2, 6, 1]]);
  assert.deepEqual([byLine.valTarget, byLine.testTarget, byLine.testInput], [9, 1, [7, 3, 8, 6, 2, 9]]);
  // both orders under either preset (the original preset keeps every rating here: all are 5 stars)
  assert.deepEqual(sequences("item_id", 0, "original"), ITEM_ID);
  assert.deepEqual(sequences("file_order", 0, "original"), FILE_ORDER);
});

Deno.test("tie_order: null keeps each preset's own rule (sasrec: item id, original: file order)", () => {
  assert.deepEqual(sequences(null, 0, "sasrec"), ITEM_ID);
  assert.deepEqual(sequences(null, 0, "original"), FILE_ORDER);
  assert.deepEqual(preprocess(rawData(), "sasrec").sequences, ITEM_ID);
  assert.deepEqual(preprocess(rawData(), "original").sequences, FILE_ORDER);
  assert.equal(resolveTieOrder("sasrec", null), "item_id");
  assert.equal(resolveTieOrder("original", null), "file_order");
  assert.equal(resolveTieOrder("original", "shuffle"), "shuffle");
});

Deno.test("tie_order: shuffle permutes only within equal timestamps, the same for a seed, and differs across seeds", () => {
  const byTime = preprocess(rawData(), "sasrec", { tieOrder: "shuffle", seed: 1 });
  // each timestamp group holds the same items as under item_id; users 3 and 6 keep their untied positions
  const groups = (seqs: number[][], times: number[][]) =>
    seqs.map((s, u) => s.map((item, i) => `${times[u][i]}:${item}`).sort());
  const itemId = preprocess(rawData(), "sasrec", { tieOrder: "item_id" });
  assert.deepEqual(byTime.timestamps, itemId.timestamps);
  assert.deepEqual(groups(byTime.sequences, byTime.timestamps), groups(itemId.sequences, itemId.timestamps));
  assert.deepEqual(byTime.sequences[2], [1, 2, 3, 4, 5]);
  assert.deepEqual(byTime.sequences[5].slice(0, 7), [1, 2, 3, 4, 5, 6, 7]);

  assert.deepEqual(sequences("shuffle", 1), byTime.sequences, "same seed, same order");
  // not a function of the file's line order nor of the other users: the stream is forked per user id
  assert.deepEqual(sequences("shuffle", 1, "sasrec", [...ROWS].reverse()), byTime.sequences);
  assert.deepEqual(sequences("shuffle", 1, "sasrec", ROWS.filter(([u]) => u !== 1)), byTime.sequences.slice(1));

  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
  const testTargets = new Set(seeds.map((seed) => sequences("shuffle", seed)[0].at(-1)));
  assert.deepEqual([...testTargets].sort(), [1, 9], "user 1's test target is 1 or 9 depending on the seed");
  const lastThree = new Set(seeds.map((seed) => sequences("shuffle", seed)[1].slice(2).join(",")));
  assert.ok(lastThree.size > 1, `user 2's tied group takes more than one order over 20 seeds: ${[...lastThree]}`);
});

Deno.test("tieCounts: the users whose val/test target shares its timestamp, per split", () => {
  const { timestamps } = preprocess(rawData(), "sasrec");
  // tied consecutive pairs: user 1: 2, user 2: 2, user 4: 1, user 5: 1, user 6: 1
  // loo: val tied for users 1, 2, 5; test tied for users 1, 2
  assert.deepEqual(tieCounts(timestamps, "loo"), {
    consecutive_pairs_tied: 7,
    users_val_target_tied: 3,
    users_test_target_tied: 2,
    users_val_or_test_target_tied: 3,
  });
  // original 80/10/10: val target index 5, 3, 3, 4, 4, 8 for n = 7, 5, 5, 6, 6, 11; user 6 is tied at index 8
  assert.deepEqual(tieCounts(timestamps, "original"), {
    consecutive_pairs_tied: 7,
    users_val_target_tied: 4,
    users_test_target_tied: 2,
    users_val_or_test_target_tied: 4,
  });
});

Deno.test("loadInteractions: tie_order, seed, split and max_users reach the sequences and the report", async () => {
  await using dir = await tempDir();
  await writeFiles(join(dir.path, "ml-100k"), {
    "u.genre": "unknown|0\n",
    "u.item": Array.from({ length: 11 }, (_, i) => `${i + 1}|Movie ${i + 1} (1995)|01-Jan-1995||http://x|1`)
      .join("\n") + "\n",
    "u.data": ROWS.map(([user, item, t]) => `${user}\t${item}\t5\t${t}`).join("\n") + "\n",
    "u.user": Array.from({ length: 6 }, (_, i) => `${i + 1}|24|M|technician|85711`).join("\n") + "\n",
  });
  const load = (values: Record<string, unknown>) =>
    loadInteractions(testConfig({ dataset: "ml-100k", data_dir: dir.path, ...values }));
  const byId = await load({});
  assert.deepEqual(byId.interactions.sequences, ITEM_ID);
  assert.equal(byId.interactions.report.users_test_target_tied, 2);
  assert.equal(byId.interactions.report.users_val_target_tied, 3);
  const byLine = await load({ tie_order: "file_order", split: "original", max_users: 5 });
  assert.deepEqual(byLine.interactions.sequences, FILE_ORDER.slice(0, 5));
  assert.equal(byLine.interactions.report.users_val_target_tied, 3, "user 6 is past max_users");
  const shuffled = await load({ tie_order: "shuffle", seed: 7 });
  assert.deepEqual(shuffled.interactions.sequences, sequences("shuffle", 7));
});
