import assert from "node:assert/strict";
import { type Cell, cellId, expandGrid, loadGrid } from "../src/experiments/grid.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";

const grids = new URL("../configs/grids/", import.meta.url).pathname;

async function writeGrid(dir: string, text: string, name = "g.yaml"): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("grid: nan_ablation expands to 16 cells x 3 seeds = 48 runs on top of nan_repro.yaml", async () => {
  const grid = await loadGrid(`${grids}nan_ablation.yaml`);
  const cells = expandGrid(grid);
  assert.equal(cells.length, 48);
  assert.equal(new Set(cells.map((c) => c.id)).size, 48);
  const configs = new Set(cells.map((c) => JSON.stringify({ ...c.values, seed: 0 })));
  assert.equal(configs.size, 16);
  assert.deepEqual([...new Set(cells.map((c) => c.config.seed))].sort(), [1, 2, 3]);
  const cell = cells.find((c) => c.id.startsWith("attention_mask=safe,loss=bpr_softplus,sasrec_dropout=0,"))!;
  assert.equal(cell.config.attention_mask, "safe");
  assert.equal(cell.config.loss, "bpr_softplus");
  assert.equal(cell.config.sasrec_dropout, 0);
  // Keys the grid does not vary come from ../nan_repro.yaml.
  assert.equal(cell.config.padding, "left");
  assert.equal(cell.config.dataset, "ml-100k");
  assert.equal(cell.config.state_position, "stale");
});

Deno.test("grid: the smoke and dropout/init grids expand (16 and 4 x 3 x 3 = 36)", async () => {
  const smoke = expandGrid(await loadGrid(`${grids}nan_ablation_smoke.yaml`));
  assert.equal(smoke.length, 16);
  assert.ok(smoke.every((c) => c.config.dataset === "synthetic" && c.config.model === "sasrec"));
  const dropoutInit = expandGrid(await loadGrid(`${grids}dropout_init.yaml`));
  assert.equal(dropoutInit.length, 36);
  assert.ok(dropoutInit.every((c) => c.config.attention_mask === "safe" && c.config.retriever_mode === "fixed"));
});

Deno.test("grid: ties_loo and texts_sampled vary only their axes and protocol from texts_loo's SASRec cells", async () => {
  const texts = expandGrid(await loadGrid(`${grids}texts_loo.yaml`));
  assert.equal(texts.length, 23); // 5 groups x 5 seeds, the leak (shipped) on seeds 1-3
  const baseline = texts.filter((c) => c.config.model === "sasrec" && c.config.text_use === "none");
  assert.deepEqual(baseline.map((c) => c.config.seed), [1, 2, 3, 4, 5]);
  const twin = (seed: number) => baseline.find((c) => c.config.seed === seed)!.config;
  const ties = expandGrid(await loadGrid(`${grids}ties_loo.yaml`));
  assert.equal(ties.length, 6);
  assert.deepEqual(new Set(ties.map((c) => c.config.tie_order)), new Set(["item_id", "shuffle"]));
  for (const cell of ties) assert.deepEqual({ ...cell.config, tie_order: null }, twin(cell.config.seed), cell.id);
  // texts_sampled leaves text_use to the model's own default (null), texts_loo names it
  const named = (c: Cell) => ({ ...c.config, text_use: c.config.model === "sasrec" ? "none" : "retriever_fusion" });
  const sampled = expandGrid(await loadGrid(`${grids}texts_sampled.yaml`));
  assert.equal(sampled.length, 10);
  const protocol = { split: "original", eval_protocol: "sampled100", tie_policy: "optimistic" };
  for (const cell of sampled.filter((c) => c.config.model === "sasrec")) {
    assert.deepEqual(named(cell), { ...twin(cell.config.seed), ...protocol }, cell.id);
  }
  const ur4rec = texts.find((c) => c.config.model === "ur4rec" && c.config.user_text === "leak_free")!.config;
  const sampledUr4rec = sampled.find((c) => c.config.model === "ur4rec" && c.config.seed === ur4rec.seed)!;
  assert.deepEqual(named(sampledUr4rec), { ...ur4rec, ...protocol });
});

