import assert from "node:assert/strict";
import { loadConfig, parseConfigYaml, resolveConfig } from "../src/config/load.ts";
import { CONFIG_KEYS, defaultConfig } from "../src/config/schema.ts";
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
    assert.match(e.message, /c\.yaml: unknown config key "sasrec_hiden_dim" \(did you mean "sasrec_hidden_dim"\?\)/);
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
