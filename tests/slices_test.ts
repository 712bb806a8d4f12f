import assert from "node:assert/strict";
import { loadConfig, resolveConfig } from "../src/config/load.ts";
import { METRIC_NAMES } from "../src/config/schema.ts";
import {
  historyBucket,
  historyBucketNames,
  POPULARITY_BUCKETS,
  popularityBuckets,
  sliceMetrics,
} from "../src/eval/slices.ts";
import { collectResults, type ResultRow, resultsCsv } from "../src/experiments/results.ts";
import type { EpochRecord, Metrics, RunSlices, RunSummary, SplitSlices } from "../src/run/records.ts";
import { train } from "../src/train/trainer.ts";
import { assertClose, tempDir } from "./helpers.ts";

const ndcg = (rank: number) => 1 / Math.log2(rank + 1);

Deno.test("slices: popularity thirds by training count, ties by id, the crossing item included, untrained in tail", () => {
  // Ids 0..7 with counts 0, 5, 10, 6, 5, 2, 2, 0 (30 in all). Sorted: 2 (10), 3 (6), 1 (5), 4 (5), 5, 6, 7.
  // 2 starts at 0 < 10: head, and fills the third exactly; 3 starts at 10: torso; 1 starts at 16 < 20 and crosses
  // two thirds: torso; 4 (same count as 1, larger id) starts at 21: tail, as are 5, 6 and the untrained 7.
  const { bucketOf, cuts } = popularityBuckets([0, 5, 10, 6, 5, 2, 2, 0]);
  assert.deepEqual(Array.from(bucketOf, (b) => POPULARITY_BUCKETS[b]), [
    "pop_tail",
    "pop_torso",
    "pop_head",
    "pop_torso",
    "pop_tail",
    "pop_tail",
    "pop_tail",
    "pop_tail",
  ]);
  assert.deepEqual(cuts, { interactions: 30, head_items: 1, torso_items: 2, head_min_count: 10, torso_min_count: 5 });
  // Counts 3, 3, 3, 3 (12 in all, a third is 4): item 2 starts at 3 < 4 and crosses the third, so the head has two.
  const even = popularityBuckets(Float32Array.from([0, 3, 3, 3, 3]));
  assert.deepEqual([...even.bucketOf], [2, 0, 0, 1, 2]);
  assert.deepEqual(even.cuts, {
    interactions: 12,
    head_items: 2,
    torso_items: 1,
    head_min_count: 3,
    torso_min_count: 3,
  });
  // One item holding more than two thirds: head alone, empty torso.
  const skewed = popularityBuckets([0, 1, 9]);
  assert.deepEqual([...skewed.bucketOf], [2, 2, 0]);
  assert.deepEqual(skewed.cuts.torso_min_count, null);
});

Deno.test("slices: history bucket names and membership follow the cut points", () => {
  assert.deepEqual(historyBucketNames([30, 100]), ["hist_lt30", "hist_30_99", "hist_ge100"]);
  assert.deepEqual(historyBucketNames([50]), ["hist_lt50", "hist_ge50"]);
  assert.deepEqual(historyBucketNames([5, 6, 10]), ["hist_lt5", "hist_5_5", "hist_6_9", "hist_ge10"]);
  assert.deepEqual([1, 29, 30, 99, 100, 5000].map((n) => historyBucket(n, [30, 100])), [0, 0, 1, 1, 2, 2]);
});

