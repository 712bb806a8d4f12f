import assert from "node:assert/strict";
import { loadConfig, parseConfigYaml, parseSet, resolveConfig } from "../src/config/load.ts";
import { CONFIG_KEYS, defaultConfig, LIMITS } from "../src/config/schema.ts";
import { MAX_SYNTHETIC_ITEMS } from "../src/data/synthetic.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";

async function writeYaml(dir: string, text: string): Promise<string> {
  const path = `${dir}/c.yaml`;
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("config: original flat keys load and --set overrides win", async () => {
  await using dir = await tempDir();
  const path = await writeYaml(
    dir.path,
    "sasrec_hidden_dim: 128\nsasrec_dropout: 0.1\nstages: [pretrain_sasrec, end_to_end]\nseed: 7\n",
  );
  const c = await loadConfig(path, ["sasrec_dropout=0", "attention_mask=torch", "stages=[end_to_end]"]);
  assert.equal(c.sasrec_hidden_dim, 128);
  assert.equal(c.sasrec_dropout, 0);
  assert.equal(c.attention_mask, "torch");
  assert.deepEqual(c.stages, ["end_to_end"]);
  assert.equal(c.seed, 7);
  assert.equal(c.backend, "wasm");
});

Deno.test("config: unknown key names file and suggests the nearest key", async () => {
  await using dir = await tempDir();
  const path = await writeYaml(dir.path, "sasrec_hiden_dim: 64\n");
  await assert.rejects(loadConfig(path), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /c\.yaml:1: unknown config key "sasrec_hiden_dim" \(did you mean "sasrec_hidden_dim"\?\)/);
    return true;
  });
  await assert.rejects(
    loadConfig(undefined, ["paddng=left"]),
    /--set paddng=left: unknown config key "paddng" \(did you mean "padding"\?\)/,
  );
});

Deno.test("config: wrong type / out of range name key, value and expectation", () => {
  assert.throws(
    () => resolveConfig({ sasrec_dropout: 1.5 }, "f.yaml"),
    /f\.yaml: key "sasrec_dropout" = 1\.5: .*(<=|less|0\.99)/i,
  );
  assert.throws(() => resolveConfig({ padding: "middle" }, "f.yaml"), /key "padding" = "middle": .*"left"/);
  assert.throws(() => resolveConfig({ batch_size: "big" }, "f.yaml"), /key "batch_size" = "big": .*number/);
});

Deno.test("config: YAML syntax error names file, line and column", () => {
  assert.throws(() => parseConfigYaml("seed: 1\nstages: [a, b\nx: 2\n", "bad.yaml"), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^bad\.yaml:\d+:\d+: YAML syntax error/);
    return true;
  });
});

Deno.test("config: UR4REC_DATA_DIR sets data_dir unless the file or --set does", async () => {
  Deno.env.set("UR4REC_DATA_DIR", "/some/where");
  try {
    assert.equal((await loadConfig(undefined)).data_dir, "/some/where");
    assert.equal((await loadConfig(undefined, ["data_dir=/x"])).data_dir, "/x");
  } finally {
    Deno.env.delete("UR4REC_DATA_DIR");
  }
});

Deno.test("config: UR4REC_BACKEND picks the backend unless the file or --set does; bad values are named", async () => {
  Deno.env.set("UR4REC_BACKEND", "cpu");
  try {
    assert.equal((await loadConfig(undefined)).backend, "cpu");
    assert.equal((await loadConfig(undefined, ["backend=wasm"])).backend, "wasm");
    Deno.env.set("UR4REC_BACKEND", "tpu");
    await assert.rejects(loadConfig(undefined), /key "backend" = "tpu"/);
  } finally {
    Deno.env.delete("UR4REC_BACKEND");
  }
});

Deno.test("config: every config in configs/ is valid and every key is documented", async () => {
  const docs = await Deno.readTextFile(new URL("../configs/README.md", import.meta.url));
  for (const key of CONFIG_KEYS) assert.ok(docs.includes(`\`${key}\``), `configs/README.md documents ${key}`);
  for await (const entry of Deno.readDir(new URL("../configs/", import.meta.url))) {
    if (!entry.name.endsWith(".yaml")) continue;
    await loadConfig(new URL(`../configs/${entry.name}`, import.meta.url).pathname);
  }
  assert.equal(defaultConfig().attention_mask, "safe");
});

Deno.test("config: an empty or comment-only file is an error, not the defaults", async () => {
  await using dir = await tempDir();
  for (const text of ["", "# only a comment\n\n", "---\n"]) {
    const path = await writeYaml(dir.path, text);
    await assert.rejects(loadConfig(path), /c\.yaml: the file is empty \(or only comments\); expected a YAML mapping/);
  }
  assert.throws(() => parseConfigYaml("- a\n- b\n", "l.yaml"), /^UserError: l\.yaml:1: expected a YAML mapping/);
});

