import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { resolveConfig } from "../src/config/load.ts";
import {
  bprMfOptions,
  evalOptions,
  fusionOptions,
  idLossWeight,
  lossOptions,
  moduleLearningRate,
  optimizerOptions,
  retrieverOptions,
  sasRecOptions,
} from "../src/config/resolve.ts";
import { createModel } from "../src/models/factory.ts";
import { Rng } from "../src/rng.ts";
import { totalLoss } from "../src/train/losses.ts";
import { ModuleOptimizer } from "../src/train/optimizer.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose } from "./helpers.ts";
import { tinyDataset } from "./models_fixtures.ts";

await initBackend("cpu");

const SHARED = {
  model: "bprmf",
  loss: "bpr_softplus",
  sasrec_hidden_dim: 8,
  sasrec_init_std: 0.1,
  sasrec_lr: 0.004,
  sasrec_loss_weight: 0.7,
};

Deno.test("bprmf keys: unset, BPR-MF takes the sasrec_* values, as the original's configs expect", () => {
  const c = resolveConfig(SHARED);
  assert.deepEqual(bprMfOptions(c), { dim: 8, initStd: 0.1 });
  assert.deepEqual(idLossWeight(c), { key: "sasrec_loss_weight", value: 0.7 });
  assert.deepEqual(moduleLearningRate(c, "bprmf"), { key: "sasrec_lr", value: 0.004 });
  assert.equal(moduleLearningRate(c, "attention"), undefined);
});

Deno.test("bprmf keys: set, they size, initialise, step and weigh BPR-MF alone", () => {
  const own = { bprmf_dim: 6, bprmf_init_std: 0.3, bprmf_lr: 0.02, bprmf_loss_weight: 2 };
  const c = resolveConfig({ ...SHARED, ...own });
  assert.deepEqual(bprMfOptions(c), { dim: 6, initStd: 0.3 });
  assert.deepEqual(idLossWeight(c), { key: "bprmf_loss_weight", value: 2 });
  assert.equal(lossOptions(c).idWeight, 2);
  assert.equal(lossOptions({ ...c, model: "sasrec" }).idWeight, 0.7);
  assert.deepEqual(moduleLearningRate(c, "bprmf"), { key: "bprmf_lr", value: 0.02 });
  assert.deepEqual(moduleLearningRate(c, "sasrec"), { key: "sasrec_lr", value: 0.004 });
  const ds = tinyDataset(12, 4);
  const model = createModel(c, ds, new Rng(1));
  // user table 4 x 6 + item table (12 + 1) x 6
  assert.deepEqual(model.parameterCounts(), { bprmf: 4 * 6 + 13 * 6 });
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(c));
  assert.equal(optimizer.learningRate("bprmf", 0), 0.02);
  tf.tidy(() => {
    const scores = {
      sasrec: { pos: tf.tensor2d([[1, 3]]), neg: tf.tensor3d([[[0], [0]]]), mask: tf.tensor2d([[1, 1]]) },
    };
    const term = (Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(-3))) / 2; // mean softplus(neg - pos)
    assertClose([totalLoss(scores, lossOptions(c)).total.dataSync()[0]], [2 * term], 1e-5, "bprmf_loss_weight 2");
    // a SASRec model ignores bprmf_loss_weight
    const sasrec = resolveConfig({ ...SHARED, ...own, model: "sasrec" });
    assertClose(
      [totalLoss(scores, lossOptions(sasrec)).total.dataSync()[0]],
      [0.7 * term],
      1e-5,
      "sasrec_loss_weight 0.7",
    );
  });
  model.dispose();
});

Deno.test("bprmf keys: a zero BPR-MF loss weight is named by its own key, bounds apply", () => {
  assert.throws(
    () => resolveConfig({ ...SHARED, bprmf_loss_weight: 0 }),
    (e: Error) => e instanceof UserError && /stage pretrain_sasrec .*\(bprmf_loss_weight = 0\)/.test(e.message),
  );
  assert.throws(() => resolveConfig({ ...SHARED, bprmf_dim: 0 }), /key "bprmf_dim" = 0: Too small/);
  assert.throws(
    () => resolveConfig({ ...SHARED, bprmf_dim: 4096, batch_size: 128, max_seq_len: 200, num_negatives: 100 }),
    /item embeddings: .* bprmf_dim 4096/,
  );
});

