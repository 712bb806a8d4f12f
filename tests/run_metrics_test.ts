import assert from "node:assert/strict";
import { join } from "node:path";
import { epochRecordsOf, readMetrics, stepRecordsOf } from "../src/run/metrics.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";

const step = {
  type: "step",
  stage: "pretrain_sasrec",
  epoch: 0,
  step: 0,
  global_step: 0,
  loss: { total: null },
  grad_norm: { sasrec: 1.5 },
  lr: { sasrec: 0.001 },
  nonfinite: { loss: 1, grads: 0 },
  action: "skipped",
};
const epoch = { type: "epoch", stage: "pretrain_sasrec", epoch: 0, global_step: 1, train_loss: 0.7, val: null };

Deno.test("readMetrics reads step and epoch records in order and skips blank lines", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "metrics.jsonl"), `${JSON.stringify(step)}\n\n${JSON.stringify(epoch)}\n`);
  const records = await readMetrics(dir.path);
  assert.deepEqual(records.map((r) => r.type), ["step", "epoch"]);
  assert.equal(stepRecordsOf(records)[0].loss.total, null);
  assert.equal(epochRecordsOf(records)[0].train_loss, 0.7);
});

Deno.test("readMetrics names the file and line of a bad record, and a missing file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "metrics.jsonl");
  await assert.rejects(readMetrics(dir.path), (e: Error) => e instanceof UserError && e.message.includes("not found"));
  await Deno.writeTextFile(path, `${JSON.stringify(step)}\n{"type": "other"}\n`);
  await assert.rejects(
    readMetrics(dir.path),
    (e: Error) => e instanceof UserError && e.message.startsWith(`${path}:2:`),
  );
  await Deno.writeTextFile(path, `${JSON.stringify(step)}\n{oops\n`);
  await assert.rejects(readMetrics(dir.path), (e: Error) => e instanceof UserError && /:2: not JSON/.test(e.message));
});