Deno.test("slices: per-bucket HR@10 and NDCG@10 by hand; an empty bucket has null metrics", () => {
  const { bucketOf } = popularityBuckets([0, 5, 10, 6, 5, 2, 2, 0]); // head {2}, torso {1, 3}, tail {4, ..., 7}
  const inputs = {
    ranks: [1, 3, 12, 2, 10],
    targets: [2, 3, 1, 7, 4], // head, torso, torso, tail (never trained), tail
    historyLengths: [5, 40, 120, 30, 99],
  };
  const slices = sliceMetrics(inputs, { bucketOf, historyCuts: [30, 100] });
  const names = ["pop_head", "pop_torso", "pop_tail", "hist_lt30", "hist_30_99", "hist_ge100"];
  assert.deepEqual(Object.keys(slices), names);
  const expected: Record<string, [number, number, number]> = { // users, HR@10, NDCG@10
    pop_head: [1, 1, 1],
    pop_torso: [2, 0.5, 0.25], // ranks 3, 12
    pop_tail: [2, 1, (ndcg(2) + ndcg(10)) / 2],
    hist_lt30: [1, 1, 1],
    hist_30_99: [3, 1, (0.5 + ndcg(2) + ndcg(10)) / 3], // ranks 3, 2, 10 (lengths 40, 30, 99)
    hist_ge100: [1, 0, 0],
  };
  for (const [name, [users, hr, nd]] of Object.entries(expected)) {
    assert.equal(slices[name].users, users, name);
    assertClose([slices[name].metrics!["HR@10"], slices[name].metrics!["NDCG@10"]], [hr, nd], 1e-12, name);
  }
  const wide = sliceMetrics(inputs, { bucketOf, historyCuts: [1000] });
  assert.deepEqual(wide.hist_ge1000, { users: 0, metrics: null });
  assert.equal(wide.hist_lt1000.users, 5);
  assert.throws(() => sliceMetrics({ ...inputs, targets: [2] }, { bucketOf, historyCuts: [30] }), /5 ranks, 1 targets/);
});

Deno.test("slices: history_buckets must be 1-16 strictly increasing positive integers", async () => {
  assert.deepEqual(resolveConfig({}, "test").history_buckets, [30, 100]);
  assert.deepEqual((await loadConfig(undefined, ["history_buckets=[10, 50, 200]"])).history_buckets, [10, 50, 200]);
  for (const bad of ["[100, 30]", "[30, 30]", "[]", "[0]", "[2.5]"]) {
    await assert.rejects(loadConfig(undefined, [`history_buckets=${bad}`]), /history_buckets/, bad);
  }
  await assert.rejects(loadConfig(undefined, ["history_buckets=[100, 30]"]), /strictly increasing/);
});

/** Checks that each family of buckets partitions `users` and averages back to `overall`. */
function assertPartitions(slices: SplitSlices, families: string[][], users: number, overall: Metrics, what: string) {
  for (const family of families) {
    assert.equal(family.reduce((n, b) => n + slices[b].users, 0), users, `${what}: users of ${family}`);
    for (const metric of METRIC_NAMES) {
      const weighted = family.reduce((sum, b) => sum + slices[b].users * (slices[b].metrics?.[metric] ?? 0), 0);
      assertClose([weighted / users], [overall[metric]], 1e-9, `${what}: ${metric} over ${family}`);
    }
  }
}

/** A tiny synthetic SASRec run config whose users' histories straddle 25 and 40 items. */
function tinyConfig(dataDir: string, overrides: Record<string, unknown> = {}) {
  return resolveConfig({
    dataset: "synthetic",
    data_dir: dataDir,
    synthetic_users: 48,
    synthetic_items: 120,
    max_seq_len: 10,
    sasrec_hidden_dim: 8,
    sasrec_num_blocks: 1,
    batch_size: 16,
    epochs_per_stage: 1,
    history_buckets: [25, 40],
    seed: 5,
    ...overrides,
  }, "test");
}

Deno.test("slices: a training run writes summary.json slices that partition the users and average to the metrics", async () => {
  await using data = await tempDir();
  await using run = await tempDir();
  await train(tinyConfig(data.path), run.path, { quiet: true });
  const summary: RunSummary = JSON.parse(await Deno.readTextFile(`${run.path}/summary.json`));
  const slices = summary.slices!;
  assert.deepEqual(slices.history, [25, 40]);
  assert.ok(slices.popularity.head_items > 0 && slices.popularity.torso_items > 0);
  const families = [[...POPULARITY_BUCKETS], historyBucketNames([25, 40])];
  assertPartitions(slices.val, families, 48, summary.val!, "val");
  assertPartitions(slices.test, families, 48, summary.test!, "test");
  // Targets and histories straddle the cuts, so every bucket has users and the averages mix several buckets; the
  // history buckets above max_seq_len (10) have users, so lengths are counted before truncation.
  assert.ok(families.flat().every((b) => slices.test[b].users > 0), JSON.stringify(slices.test));
});