Deno.test("grid: cell ids are pinned, readable and independent of key order", () => {
  const values = { sasrec_init_std: 0.5, seed: 1, loss: "bpr_naive", attention_mask: "torch", sasrec_dropout: 0.1 };
  const id = "attention_mask=torch,loss=bpr_naive,sasrec_dropout=0.1,sasrec_init_std=0.5,seed=1-6640eaff";
  assert.equal(cellId(values), id);
  const reordered = Object.fromEntries(Object.entries(values).reverse());
  assert.equal(cellId(reordered), id);
  // Lists join with "+", characters unsafe in file names become "_", and the hash tells 0.1 from "0.1".
  assert.equal(
    cellId({ stages: ["pretrain_sasrec", "end_to_end"], data_dir: "/a b/c", seed: 2 }),
    "data_dir=_a_b_c,seed=2,stages=pretrain_sasrec+end_to_end-40108629",
  );
  assert.notEqual(cellId({ sasrec_dropout: 0.1 }), cellId({ sasrec_dropout: "0.1" }));
});

Deno.test("grid: same cells whatever the order of axes and values in the file", async () => {
  await using dir = await tempDir();
  const a = await writeGrid(
    dir.path,
    "base: {dataset: synthetic}\naxes:\n  loss: [bpr_naive, bce]\n  sasrec_dropout: [0, 0.3]\nseeds: [5, 6]\n",
    "a.yaml",
  );
  const b = await writeGrid(
    dir.path,
    "seeds: [6, 5]\naxes:\n  sasrec_dropout: [0.3, 0]\n  loss: [bce, bpr_naive]\nbase: {dataset: synthetic}\n",
    "b.yaml",
  );
  const [ca, cb] = [expandGrid(await loadGrid(a)), expandGrid(await loadGrid(b))];
  assert.equal(ca.length, 8);
  assert.deepEqual(ca.map((c) => c.id).sort(), cb.map((c) => c.id).sort());
  const byId = new Map(cb.map((c) => [c.id, c.config]));
  for (const cell of ca) assert.deepEqual(cell.config, byId.get(cell.id));
});

Deno.test("grid: exclusions drop every cell matching all keys of a rule; --set and set override the base", async () => {
  await using dir = await tempDir();
  const path = await writeGrid(
    dir.path,
    `base: {dataset: synthetic, batch_size: 8}
set: {batch_size: 16}
axes:
  attention_mask: [torch, safe]
  loss: [bpr_naive, bpr_softplus, bce]
seeds: [1, 2]
exclude:
  - {attention_mask: safe, loss: bpr_naive}
  - {loss: bce, seed: 2}
`,
  );
  const cells = expandGrid(await loadGrid(path, ["epochs_per_stage=3"]));
  // 2 x 3 x 2 = 12, minus safe+bpr_naive (2 seeds) and bce with seed 2 (2 masks) = 8.
  assert.equal(cells.length, 8);
  assert.ok(!cells.some((c) => c.values.attention_mask === "safe" && c.values.loss === "bpr_naive"));
  assert.ok(!cells.some((c) => c.values.loss === "bce" && c.values.seed === 2));
  assert.ok(cells.every((c) => c.config.batch_size === 16 && c.config.epochs_per_stage === 3));
});

Deno.test("grid: a value valid only with another axis's value (text_use with model) is checked per non-excluded cell", async () => {
  await using dir = await tempDir();
  const axes = "base: {dataset: synthetic}\naxes:\n  model: [sasrec, ur4rec]\n  text_use: [none, retriever_fusion]\n";
  const excluded = await writeGrid(
    dir.path,
    `${axes}seeds: [1, 2]\nexclude:\n  - {model: sasrec, text_use: retriever_fusion}\n  - {model: ur4rec, text_use: none}\n`,
  );
  const cells = expandGrid(await loadGrid(excluded));
  assert.deepEqual(cells.map((c) => `${c.config.model}/${c.config.text_use}`), [
    "sasrec/none",
    "sasrec/none",
    "ur4rec/retriever_fusion",
    "ur4rec/retriever_fusion",
  ]);
  const missing = await writeGrid(
    dir.path,
    `${axes}seeds: [1]\nexclude: [{model: sasrec, text_use: retriever_fusion}]\n`,
  );
  await rejectsWith(
    loadGrid(missing),
    /g\.yaml: cell model = "ur4rec", text_use = "none" \(not excluded\): .*text_use = none applies to model sasrec/,
  );
  // alone on its axis, a bad value is still named by its position
  await rejectsWith(
    loadGrid(
      await writeGrid(dir.path, "base: {dataset: synthetic, model: ur4rec}\naxes: {text_use: [none]}\nseeds: [1]\n"),
    ),
    /g\.yaml: axes\.text_use\[0\]: .*text_use = none applies to model sasrec/,
  );
});

