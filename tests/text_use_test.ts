/** `text_use`: which models each way of using texts applies to, defaults, and texts loaded for SASRec when needed. */
import assert from "node:assert/strict";
import { resolveConfig } from "../src/config/load.ts";
import { stableName } from "../src/models/params.ts";
import { effectiveTextUse } from "../src/models/text_features.ts";
import { prepareRun } from "../src/train/run.ts";
import { UserError } from "../src/util/errors.ts";

const dataDir = await Deno.makeTempDir({ prefix: "ur4rec-text-use-data-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

const tiny = (values: Record<string, unknown>) =>
  resolveConfig({
    dataset: "synthetic",
    data_dir: dataDir,
    synthetic_users: 24,
    synthetic_items: 30,
    max_seq_len: 8,
    sasrec_hidden_dim: 8,
    text_embedding_dim: 16,
    backend: "cpu",
    ...values,
  }, "t.yaml");

Deno.test("text_use: null keeps each model's own use; a value a model cannot take is a user error naming both", () => {
  assert.deepEqual(
    (["sasrec", "ur4rec", "pop", "bprmf"] as const).map((model) => effectiveTextUse(tiny({ model }))),
    ["none", "retriever_fusion", "none", "none"],
  );
  assert.equal(effectiveTextUse(tiny({ model: "sasrec", text_use: "side_feature" })), "side_feature");
  const cases: [string, string, string][] = [
    ["sasrec", "retriever_fusion", "text_use = retriever_fusion applies to model ur4rec, not model = sasrec"],
    ["ur4rec", "embedding_init", "text_use = embedding_init applies to model sasrec, not model = ur4rec"],
    ["ur4rec", "none", "text_use = none applies to model sasrec | pop | bprmf, not model = ur4rec"],
    ["bprmf", "side_feature", "text_use = side_feature applies to model sasrec, not model = bprmf"],
  ];
  for (const [model, textUse, message] of cases) {
    assert.throws(
      () => tiny({ model, text_use: textUse }),
      (e: Error) => e instanceof UserError && e.message === `t.yaml: ${message}`,
    );
  }
});

Deno.test("text_use: prepareRun loads the item texts for SASRec only when it uses them", async () => {
  for (const [textUse, loads] of [[null, false], ["none", false], ["embedding_init", true], ["side_feature", true]]) {
    const ctx = await prepareRun(tiny({ model: "sasrec", text_use: textUse }));
    assert.equal(ctx.texts !== undefined, loads, String(textUse));
    if (ctx.texts) assert.equal(ctx.texts.item.length, (ctx.dataset.numItems + 1) * 16);
    const names = ctx.model.modules().sasrec.map(stableName);
    assert.equal(names.includes("sasrec/text_side/w"), textUse === "side_feature", String(textUse));
    ctx.model.dispose();
  }
});