Deno.test("config: errors about file values name the file and the key's line", async () => {
  await using dir = await tempDir();
  const path = await writeYaml(dir.path, "# comment\nseed: 1\n\nsasrec_dropout: 1.5\n");
  await assert.rejects(loadConfig(path), (e: Error) => {
    assert.equal(e.message, `${path}:4: key "sasrec_dropout" = 1.5: Too big: expected number to be <=0.99`);
    return true;
  });
  const nan = await writeYaml(dir.path, "seed: 1\nsasrec_lr: .nan\n");
  await assert.rejects(loadConfig(nan), /c\.yaml:2: key "sasrec_lr" = NaN: expected number, received NaN/);
  const inf = await writeYaml(dir.path, "grad_clip: .inf\n");
  await assert.rejects(loadConfig(inf), /c\.yaml:1: key "grad_clip" = Infinity: expected number, received Infinity/);
});

Deno.test("config: --set values are YAML: null and ~ are null, bad YAML and missing = are errors", async () => {
  assert.deepEqual(parseSet("max_users=null"), ["max_users", null]);
  assert.deepEqual(parseSet("llm_dir=~"), ["llm_dir", null]);
  assert.deepEqual(parseSet("data_dir=some dir/x"), ["data_dir", "some dir/x"]);
  assert.deepEqual(parseSet("stages=[end_to_end]"), ["stages", ["end_to_end"]]);
  assert.deepEqual(parseSet('seed="7"'), ["seed", "7"]);
  const nulls = await loadConfig(undefined, ["max_users=null", "llm_dir=null", "text_embeddings_path=~"]);
  assert.deepEqual([nulls.max_users, nulls.llm_dir, nulls.text_embeddings_path], [null, null, null]);
  assert.throws(() => parseSet("stages=[a, b"), /^UserError: --set stages=\[a, b: the value is not valid YAML/);
  assert.throws(() => parseSet("seed"), /^UserError: --set seed: expected key=value$/);
  assert.throws(() => parseSet("=3"), /^UserError: --set =3: expected key=value$/);
});

Deno.test("config: errors name the --set, the file line or the env var the value came from", async () => {
  await using dir = await tempDir();
  const path = await writeYaml(dir.path, "seed: 1\nmax_users: 10\n");
  await assert.rejects(
    loadConfig(path, ["data_dir=null"]),
    /^UserError: --set data_dir=null: key "data_dir" = null: expected string, received null$/,
  );
  await assert.rejects(
    loadConfig(path, ["max_users=0"]),
    /^UserError: --set max_users=0: key "max_users" = 0: Too small: expected number to be >=1$/,
  );
  await assert.rejects(
    loadConfig(path, [{ key: "synthetic_items", value: 5, source: "--items 5" }]),
    /^UserError: --items 5: key "synthetic_items" = 5: Too small/,
  );
  Deno.env.set("UR4REC_BACKEND", "tpu");
  try {
    await assert.rejects(loadConfig(path), /^UserError: UR4REC_BACKEND=tpu: key "backend" = "tpu": expected one of/);
  } finally {
    Deno.env.delete("UR4REC_BACKEND");
  }
});

Deno.test("config: cross-key rules are schema errors naming the key that was set", async () => {
  await using dir = await tempDir();
  const path = await writeYaml(dir.path, "model: sasrec\nsasrec_hidden_dim: 64\n");
  await assert.rejects(
    loadConfig(path, ["sasrec_num_heads=3"]),
    /^UserError: --set sasrec_num_heads=3: sasrec_num_heads = 3 must divide sasrec_hidden_dim = 64$/,
  );
  await assert.rejects(
    loadConfig(undefined, ["model=ur4rec", "retriever_output_dim=30"]),
    /^UserError: --set retriever_output_dim=30: moe_num_heads = 4 must divide retriever_output_dim = 30$/,
  );
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ text_encoder: "precomputed" }, /text_encoder: precomputed needs text_embeddings_path/],
    [
      { model: "bprmf", stages: ["pretrain_retriever"] },
      /model bprmf has no retriever, so stages \[pretrain_retriever\]/,
    ],
    [
      { sasrec_loss_weight: 0 },
      /^UserError: f\.yaml: stage pretrain_sasrec of model sasrec would have no loss term .*\(sasrec_loss_weight = 0\)$/,
    ],
    [{ model: "ur4rec", sasrec_loss_weight: 0 }, /stage pretrain_sasrec of model ur4rec would have no loss term/],
    [
      {
        model: "ur4rec",
        retriever_mode: "faithful",
        retriever_loss_weight: 0,
        stages: ["pretrain_sasrec", "joint_finetune"],
      },
      /stage joint_finetune of model ur4rec would have no loss term .*\(retriever_loss_weight = 0, fused_loss_weight = 0\)/,
    ],
  ];
  for (const [values, expected] of cases) assert.throws(() => resolveConfig(values, "f.yaml"), expected);
  // The same keys are fine where the rule does not apply.
  assert.equal(resolveConfig({ model: "pop", sasrec_num_heads: 3 }).sasrec_num_heads, 3);
  assert.equal(
    resolveConfig({ model: "ur4rec", sasrec_loss_weight: 0, fused_loss_weight: 0.5 }).fused_loss_weight,
    0.5,
  );
  assert.equal(resolveConfig({ model: "ur4rec", sasrec_loss_weight: 0, stages: ["end_to_end"] }).sasrec_loss_weight, 0);
  // In fixed mode the MoE balance term is a loss of its own.
  const balance = { model: "ur4rec", retriever_loss_weight: 0, stages: ["pretrain_retriever"] };
  assert.equal(resolveConfig(balance).moe_balance_weight, 0.01);
  assert.throws(() => resolveConfig({ ...balance, moe_balance_weight: 0 }), /stage pretrain_retriever of model ur4rec/);
});

