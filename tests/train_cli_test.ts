/** `src/cli/train.ts` end to end on a tiny run: what `--force` removes, keeps and says. */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { tempDir } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("train --force: removes the previous run's files (and stale checkpoint copies), says so in one line, keeps other files", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/out`;
  const files: Record<string, string> = {
    "c.yaml": `dataset: synthetic\ndata_dir: ${dir.path}/data\nsynthetic_users: 32\nsynthetic_items: 40\n` +
      "max_seq_len: 10\nsasrec_hidden_dim: 8\nbatch_size: 16\nepochs_per_stage: 1\nseed: 1\n",
    "out/config.yaml": "seed: 7\n",
    "out/summary.json": JSON.stringify({ status: "completed", test: { "NDCG@10": 0.1234 } }),
    "out/metrics.jsonl": "old\n",
    "out/checkpoint.old-1a2b3c4d/state.json": "{}",
    "out/notes.txt": "mine\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(`${dir.path}/${rel}`), { recursive: true });
    await Deno.writeTextFile(`${dir.path}/${rel}`, text);
  }
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/train.ts", "--config", `${dir.path}/c.yaml`, "--out", out, "--force", "--quiet"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  assert.equal(
    stdout.split("\n")[0],
    `--force: removing a completed run (test NDCG@10 0.1234; config.yaml, metrics.jsonl, summary.json, ` +
      `checkpoint.old-1a2b3c4d) from ${out} and starting over`,
  );
  assert.equal(await Deno.readTextFile(`${out}/notes.txt`), "mine\n");
  const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
  assert.deepEqual(names, [
    "best",
    "checkpoint",
    "config.yaml",
    "metrics.jsonl",
    "nan_report.json",
    "notes.txt",
    "summary.json",
  ]);
  assert.match(await Deno.readTextFile(`${out}/config.yaml`), /^seed: 1$/m);
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  assert.equal(summary.status, "completed");
  assert.notEqual(summary.test["NDCG@10"], 0.1234);
});