Deno.test("slices: history_buckets may change on --resume; the final slices use the new cuts", async () => {
  await using data = await tempDir();
  await using run = await tempDir();
  const crash = (r: EpochRecord) => {
    if (r.epoch === 1) throw new Error("simulated crash"); // after epoch 0's checkpoint
  };
  await assert.rejects(
    train(tinyConfig(data.path, { epochs_per_stage: 2 }), run.path, { quiet: true, onEpoch: crash }),
  );
  const resumed = await train(tinyConfig(data.path, { epochs_per_stage: 2, history_buckets: [30] }), run.path, {
    quiet: true,
    resume: true,
  });
  assert.deepEqual(resumed.resume_changes.map((c) => [c.key, c.from, c.to]), [["history_buckets", [25, 40], [30]]]);
  assert.deepEqual(resumed.slices!.history, [30]);
  assert.deepEqual(Object.keys(resumed.slices!.test).slice(3), ["hist_lt30", "hist_ge30"]);
});

/** A completed grid row with test slices (or none). */
function row(id: string, slices: RunSlices | null): ResultRow {
  return {
    id,
    values: { seed: 1 },
    status: "completed",
    first_nonfinite: null,
    nonfinite_batches: 0,
    skipped_batches: 0,
    patched_batches: 0,
    val: null,
    test: null,
    slices,
    wall_time_s: 1,
    steps: 1,
    best: null,
    resumed: false,
    epochs: 1,
    rung: null,
    rung_val: null,
    retries: 0,
    error: null,
    log: `runs/${id}/log.txt`,
  };
}

const metrics = (hr10: number, ndcg10: number) =>
  Object.fromEntries(METRIC_NAMES.map((m) => [m, m === "HR@10" ? hr10 : m === "NDCG@10" ? ndcg10 : 0])) as Metrics;

Deno.test("slices: results.csv has test HR@10, NDCG@10 and users per bucket; rows without slices leave them empty", () => {
  const test = {
    pop_head: { users: 3, metrics: metrics(0.5, 0.25) },
    pop_torso: { users: 2, metrics: metrics(1, 0.75) },
    pop_tail: { users: 0, metrics: null },
    hist_lt50: { users: 5, metrics: metrics(0.7, 0.45) },
    hist_ge50: { users: 0, metrics: null },
  };
  const popularity = { interactions: 9, head_items: 1, torso_items: 1, head_min_count: 5, torso_min_count: 3 };
  const sliced: RunSlices = { popularity, history: [50], val: test, test };
  const lines = resultsCsv([row("a", sliced), row("b", null)], []).split("\n");
  const header = lines[0].split(",");
  const columns = ["pop_head", "pop_torso", "pop_tail", "hist_lt50", "hist_ge50"]
    .flatMap((b) => [`test_${b}_HR@10`, `test_${b}_NDCG@10`, `test_${b}_users`]);
  const first = header.indexOf("test_MRR") + 1;
  assert.deepEqual(header.slice(first, first + columns.length), columns);
  assert.equal(header[first + columns.length], "epochs");
  const cells = (line: string) => line.split(",").slice(first, first + columns.length).join(",");
  assert.equal(cells(lines[1]), "0.5,0.25,3,1,0.75,2,,,0,0.7,0.45,5,,,0");
  assert.equal(cells(lines[2]), ",,,,,,,,,,,,,,");
  // A grid of runs from before slices still gets the default buckets' columns, all empty.
  const old = resultsCsv([row("c", null)], []).split("\n");
  assert.ok(old[0].includes("test_pop_tail_users,test_hist_lt30_HR@10,"), old[0]);
  assert.ok(old[0].includes(",test_hist_ge100_users,epochs,"), old[0]);
});

Deno.test("slices: collectResults reads a run directory whose summary.json predates slices as slices null", async () => {
  await using out = await tempDir();
  const id = "seed=1";
  await Deno.mkdir(`${out.path}/runs/${id}`, { recursive: true });
  const summary: Partial<RunSummary> = { status: "completed", val: null, test: null, error: null };
  await Deno.writeTextFile(`${out.path}/runs/${id}/summary.json`, JSON.stringify(summary));
  const [read] = await collectResults(out.path, [{ id, values: { seed: 1 }, config: resolveConfig({}, "test") }]);
  assert.equal(read.status, "completed");
  assert.equal(read.slices, null);
});