Deno.test("config: resource bounds reject what overflows the backend, at the documented limits", () => {
  const bounds: [string, number, number][] = [
    ["max_seq_len", LIMITS.maxSeqLen, 5000],
    ["num_negatives", LIMITS.numNegatives, 100000],
    ["sasrec_init_std", 1, 1e39],
    ["sasrec_hidden_dim", LIMITS.width, LIMITS.width + 1],
    ["batch_size", LIMITS.batch, LIMITS.batch + 1],
    ["synthetic_items", MAX_SYNTHETIC_ITEMS, MAX_SYNTHETIC_ITEMS + 1],
    ["softmax_temperature", LIMITS.maxTemperature, 1e6],
    ["retriever_temperature", LIMITS.minTemperature, 1e-30],
  ];
  // model pop: the field bounds alone (the step-tensor rule, tested below, applies to the trained models).
  for (const [key, ok, bad] of bounds) {
    assert.equal(resolveConfig({ model: "pop", [key]: ok })[key as keyof ReturnType<typeof defaultConfig>], ok);
    assert.throws(
      () => resolveConfig({ [key]: bad }, "f.yaml"),
      new RegExp(`^UserError: f\\.yaml: key "${key}" = ${String(bad).replace(/[.+]/g, "\\$&")}: Too`),
    );
  }
  assert.throws(() => resolveConfig({ sasrec_lr: 0 }, "f.yaml"), /key "sasrec_lr" = 0: Too small/);
});

Deno.test("config: step tensors beyond the measured wasm limits are rejected, naming the key that was set", async () => {
  // Measured on wasm: attention 32 × 1 × 1024² runs, 64 × 1 × 1024² crashes; embeddings 64 × 50 × 321 × 64 run.
  const fits = ["max_seq_len=1024", "batch_size=32", "eval_batch_size=32"];
  assert.equal((await loadConfig(undefined, fits)).max_seq_len, 1024);
  await assert.rejects(
    loadConfig(undefined, [...fits, "eval_batch_size=64"]),
    /^UserError: --set max_seq_len=1024: a step would hold 67,108,864 floats of attention scores: max\(batch_size, eval_batch_size\) 64 × sasrec_num_heads 1 × max_seq_len² 1024², more than the 33,554,432 /,
  );
  assert.equal((await loadConfig(undefined, ["num_negatives=320", "batch_size=64"])).num_negatives, 320);
  await assert.rejects(
    loadConfig(undefined, ["batch_size=64", "num_negatives=1000"]),
    /^UserError: --set num_negatives=1000: a step would hold 205,004,800 floats of item embeddings: batch_size 64 × max_seq_len 50 × \(1 \+ num_negatives 1000\) × sasrec_hidden_dim 64, more than the 67,108,864 /,
  );
  // pop trains nothing, so nothing is estimated.
  assert.equal(resolveConfig({ model: "pop", num_negatives: 1000 }).num_negatives, 1000);
});

Deno.test("config: several bad keys are one line that counts the others", () => {
  assert.throws(
    () => resolveConfig({ seed: -1, batch_size: 0, padding: "up" }, "f.yaml"),
    (e: Error) => {
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, /^f\.yaml: key "seed" = -1: Too small.* \(and 2 more: padding, batch_size\)$/);
      return true;
    },
  );
});
