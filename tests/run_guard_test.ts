/** The run-directory guard (src/train/run_guard.ts) and the file helpers under it (src/util/fs.ts). */
import assert from "node:assert/strict";
import YAML from "yaml";
import { configToYaml, resolveConfig } from "../src/config/load.ts";
import { planCellDir } from "../src/experiments/cell.ts";
import { checkOutDir, checkReportDir, clearRunFiles } from "../src/train/run_guard.ts";
import { UserError } from "../src/util/errors.ts";
import { checkWritableDir, completeCopy, onPath, recoverDir, writeFileAtomic } from "../src/util/fs.ts";
import { snapshot } from "./bad_inputs/harness.ts";
import { tempDir } from "./helpers.ts";

const userError = (pattern: RegExp) => (e: Error) => e instanceof UserError && pattern.test(e.message);
const config = resolveConfig({ seed: 1 }, "test");

/** Writes `files` (relative path -> content) under `dir`. */
async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) await writeFileAtomic(`${dir}/${rel}`, content);
}

Deno.test("checkWritableDir: accepts a creatable path without creating it, names a file in the way", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/f`, "x");
  const before = await snapshot(dir.path);
  await checkWritableDir(`${dir.path}/a/b/c`, "--out a/b/c");
  await assert.rejects(checkWritableDir(`${dir.path}/f`, "--out f"), userError(/^--out f: .*\/f is a file, expected/));
  await assert.rejects(
    checkWritableDir(`${dir.path}/f/g/h`, "--out f/g/h"),
    userError(/^--out f\/g\/h: cannot create .*\/f\/g\/h: .*\/f is a file, not a directory$/),
  );
  assert.deepEqual(await snapshot(dir.path), before);
});

Deno.test({
  name: "checkWritableDir: a read-only parent is refused (skipped as root: chmod does not stop root)",
  ignore: Deno.uid() === 0,
  async fn() {
    await using dir = await tempDir();
    await Deno.mkdir(`${dir.path}/ro`, { mode: 0o555 });
    try {
      await assert.rejects(
        checkWritableDir(`${dir.path}/ro/out`, "--out ro/out"),
        userError(/^--out ro\/out: cannot write .*\/ro\/out \(in .*\/ro\): permission denied$/),
      );
    } finally {
      await Deno.chmod(`${dir.path}/ro`, 0o755);
    }
  },
});

Deno.test("onPath: filesystem errors become user errors naming the path and what failed", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/f`, "x");
  await assert.rejects(
    writeFileAtomic(`${dir.path}/f/sub/summary.json`, "{}"),
    userError(/\/f\/sub: cannot create directory: a component of the path is a file, not a directory$/),
  );
  const full = () => Promise.reject(new Error("No space left on device (os error 28)"));
  await assert.rejects(
    onPath("out/metrics.jsonl", "write", full),
    userError(/^out\/metrics\.jsonl: cannot write: no space left on device$/),
  );
  await assert.rejects(onPath("x", "write", () => Promise.reject(new TypeError("bug"))), TypeError);
});

Deno.test("recoverDir: the newest complete copy wins (dir, else .tmp-, else .old-); stale copies are removed", async () => {
  await using dir = await tempDir();
  const ck = `${dir.path}/checkpoint`;
  await writeFiles(dir.path, {
    "checkpoint.old-1/state.json": "old",
    "checkpoint.tmp-1/state.json": "new",
    "checkpoint.tmp-2/weights/w.bin": "incomplete",
  });
  assert.equal(await completeCopy(ck, "state.json"), `${ck}.tmp-1`);
  assert.equal(await recoverDir(ck, "state.json"), `${ck}.tmp-1`);
  assert.equal(await Deno.readTextFile(`${ck}/state.json`), "new");
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["checkpoint"]);

  await writeFiles(dir.path, { "checkpoint.old-3/state.json": "older" }); // killed after the second rename
  assert.equal(await recoverDir(ck, "state.json"), undefined);
  assert.equal(await Deno.readTextFile(`${ck}/state.json`), "new");
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["checkpoint"]);

  await using only = await tempDir();
  await writeFiles(only.path, { "checkpoint.tmp-1/weights/w.bin": "incomplete" });
  assert.equal(await completeCopy(`${only.path}/checkpoint`, "state.json"), undefined);
});

Deno.test("checkOutDir: an empty dir or a lone identical config.yaml is free; a run needs --force, which is described", async () => {
  await using dir = await tempDir();
  const opts = { flag: "--out d" };
  assert.equal(await checkOutDir(dir.path, config, opts), undefined);
  await writeFiles(dir.path, { "config.yaml": configToYaml(config), "log.txt": "grid log\n" });
  assert.equal(await checkOutDir(dir.path, config, opts), undefined); // what the grid runner prepares for a cell
  await assert.rejects(
    checkOutDir(dir.path, { ...config, seed: 2 }, opts),
    userError(/^--out d holds the files of a run \(config\.yaml\): add --resume to continue it, or --force/),
  );
  // compared as resolved configs: a cell prepared before keys were added (their defaults) or a hand-written file
  await using older = await tempDir();
  const { tie_order: _, history_buckets: __, ...before } = config;
  await writeFiles(older.path, { "config.yaml": YAML.stringify(before) });
  assert.equal(await checkOutDir(older.path, config, opts), undefined);
  await using own = await tempDir();
  await writeFiles(own.path, { "config.yaml": `# my settings\n${configToYaml(config)}` });
  assert.equal(await checkOutDir(own.path, config, opts), undefined);
  await writeFiles(own.path, { "config.yaml": "# my settings\nseed: 9\n" });
  await assert.rejects(checkOutDir(own.path, config, opts), userError(/holds the files of a run \(config\.yaml\)/));
  await writeFiles(own.path, { "config.yaml": "seed: [\n" });
  await assert.rejects(checkOutDir(own.path, config, opts), userError(/holds the files of a run \(config\.yaml\)/));
  await writeFiles(dir.path, { "summary.json": JSON.stringify({ status: "failed", error: "Error: boom\n at x" }) });
  assert.equal(
    await checkOutDir(dir.path, config, { ...opts, force: true }),
    "a failed run (Error: boom; config.yaml, summary.json)",
  );
  await clearRunFiles(dir.path);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["log.txt"]);
});

Deno.test("checkReportDir: a NaN report is replaced only with --force", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "nan_report.json": "{}" });
  await assert.rejects(
    checkReportDir(dir.path, { flag: "--out d" }),
    userError(/^--out d holds a NaN report \(nan_report\.json\): add --force/),
  );
  assert.equal(await checkReportDir(dir.path, { flag: "--out d", force: true }), "a NaN report (nan_report.json)");
});

Deno.test("grid cells: a checkpoint left in a .tmp- copy by an interrupted swap still resumes the cell", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "config.yaml": configToYaml(config), "checkpoint.tmp-1/state.json": "{}" });
  assert.equal(await planCellDir(dir.path), "resume");
  await using fresh = await tempDir();
  await writeFiles(fresh.path, { "config.yaml": configToYaml(config), "checkpoint.tmp-1/weights/w.bin": "" });
  assert.equal(await planCellDir(fresh.path), "fresh");
});
