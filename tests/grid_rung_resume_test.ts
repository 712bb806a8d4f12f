/**
 * The trainer side of early termination: a run that used up its epoch budget, resumed with a larger
 * `epochs_per_stage` (the next rung), continues its stage and ends exactly like a run given the larger budget.
 */
import assert from "node:assert/strict";
import { resolveConfig } from "../src/config/load.ts";
import type { MetricsRecord } from "../src/run/records.ts";
import { train } from "../src/train/trainer.ts";
import { tempDir } from "./helpers.ts";

Deno.test("rung resume: 1 epoch, then --resume with epochs_per_stage 3 = a straight 3-epoch run", async () => {
  await using data = await tempDir();
  await using straight = await tempDir();
  await using rungs = await tempDir();
  const config = (epochs: number) =>
    resolveConfig({
      dataset: "synthetic",
      data_dir: data.path,
      synthetic_users: 64,
      synthetic_items: 80,
      max_seq_len: 20,
      sasrec_hidden_dim: 16,
      batch_size: 16,
      epochs_per_stage: epochs,
      sasrec_lr: 0.005,
      seed: 5,
    }, "test");
  const reference = await train(config(3), straight.path, { quiet: true });
  const first = await train(config(1), rungs.path, { quiet: true });
  assert.equal(first.steps * 3, reference.steps, "the first rung trained one epoch of three");
  const continued = await train(config(3), rungs.path, { quiet: true, resume: true });
  assert.equal(continued.resumed, true);
  assert.equal(continued.steps, reference.steps);
  assert.deepEqual(continued.val, reference.val);
  assert.deepEqual(continued.test, reference.test);
  assert.deepEqual(continued.best, reference.best);
  const records = async (dir: string) =>
    (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((line) => {
      const record = JSON.parse(line) as MetricsRecord;
      return record.type === "epoch" ? { ...record, wall_s: 0 } : record;
    });
  assert.deepEqual(await records(rungs.path), await records(straight.path));

  // Resumed with the same budget, a finished run trains nothing more.
  const same = await train(config(3), rungs.path, { quiet: true, resume: true });
  assert.equal(same.steps, reference.steps);
  assert.deepEqual(same.test, reference.test);
});