Deno.test("fusion options: the flat keys resolved into unprefixed fields", () => {
  const c = resolveConfig({ model: "ur4rec", fusion_method: "learned", sasrec_weight: 0.3, retriever_weight: 0.9 });
  assert.deepEqual(fusionOptions({ ...c, max_seq_len: 20, sasrec_hidden_dim: 16 }), {
    method: "learned",
    weights: [0.3, 0.9],
    maxSeqLen: 20,
    stateDim: 16,
  });
});

Deno.test("sasrec options: the sasrec_* keys unprefixed; ffn width d and text use none when their keys are null", () => {
  const c = resolveConfig({
    model: "sasrec",
    sasrec_hidden_dim: 12,
    sasrec_num_blocks: 3,
    sasrec_num_heads: 4,
    sasrec_dropout: 0.25,
    sasrec_init_std: 0.05,
    max_seq_len: 7,
  });
  assert.deepEqual(sasRecOptions(c), {
    hiddenDim: 12,
    numBlocks: 3,
    numHeads: 4,
    dropout: 0.25,
    initStd: 0.05,
    ffnDim: 12,
    attentionMask: c.attention_mask,
    norm: c.norm,
    embScale: c.emb_scale,
    statePosition: c.state_position,
    nanToZero: c.nan_to_zero,
    maxSeqLen: 7,
    textUse: "none",
  });
  const set = sasRecOptions(resolveConfig({ model: "sasrec", sasrec_ffn_dim: 20, text_use: "side_feature" }));
  assert.equal(set.ffnDim, 20);
  assert.equal(set.textUse, "side_feature");
});

Deno.test("retriever options: the retriever_* and moe_* keys unprefixed; user_text none drops the user's own text", () => {
  const keys = {
    retriever_mode: "faithful",
    retriever_output_dim: 24,
    moe_num_heads: 3,
    moe_dropout: 0.3,
    moe_num_proxies: 5,
    retriever_temperature: 0.5,
    router_temperature: 2,
    moe_balance_weight: 0.25,
  };
  assert.deepEqual(retrieverOptions(resolveConfig({ model: "ur4rec", ...keys, user_text: "template" })), {
    mode: "faithful",
    outputDim: 24,
    numHeads: 3,
    dropout: 0.3,
    numProxies: 5,
    temperature: 0.5,
    routerTemperature: 2,
    balanceWeight: 0.25,
    useUserText: true,
  });
  assert.equal(retrieverOptions(resolveConfig({ model: "ur4rec", ...keys, user_text: "none" })).useUserText, false);
});

Deno.test("optimizer options: a base rate per module (bprmf_lr else sasrec_lr; fusion at retriever_lr) and the schedule", () => {
  const keys = {
    ...SHARED,
    retriever_lr: 0.03,
    weight_decay: 0.1,
    grad_clip: 5,
    lr_schedule: "cosine",
    warmup_steps: 9,
  };
  assert.deepEqual(optimizerOptions(resolveConfig({ ...keys, cosine_t_max: 40 })), {
    learningRates: { sasrec: 0.004, bprmf: 0.004, retriever: 0.03, fusion: 0.03 },
    weightDecay: 0.1,
    gradClip: 5,
    schedule: { kind: "cosine", warmupSteps: 9, cosineTMax: 40 },
  });
  assert.equal(optimizerOptions(resolveConfig({ ...keys, bprmf_lr: 0.5 })).learningRates.bprmf, 0.5);
});

Deno.test("eval options: eval_protocol and tie_policy unprefixed", () => {
  const c = resolveConfig({ model: "sasrec", eval_protocol: "sampled100", tie_policy: "average" });
  assert.deepEqual(evalOptions(c), { protocol: "sampled100", tiePolicy: "average" });
});
