import assert from "node:assert/strict";
import { keyRows, keyTable, withKeyTables } from "../src/config/docs.ts";
import { CONFIG_KEYS } from "../src/config/schema.ts";

const README = new URL("../configs/README.md", import.meta.url);

Deno.test("config docs: configs/README.md's key tables are the ones generated from the schema", async () => {
  const readme = await Deno.readTextFile(README);
  assert.equal(
    withKeyTables(readme),
    readme,
    "configs/README.md is stale: run ./scripts/deno.sh run -A scripts/config_docs.ts",
  );
  for (const key of CONFIG_KEYS) assert.ok(readme.includes(`| \`${key}\``), `a table row documents ${key}`);
});

Deno.test("config docs: a row gives values and default from the zod type, meaning from .describe", () => {
  assert.deepEqual(keyRows("bprmf")[2], [
    "`bprmf_lr`",
    "float in (0, 10] or null (null)",
    "AdamW learning rate of the `bprmf` module; null = `sasrec_lr`",
  ]);
  const run = keyRows("run");
  assert.deepEqual(run[0].slice(0, 2), ["`seed` **(orig)**", "int 0..2^32-1 (42)"]);
  assert.deepEqual(run[1].slice(0, 2), ["`backend`", "`wasm` \\| `cpu` \\| `webgpu` (`wasm`)"]);
  const training = keyRows("training");
  assert.equal(training[0][1].startsWith("list of `pretrain_sasrec` \\| "), true);
  assert.ok(training.some(([key, values]) => key === "`warmup_steps`" && values === "int 0..1e7 (0)"));
});

Deno.test("config docs: a stale table is rewritten; a missing or unknown section marker is an error", async () => {
  const readme = await Deno.readTextFile(README);
  const stale = readme.replace("| `sasrec_num_blocks` **(orig)** |", "| `sasrec_num_blocks` **(orig)** | stale |");
  assert.notEqual(stale, readme);
  assert.equal(withKeyTables(stale), readme);
  assert.ok(readme.includes(`<!-- config-keys:loss -->\n\n${keyTable("loss")}\n\n<!-- /config-keys -->`));
  const unmarked = readme.replace("<!-- config-keys:loss -->", "");
  assert.throws(() => withKeyTables(unmarked), /no config-keys marker for loss$/);
  const unknown = readme.replace("<!-- config-keys:loss -->", "<!-- config-keys:losses -->");
  assert.throws(() => withKeyTables(unknown), /unknown config-keys section "losses"/);
});
