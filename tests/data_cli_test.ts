/** The data checks as the CLIs show them: `data stats` output and the `data` section of a run's summary.json. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RunSummary } from "../src/run/records.ts";
import { ML100K_SIDE_FILES } from "./bad_inputs/data_rows.ts";
import { writeFiles } from "./data_fixtures.ts";
import { runScript, tempDir } from "./helpers.ts";

/** Runs `src/cli/<cli>.ts args` and returns its exit code, stdout and stderr. */
function runCli(cli: string, args: string[]) {
  return runScript(`src/cli/${cli}.ts`, args);
}

/** The input: one user, `1<TAB>i<TAB>4<TAB>10i` for i = 1..5, each line twice. */
async function repeatedLines(dir: string): Promise<void> {
  await writeFiles(join(dir, "ml-100k"), {
    ...Object.fromEntries(Object.entries(ML100K_SIDE_FILES).map(([k, v]) => [k.split("/")[1], v])),
    "u.data": [1, 2, 3, 4, 5].flatMap((i) => [`1\t${i}\t4\t10${i}`, `1\t${i}\t4\t10${i}`]).join("\n") + "\n",
  });
}

const WARNING = "warning: 5 of 10 ratings (50.0%) repeat an earlier (user, item) pair and were dropped " +
  "(duplicate_ratings: drop_keep_first) [ratings_dropped_duplicate]; MORE THAN 5%: check the input files";

Deno.test("data stats: the report holds every drop count and the warnings, which also go to stderr", async () => {
  await using dir = await tempDir();
  await repeatedLines(dir.path);
  const args = ["stats", "--data-dir", dir.path, "--dataset", "ml-100k", "--set", "duplicate_ratings=drop_keep_first"];
  const { code, stdout, stderr } = await runCli("data", args);
  assert.equal(code, 0, stderr);
  const stats = JSON.parse(stdout);
  assert.equal(stats.report.ratings_dropped_duplicate, 5);
  assert.equal(stats.interactions, 5);
  assert.equal(stats.tie_order, "item_id"); // the sasrec preset's; timestamps 101..105 tie no target
  assert.equal(stats.split, "loo");
  assert.equal(stats.report.users_val_or_test_target_tied, 0);
  assert.deepEqual(stats.warnings, [WARNING.slice("warning: ".length)]);
  assert.equal(stderr.trim(), WARNING);
});

Deno.test("train: summary.json records the data report and warnings; a degenerate dataset exits 2 before --out", async () => {
  await using dir = await tempDir();
  await repeatedLines(dir.path);
  const out = join(dir.path, "run");
  const common = ["--set", `data_dir=${dir.path}`, "--set", "dataset=ml-100k", "--set", "epochs_per_stage=1"];
  const run = await runCli("train", [
    ...common,
    ...["--set", "max_steps_per_epoch=1", "--set", "duplicate_ratings=drop_keep_first", "--set", "tie_order=shuffle"],
    ...["--out", out, "--quiet"],
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stderr.includes(WARNING), run.stderr);
  const summary: RunSummary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
  assert.equal(summary.data?.report.ratings_dropped_duplicate, 5);
  assert.equal(summary.data?.duplicate_ratings, "drop_keep_first");
  assert.equal(summary.data?.tie_order, "shuffle");
  assert.equal(summary.data?.split, "loo");
  assert.equal(summary.data?.report.users_test_target_tied, 0);
  assert.deepEqual(summary.data?.warnings, [WARNING.slice("warning: ".length)]);

  await writeFiles(join(dir.path, "ml-100k"), { "u.data": "1\t1\t4\t101\n1\t2\t4\t102\n1\t3\t4\t103\n1\t4\t4\t104\n" });
  const bad = await runCli("train", [...common, "--out", join(dir.path, "run2")]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /^error: dataset ml-100k \(preset sasrec\): no users with at least 5 interactions/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  await assert.rejects(Deno.stat(join(dir.path, "run2")), Deno.errors.NotFound);
});
