/** The residual recipe: UR4Rec's stage 1 is exactly a `model: sasrec` run, and the run can only improve on it. */
import assert from "node:assert/strict";
import { loadConfig, resolveConfig } from "../src/config/load.ts";
import { UserError } from "../src/util/errors.ts";
import type { EpochRecord, MetricsRecord, RunSummary, StepRecord } from "../src/run/records.ts";
import { train } from "../src/train/trainer.ts";
import { tempDir } from "./helpers.ts";

const dataDir = await Deno.makeTempDir({ prefix: "ur4rec-residual-data-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

/** One config for both models: only `model` differs (same stages, so the same planned steps and schedules). */
function recipe(model: "sasrec" | "ur4rec") {
  return resolveConfig({
    model,
    dataset: "synthetic",
    data_dir: dataDir,
    synthetic_users: 48,
    synthetic_items: 60,
    max_seq_len: 12,
    sasrec_hidden_dim: 16,
    retriever_output_dim: 16,
    text_embedding_dim: 16,
    sasrec_dropout: 0.2,
    batch_size: 16,
    num_negatives: 2,
    epochs_per_stage: 4,
    patience: 5,
    sasrec_lr: 0.005,
    retriever_lr: 0.01,
    log_every: 1,
    seed: 7,
    fusion_method: "residual",
    fused_loss_weight: 0.5,
    stages: ["pretrain_sasrec", "pretrain_retriever", "train_fusion"],
  }, "test");
}

async function records(dir: string): Promise<MetricsRecord[]> {
  return (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("residual recipe: stage 1 of UR4Rec equals the model: sasrec run exactly; the best checkpoint is no worse", async () => {
  await using a = await tempDir();
  await using b = await tempDir();
  const sasrec: RunSummary = await train(recipe("sasrec"), a.path, { quiet: true });
  const ur4rec: RunSummary = await train(recipe("ur4rec"), b.path, { quiet: true });
  const [sasRecords, urRecords] = [await records(a.path), await records(b.path)];
  const stage1 = (rs: MetricsRecord[]) => rs.filter((r) => r.stage === "pretrain_sasrec");
  const epochs = (rs: MetricsRecord[]) => stage1(rs).filter((r): r is EpochRecord => r.type === "epoch");
  const steps = (rs: MetricsRecord[]) => stage1(rs).filter((r): r is StepRecord => r.type === "step");
  assert.equal(epochs(sasRecords).length, 4);
  assert.deepEqual(epochs(urRecords).map((r) => r.val), epochs(sasRecords).map((r) => r.val));
  assert.deepEqual(epochs(urRecords).map((r) => r.train_loss), epochs(sasRecords).map((r) => r.train_loss));
  assert.ok(steps(sasRecords).length > 0);
  assert.deepEqual(steps(urRecords).map((r) => r.loss), steps(sasRecords).map((r) => r.loss), "sasrec term and total");
  assert.deepEqual(Object.keys(steps(urRecords)[0].grad_norm), ["sasrec"], "only SASRec trains in stage 1");
  // model: sasrec skips the other stages; UR4Rec trains the retriever alone, then the gate on the fused loss alone
  assert.deepEqual(new Set(sasRecords.map((r) => r.stage)), new Set(["pretrain_sasrec"]));
  const later = (stage: string) => urRecords.filter((r): r is StepRecord => r.type === "step" && r.stage === stage);
  assert.deepEqual(Object.keys(later("pretrain_retriever")[0].loss).sort(), ["moe_balance", "retriever", "total"]);
  assert.deepEqual(Object.keys(later("train_fusion")[0].loss).sort(), ["fused", "total"]);
  assert.deepEqual(Object.keys(later("train_fusion")[0].grad_norm), ["fusion"]);
  assert.ok(ur4rec.best!.value >= sasrec.best!.value, `${ur4rec.best!.value} >= ${sasrec.best!.value}`);
  // the retriever stage stops on the retriever's own validation; the fused one cannot move while g = 0
  const epochsOf = (stage: string) =>
    urRecords.filter((r): r is EpochRecord => r.type === "epoch" && r.stage === stage);
  // stage 1 hands its best validation's weights on (not its last): at g = 0 the fused validation of the retriever
  // stage is that best SASRec's
  const validated = epochsOf("pretrain_sasrec").filter((r) => r.val);
  const bestStage1 = validated.reduce((a, b) => b.val!["NDCG@10"] > a.val!["NDCG@10"] ? b : a).val;
  assert.ok(validated.some((r) => r.val!["NDCG@10"] !== bestStage1!["NDCG@10"]), "the best is not every epoch");
  assert.ok(epochsOf("pretrain_retriever").some((r) => r.val));
  for (const r of epochsOf("pretrain_retriever").filter((r) => r.val)) {
    assert.deepEqual(r.val, bestStage1);
    assert.ok(r.stage_val && r.stage_val["NDCG@10"] !== bestStage1!["NDCG@10"], "the retriever's own validation");
  }
  assert.ok(epochsOf("train_fusion").every((r) => r.stage_val === undefined));
});

Deno.test("residual recipe config: loo.yaml's setup with the residual fusion and the 40-epoch grid schedule", async () => {
  const configs = new URL("../configs/results/", import.meta.url).pathname;
  const base = await loadConfig(`${configs}loo.yaml`);
  const recipe = await loadConfig(`${configs}loo_residual.yaml`);
  const changed = Object.keys(recipe).filter((k) =>
    JSON.stringify(recipe[k as keyof typeof recipe]) !== JSON.stringify(base[k as keyof typeof base])
  );
  assert.deepEqual(changed.sort(), ["epochs_per_stage", "eval_every", "fused_loss_weight", "fusion_method", "stages"]);
  assert.deepEqual(recipe.stages, ["pretrain_sasrec", "pretrain_retriever", "train_fusion"]);
  assert.equal((await loadConfig(`${configs}loo_residual.yaml`, ["model=sasrec"])).model, "sasrec");
});

Deno.test("residual recipe config: train_fusion without a trainable fusion or without the fused loss is a user error", () => {
  const stages = ["pretrain_sasrec", "train_fusion"];
  assert.throws(
    () => resolveConfig({ model: "ur4rec", stages, fused_loss_weight: 1 }, "r.yaml"),
    (e: Error) =>
      e instanceof UserError &&
      e.message === "r.yaml: stage train_fusion trains the fusion gate, but fusion_method = weighted has none " +
          "(use learned or residual)",
  );
  assert.throws(
    () => resolveConfig({ model: "ur4rec", stages, fusion_method: "residual" }, "r.yaml"),
    (e: Error) =>
      e instanceof UserError &&
      e.message === "r.yaml: stage train_fusion of model ur4rec would have no loss term with a non-zero weight " +
          "(fused_loss_weight = 0) (and 1 more: fusion_method)", // the gate would never train either (next test)
  );
  assert.equal(resolveConfig({ model: "sasrec", stages }, "r.yaml").model, "sasrec", "other models skip the stage");
});
