import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createModel } from "../src/models/factory.ts";
import { Rng } from "../src/rng.ts";
import { batchLayout, diagnose, probeStep } from "../src/train/locator.ts";
import { onBackend } from "./helpers.ts";
import { tinyConfig, tinyDataset, tinyTexts, trainBatch, variable } from "./models_fixtures.ts";
import type { Config } from "../src/config/schema.ts";
import type { TextVectors } from "../src/data/types.ts";
import type { Recommender } from "../src/models/types.ts";

const SEQUENCES = [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6, 7, 8], [2, 3, 9, 10, 11, 12], [5, 3, 1, 7, 9, 11]];

/** Probes step 0 of `model` and returns the first non-finite record and the diagnosis. */
async function probe(model: Recommender, config: Config, texts?: TextVectors) {
  const batch = trainBatch(SEQUENCES, { seqLen: config.max_seq_len, numItems: 12 });
  const active = Object.keys(model.modules());
  const { first } = await probeStep(model, batch, config, active, { step: 0, stage: config.stages[0] }, texts);
  return { first, text: diagnose(first, batchLayout(batch, config), 1) };
}

function sasrec(config: Config): Recommender {
  return createModel(config, tinyDataset(), new Rng(config.seed).fork("init"));
}

Deno.test("locator: sasrec_init_std 1e39 (infinite in float32) names the embeddings and the key, not an addition", async () => {
  await onBackend("cpu", async () => {
    const config = tinyConfig({ sasrec_init_std: 1e39 });
    const model = sasrec(config);
    try {
      const { first, text } = await probe(model, config);
      const names = first?.suspects?.map((s) => `${s.kind} ${s.name} ${s.problem}`);
      assert.deepEqual(names?.slice(0, 2), ["parameter sasrec/item_emb inf", "parameter sasrec/pos_emb inf"]);
      assert.match(text, /^Before any op ran, parameter "sasrec\/item_emb" already held \d+ infinite value/);
      assert.match(text, /sasrec_init_std = 1e\+39/);
      assert.match(text, /not its cause/);
    } finally {
      model.dispose();
    }
  });
});

Deno.test("locator: a parameter overwritten with NaN or with huge finite values is named as the cause", async () => {
  await onBackend("cpu", async () => {
    const config = tinyConfig();
    const model = sasrec(config);
    try {
      const pos = variable(model, "sasrec/pos_emb");
      const saved = pos.clone();
      pos.assign(tf.fill(pos.shape, NaN));
      const nan = await probe(model, config);
      assert.deepEqual(nan.first?.suspects?.map((s) => [s.name, s.problem, s.nonfinite]), [
        ["sasrec/pos_emb", "nan", pos.size],
      ]);
      assert.match(nan.text, /parameter "sasrec\/pos_emb" already held 48 non-finite value\(s\), NaN among them/);

      pos.assign(saved);
      saved.dispose();
      const emb = variable(model, "sasrec/item_emb");
      emb.assign(tf.fill(emb.shape, 3e38)); // finite in float32, but times sqrt(d) = 2.83 it is not
      const huge = await probe(model, config);
      assert.ok(huge.first !== null, "3e38 embeddings overflow the sqrt(d) scaling");
      assert.deepEqual(huge.first.suspects?.map((s) => [s.name, s.problem]), [["sasrec/item_emb", "huge"]]);
      assert.match(huge.text, /"sasrec\/item_emb" already held values up to 3\.00e\+38 in magnitude/);
    } finally {
      model.dispose();
    }
  });
});

Deno.test("locator: a NaN row of the text vectors is named with its row (input, not the retriever)", async () => {
  await onBackend("cpu", async () => {
    const config = tinyConfig({ model: "ur4rec", stages: ["pretrain_retriever"] });
    const texts = tinyTexts(4, 12, 5);
    texts.item.fill(NaN, 3 * 5, 4 * 5); // item id 3
    const model = createModel(config, tinyDataset(), new Rng(1).fork("init"), texts);
    try {
      const { first, text } = await probe(model, config, texts);
      assert.deepEqual(first?.suspects?.map((s) => [s.kind, s.name, s.problem, s.rows]), [
        ["input", "texts.item", "nan", [3]],
      ]);
      assert.match(text, /input "texts\.item" already held 5 non-finite value\(s\), NaN among them in rows \[3\]/);
      assert.match(text, /made by the TF-IDF text encoder/);
    } finally {
      model.dispose();
    }
  });
});

Deno.test("locator: finite parameters and inputs give no suspects (torch-mask NaN keeps its op diagnosis)", async () => {
  await onBackend("cpu", async () => {
    const config = tinyConfig({ attention_mask: "torch", max_seq_len: 8 });
    const model = sasrec(config);
    try {
      const { first, text } = await probe(model, config);
      assert.equal(first?.op, "softmax");
      assert.equal(first?.suspects, undefined);
      assert.match(text, /so this op produced the first NaN/);
    } finally {
      model.dispose();
    }
  });
});