Deno.test("grid: bad specs are user errors naming the grid file and the key", async () => {
  await using dir = await tempDir();
  const grid = (text: string) => writeGrid(dir.path, text, "bad.yaml");
  await rejectsWith(
    loadGrid(await grid("axes: {sasrec_dropuot: [0]}\nseeds: [1]\n")),
    /bad\.yaml: axes: unknown config key "sasrec_dropuot" \(did you mean "sasrec_dropout"\?\)/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {sasrec_dropout: [0, 1.5]}\nseeds: [1]\n")),
    /bad\.yaml: axes\.sasrec_dropout\[1\]: key "sasrec_dropout" = 1\.5/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {padding: [left, middle]}\nseeds: [1]\n")),
    /bad\.yaml: axes\.padding\[1\]: key "padding" = "middle"/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {seed: [1, 2]}\nseeds: [1]\n")),
    /bad\.yaml: axes: "seed" is not an axis/,
  );
  await rejectsWith(loadGrid(await grid("axes: {loss: [bce]}\n")), /bad\.yaml: key "seeds"/);
  await rejectsWith(loadGrid(await grid("axes: {loss: [bce]}\nseeds: [1]\nsweep: 2\n")), /bad\.yaml: .*sweep/);
  await rejectsWith(
    loadGrid(await grid("axes: {loss: [bce, bce]}\nseeds: [1]\n")),
    /bad\.yaml: axes\.loss: value "bce" is listed twice/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {loss: [bce]}\nseeds: [1]\nexclude: [{padding: left}]\n")),
    /bad\.yaml: exclude\[0\]: "padding" is not an axis/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {loss: [bce]}\nseeds: [1]\nexclude: [{loss: softmax}]\n")),
    /bad\.yaml: exclude\[0\]: loss = "softmax" is not one of its values \["bce"\]/,
  );
  await rejectsWith(
    loadGrid(await grid("base: ../missing.yaml\naxes: {loss: [bce]}\nseeds: [1]\n")),
    /bad\.yaml: key "base": config file \.\.\/missing\.yaml not found/,
  );
  await rejectsWith(
    loadGrid(await grid("base: {sasrec_hidden: 3}\naxes: {loss: [bce]}\nseeds: [1]\n")),
    /bad\.yaml: base: unknown config key "sasrec_hidden"/,
  );
  await rejectsWith(
    loadGrid(await grid("axes: {loss: [bce]}\nseeds: [1]\n"), ["loss=softmax"]),
    /--set loss=softmax: "loss" is an axis of .*bad\.yaml/,
  );
  await rejectsWith(loadGrid(`${dir.path}/nope.yaml`), /nope\.yaml: grid file not found/);
});

Deno.test("grid: the base takes loadConfig's precedence: set < --set < (unset keys) UR4REC_* env", async () => {
  await using dir = await tempDir();
  const path = await writeGrid(dir.path, "set: {batch_size: 16}\naxes: {loss: [bce]}\nseeds: [1]\n");
  Deno.env.set("UR4REC_BACKEND", "cpu");
  Deno.env.set("UR4REC_DATA_DIR", "/env/data");
  try {
    const [cell] = expandGrid(await loadGrid(path, ["batch_size=8"]));
    assert.deepEqual([cell.config.batch_size, cell.config.backend, cell.config.data_dir], [8, "cpu", "/env/data"]);
    const [pinned] = expandGrid(await loadGrid(path, ["backend=wasm", "data_dir=mine"]));
    assert.deepEqual([pinned.config.backend, pinned.config.data_dir], ["wasm", "mine"]);
    Deno.env.set("UR4REC_BACKEND", "tpu");
    await rejectsWith(loadGrid(path), /^UR4REC_BACKEND=tpu: key "backend" = "tpu": expected one of/);
  } finally {
    Deno.env.delete("UR4REC_BACKEND");
    Deno.env.delete("UR4REC_DATA_DIR");
  }
  await rejectsWith(loadGrid(path, ["batch_size=0"]), /^--set batch_size=0: key "batch_size" = 0: Too small/);
  await rejectsWith(loadGrid(path, ["loss=bpr_naive"]), /^--set loss=bpr_naive: "loss" is an axis of .*g\.yaml$/);
  await rejectsWith(loadGrid(path, ["batch_sise=8"]), /^--set batch_sise=8: unknown config key "batch_sise"/);
  await rejectsWith(loadGrid(dir.path), /is a directory, not a grid file$/);
});
