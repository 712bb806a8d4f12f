import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { resolveConfig } from "../src/config/load.ts";
import { optimizerOptions } from "../src/config/resolve.ts";
import type { Config } from "../src/config/schema.ts";
import { trainBatches } from "../src/data/batches.ts";
import { investigate } from "../src/train/investigate.ts";
import { ModuleOptimizer } from "../src/train/optimizer.ts";
import type { EpochRecord, MetricsRecord, NanReport, RunSummary } from "../src/run/records.ts";
import { epochRng, prepareRun, stepSeed } from "../src/train/run.ts";
import { trainStep } from "../src/train/step.ts";
import { train } from "../src/train/trainer.ts";
import { UserError } from "../src/util/errors.ts";
import { snapshot } from "./bad_inputs/harness.ts";
import { tempDir } from "./helpers.ts";

const dataDir = await Deno.makeTempDir({ prefix: "ur4rec-train-data-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

function tinyConfig(overrides: Record<string, unknown> = {}): Config {
  return resolveConfig({
    dataset: "synthetic",
    data_dir: dataDir,
    synthetic_users: 64,
    synthetic_items: 80,
    max_seq_len: 20,
    sasrec_hidden_dim: 16,
    sasrec_num_blocks: 2,
    batch_size: 16,
    epochs_per_stage: 3,
    patience: 5,
    sasrec_lr: 0.005,
    log_every: 1,
    seed: 3,
    ...overrides,
  }, "test");
}

async function readRecords(dir: string): Promise<MetricsRecord[]> {
  const text = await Deno.readTextFile(`${dir}/metrics.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

const readJson = async <T>(path: string) => JSON.parse(await Deno.readTextFile(path)) as T;

Deno.test("train: a run writes metrics.jsonl, nan_report.json and summary.json; same seed, same numbers", async () => {
  await using a = await tempDir();
  await using b = await tempDir();
  const first = await train(tinyConfig(), a.path, { quiet: true });
  const second = await train(tinyConfig(), b.path, { quiet: true });
  assert.equal(first.status, "completed");
  assert.deepEqual(first.test, second.test);
  assert.deepEqual(first.val, second.val);
  const records = await readRecords(a.path);
  const epochs = records.filter((r): r is EpochRecord => r.type === "epoch");
  assert.equal(epochs.length, 3);
  assert.equal(records.filter((r) => r.type === "step").length, first.steps);
  for (const key of ["HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"] as const) {
    assert.ok(first.test![key] >= 0 && first.test![key] <= 1, key);
  }
  assert.ok(first.test!["HR@20"] >= first.test!["HR@10"]);
  assert.equal(first.nonfinite_batches, 0);
  assert.equal((await readJson<NanReport>(`${a.path}/nan_report.json`)).first_nonfinite, null);
  assert.equal(first.best?.value, Math.max(...epochs.map((e) => e.val!["NDCG@10"])));
});

Deno.test("train: a run interrupted after an epoch and resumed ends exactly like an uninterrupted one", async () => {
  await using whole = await tempDir();
  await using cut = await tempDir();
  const reference = await train(tinyConfig(), whole.path, { quiet: true });
  await assert.rejects(
    train(tinyConfig(), cut.path, {
      quiet: true,
      onEpoch: (r) => {
        if (r.epoch === 1) throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  const resumed = await train(tinyConfig(), cut.path, { quiet: true, resume: true });
  assert.equal(resumed.resumed, true);
  assert.deepEqual(resumed.val, reference.val);
  assert.deepEqual(resumed.test, reference.test);
  assert.deepEqual(resumed.best, reference.best);
  const strip = (rs: MetricsRecord[]) => rs.map((r) => r.type === "epoch" ? { ...r, wall_s: 0 } : r);
  assert.deepEqual(strip(await readRecords(cut.path)), strip(await readRecords(whole.path)));
  const again = await train(tinyConfig(), whole.path, { quiet: true, resume: true });
  assert.equal(again.resumed, false, "a resume of a finished run trains nothing: it only re-evaluates");
  assert.deepEqual([again.val, again.test, again.steps], [reference.val, reference.test, reference.steps]);
  assert.ok(Math.abs(again.steps_per_s - again.steps / again.wall_time_s) < 1e-9, "steps_per_s over the whole run");
});

const torchConfig = (policy: string) =>
  tinyConfig({
    attention_mask: "torch",
    padding: "left",
    max_seq_len: 60,
    nan_policy: policy,
    epochs_per_stage: 1,
  });

Deno.test("train: nan_policy raise stops with a diagnosis, skip and zero count every batch they touch", async () => {
  await using raise = await tempDir();
  const raised = await train(torchConfig("raise"), raise.path, { quiet: true });
  assert.equal(raised.status, "diverged");
  assert.equal(raised.test, null);
  assert.equal(raised.first_nonfinite?.kind, "nan");
  assert.equal(raised.first_nonfinite?.op, "softmax");
  assert.equal(raised.first_nonfinite?.all_in_padding, true);

  await using skip = await tempDir();
  const skipped = await train(torchConfig("skip"), skip.path, { quiet: true });
  assert.ok(skipped.skipped_batches > 0);
  assert.equal(skipped.skipped_batches, skipped.nonfinite_batches);
  const skipRecords = (await readRecords(skip.path)).filter((r) => r.type === "step" && r.action === "skipped");
  assert.equal(skipRecords.length, skipped.skipped_batches);
});

Deno.test("train: nan_policy zero applies every patched batch, so the run completes and reports its patches", async () => {
  await using zero = await tempDir();
  const patched = await train({ ...torchConfig("zero"), epochs_per_stage: 2 }, zero.path, { quiet: true });
  assert.equal(patched.status, "completed"); // every batch non-finite stops `skip` runs only (nothing applied)
  assert.equal(patched.steps, 8);
  assert.equal(patched.patched_batches, 8);
  assert.equal(patched.nonfinite_batches, 8);
  assert.equal(patched.skipped_batches, 0);
  assert.notEqual(patched.test, null);
  assert.deepEqual(patched.eval_nonfinite, { val: 64, test: 64 });
  const epochs = (await readRecords(zero.path)).filter((r): r is EpochRecord => r.type === "epoch");
  assert.deepEqual(epochs.map((e) => e.patched_batches), [4, 4]);

  await using skip = await tempDir();
  const skipped = await train({ ...torchConfig("skip"), epochs_per_stage: 2 }, skip.path, { quiet: true });
  assert.equal(skipped.status, "diverged");
  assert.equal(skipped.steps, 4);
});

Deno.test("investigate: locates the softmax of fully masked queries under torch masking, nothing under safe", async () => {
  const torch = await investigate(tinyConfig({ attention_mask: "torch", max_seq_len: 60, investigate_steps: 2 }));
  const first = torch.first_nonfinite!;
  assert.equal(first.step, 0);
  assert.equal(first.phase, "forward");
  assert.equal(first.layer, "block0.attn");
  assert.equal(first.op, "softmax");
  assert.equal(first.all_in_padding, true);
  assert.ok(first.cell_count! > 0);
  assert.equal(first.blind_cells, first.cell_count);
  assert.match(torch.diagnosis, /0\/0 = NaN, which is the cause here/);
  assert.ok(torch.probes.some((p) => p.phase === "backward" && p.op === "param_grad"));

  const safe = await investigate(tinyConfig({ attention_mask: "safe", max_seq_len: 60, investigate_steps: 2 }));
  assert.equal(safe.first_nonfinite, null);
  assert.equal(safe.steps, 2);
  assert.ok(safe.probes.every((p) => p.nonfinite === 0));
});

Deno.test("train step: tensor count is flat across steps", async () => {
  const config = tinyConfig();
  const ctx = await prepareRun(config);
  const optimizer = new ModuleOptimizer(ctx.model.modules(), optimizerOptions(config), { totalSteps: 100 });
  const batches = [...trainBatches(ctx.dataset, config, epochRng(config.seed, "s", 0))];
  const counts: number[] = [];
  for (let i = 0; i < 8; i++) {
    const batch = batches[i % batches.length];
    batch.seed = stepSeed(config.seed, i);
    await trainStep(ctx.model, optimizer, batch, config, ["sasrec"], i);
    counts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  ctx.model.dispose();
  assert.deepEqual(counts.slice(2), Array(6).fill(counts[2]), `tensor counts ${counts}`);
});

Deno.test("train: Popularity needs no training and is evaluated once", async () => {
  await using out = await tempDir();
  const summary: RunSummary = await train(tinyConfig({ model: "pop" }), out.path, { quiet: true });
  assert.equal(summary.status, "completed");
  assert.equal(summary.steps, 0);
  assert.ok(summary.test!["HR@20"] > 0);
});

/** Runs `train` until `onEpoch` sees epoch `crashAt`, which throws (the checkpoint then holds epochs before it). */
async function crashAt(dir: string, epoch: number, config = tinyConfig()): Promise<void> {
  const crash = (r: EpochRecord) => {
    if (r.epoch === epoch) throw new Error("simulated crash");
  };
  await assert.rejects(train(config, dir, { quiet: true, onEpoch: crash }), /simulated crash/);
}

Deno.test("train: a failure after the run started is recorded in summary.json; an allocation failure names the settings", async () => {
  await using crashed = await tempDir();
  await crashAt(crashed.path, 1);
  const failed = await readJson<Partial<RunSummary>>(`${crashed.path}/summary.json`);
  assert.deepEqual([failed.status, failed.error], ["failed", "Error: simulated crash"]);

  await using oom = await tempDir();
  const allocation = () => {
    throw new RangeError("Array buffer allocation failed");
  };
  const error = await train(tinyConfig(), oom.path, { quiet: true, onEpoch: allocation }).catch((e) => e);
  assert.ok(error instanceof UserError, String(error));
  assert.equal(
    error.message,
    "out of memory in the wasm backend at batch_size 16 x max_seq_len 20 x hidden 16 x num_negatives 1 " +
      "(eval_batch_size 256, 80 items, model sasrec): lower batch_size/max_seq_len/num_negatives/eval_batch_size " +
      "(Array buffer allocation failed)",
  );
  const summary = await readJson<Partial<RunSummary>>(`${oom.path}/summary.json`);
  assert.deepEqual([summary.status, summary.error], ["failed", error.message]);
});

Deno.test("train: --resume refuses changed keys before writing anything and records the safe ones", async () => {
  await using ref = await tempDir();
  const reference = await train(tinyConfig(), ref.path, { quiet: true });
  await using run = await tempDir();
  await crashAt(run.path, 1);
  const before = await snapshot(run.path);
  for (const [changed, expect] of [[{ seed: 4 }, /seed 3 -> 4/], [{ sasrec_lr: 0.01 }, /sasrec_lr 0\.005 -> 0\.01/]]) {
    await assert.rejects(
      train(tinyConfig({ ...changed as Record<string, unknown>, patience: 6 }), run.path, { resume: true }),
      (e: Error) => e instanceof UserError && (expect as RegExp).test(e.message) && !e.message.includes("patience 5"),
    );
  }
  assert.deepEqual(await snapshot(run.path), before, "a refused resume changed the run directory");

  const saved = await readJson<{ trainer: { globalStep: number } }>(`${run.path}/checkpoint/state.json`);
  const resumed = await train(tinyConfig({ patience: 6, eval_batch_size: 32 }), run.path, {
    quiet: true,
    resume: true,
  });
  assert.deepEqual(resumed.resume_changes, [
    { key: "patience", from: 5, to: 6, at_step: saved.trainer.globalStep },
    { key: "eval_batch_size", from: 256, to: 32, at_step: saved.trainer.globalStep },
  ]);
  assert.deepEqual(resumed.test, reference.test); // neither key changes a number (patience 5 or 6 never stops 3 epochs)
  assert.match(await Deno.readTextFile(`${run.path}/config.yaml`), /^patience: 6$/m);

  await using empty = await tempDir();
  await assert.rejects(
    train(tinyConfig(), empty.path, { resume: true }),
    (e: Error) => e instanceof UserError && /nothing to resume.*drop --resume/.test(e.message),
  );
  assert.deepEqual([...Deno.readDirSync(empty.path)], []);
});

Deno.test("train: killed between the two renames of a checkpoint swap, --resume recovers and ends like an uninterrupted run", async () => {
  await using whole = await tempDir();
  const reference = await train(tinyConfig(), whole.path, { quiet: true });
  await using earlier = await tempDir();
  await crashAt(earlier.path, 1); // its checkpoint: after epoch 0
  await using cut = await tempDir();
  await crashAt(cut.path, 2); // its checkpoint: after epoch 1
  // The state replaceDirAtomic leaves between `rename(dir, old)` and `rename(tmp, dir)`: no checkpoint/, the previous
  // copy in .old-<tag> and the complete new one in .tmp-<tag>; the same for best/, plus a copy that never completed.
  const dir = (name: string) => `${cut.path}/${name}`;
  await Deno.rename(dir("checkpoint"), dir("checkpoint.tmp-0a1b2c3d"));
  await Deno.rename(`${earlier.path}/checkpoint`, dir("checkpoint.old-0a1b2c3d"));
  await Deno.mkdir(dir("checkpoint.tmp-99999999/weights"), { recursive: true });
  await Deno.rename(dir("best"), dir("best.tmp-4e5f6a7b"));

  const resumed = await train(tinyConfig(), cut.path, { quiet: true, resume: true });
  assert.equal(resumed.status, "completed");
  assert.deepEqual(resumed.recovered, [
    `recovered ${dir("checkpoint")} from ${dir("checkpoint.tmp-0a1b2c3d")} (an interrupted checkpoint swap)`,
    `recovered ${dir("best")} from ${dir("best.tmp-4e5f6a7b")} (an interrupted checkpoint swap)`,
  ]);
  assert.deepEqual(resumed.val, reference.val);
  assert.deepEqual(resumed.test, reference.test);
  assert.deepEqual(resumed.best, reference.best);
  const strip = (rs: MetricsRecord[]) => rs.map((r) => r.type === "epoch" ? { ...r, wall_s: 0 } : r);
  assert.deepEqual(strip(await readRecords(cut.path)), strip(await readRecords(whole.path)));
  const names = [...Deno.readDirSync(cut.path)].map((e) => e.name).sort();
  assert.deepEqual(names, ["best", "checkpoint", "config.yaml", "metrics.jsonl", "nan_report.json", "summary.json"]);
});

Deno.test("train: a file operation that fails mid-run is a user error naming the file, even when summary.json cannot be written", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/out`;
  const replaceByFile = () => {
    Deno.removeSync(out, { recursive: true });
    Deno.writeTextFileSync(out, "not a directory any more\n");
  };
  await assert.rejects(
    train(tinyConfig(), out, { quiet: true, onEpoch: replaceByFile }),
    (e: Error) =>
      e instanceof UserError &&
      e.message === `${out}/metrics.jsonl: cannot read: a component of the path is a file, not a directory ` +
          `(and the failure is not recorded: ${out}: cannot create directory: a file is there)`,
  );
  assert.equal(await Deno.readTextFile(out), "not a directory any more\n");
});
