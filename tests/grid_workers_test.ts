/**
 * Cell workers (src/experiments/cell_worker.ts, worker_pool.ts): cells run one after another in one process give
 * exactly the files that one process per cell gives, whatever ran before them in the process; a worker retires after
 * a cell that leaked tensors, failed or changed the environment; a cell script that cannot run in a worker is a user
 * error before anything is written. Crashes, kills and retries in workers are covered by the grid runner tests, which now run in workers.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { loadGrid } from "../src/experiments/grid.ts";
import { readGridRecord, runGrid } from "../src/experiments/runner.ts";
import { UserError } from "../src/util/errors.ts";
import { finish, inProcess, spawnAblate } from "./fixtures/grid_cli.ts";
import { REPO_ROOT, tempDir } from "./helpers.ts";

const ABLATE = `${REPO_ROOT}src/cli/ablate.ts`;

/**
 * Backends, models and masks in one worker: the cells switch backend (wasm, cpu), build models of two kinds, and the
 * torch-mask cells write NaN reports naming every parameter (their names must not depend on the models built before).
 */
const MIXED_GRID = (dataDir: string) =>
  `base: ${REPO_ROOT}configs/results/loo.yaml
set:
  dataset: synthetic
  data_dir: ${dataDir}
  preset: sasrec
  synthetic_users: 48
  synthetic_items: 60
  sasrec_hidden_dim: 16
  text_embedding_dim: 16
  retriever_output_dim: 16
  batch_size: 16
  epochs_per_stage: 1
  max_steps_per_epoch: 2
  sasrec_dropout: 0.1
axes:
  model: [sasrec, ur4rec]
  attention_mask: [torch, safe]
  backend: [wasm, cpu]
seeds: [1]
`;

/**
 * A temporary directory (removed on dispose) holding `grid.yaml`: one bpr_naive cell per seed of `seeds` on the built-in
 * synthetic data, or the text `grid(dir)` gives; `out` is a grid directory in it, not created.
 */
async function gridDir(seeds: number[], grid?: (dir: string) => string) {
  const dir = await tempDir();
  const gridPath = `${dir.path}/grid.yaml`;
  await Deno.writeTextFile(
    gridPath,
    grid?.(dir.path) ?? `base: {dataset: synthetic}\naxes:\n  loss: [bpr_naive]\nseeds: [${seeds.join(", ")}]\n`,
  );
  return { ...dir, gridPath, out: `${dir.path}/out` };
}

/** Runs `ablate run` with `args`; its exit code and output. */
async function ablate(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ABLATE, "run", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

/** Keys holding times, which differ between any two runs (and metrics.jsonl's length, which holds times). */
const TIMING_KEY = /wall|_per_s$|seconds|metricsBytes/i;

function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).filter(([k]) => !TIMING_KEY.test(k)).map(([k, v]) => [k, withoutTimes(v)]),
  );
}

/** Every file a cell's run wrote (not the engine's log and exit records), JSON without times, others as bytes. */
async function runFiles(dir: string, root = dir): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      for (const [k, v] of await runFiles(path, root)) files.set(k, v);
    } else if (!["log.txt", "exit.json"].includes(entry.name)) {
      const bytes = await Deno.readFile(path);
      const text = new TextDecoder().decode(bytes);
      const json = entry.name.endsWith(".json")
        ? [text]
        : entry.name.endsWith(".jsonl")
        ? text.trim().split("\n")
        : undefined;
      files.set(
        relative(root, path),
        json ? JSON.stringify(json.map((l) => withoutTimes(JSON.parse(l)))) : bytes.join(","),
      );
    }
  }
  return files;
}

Deno.test("cell workers: eight mixed cells in one process write what eight processes write", async () => {
  await using dir = await gridDir([], (path) => MIXED_GRID(`${path}/data`));
  const { gridPath } = dir;
  const one = await ablate(["--grid", gridPath, "--out", `${dir.path}/one`, "--workers", "1"]);
  assert.equal(one.code, 0, one.out);
  const each = await ablate(["--grid", gridPath, "--out", `${dir.path}/each`, "--process-per-cell"]);
  assert.equal(each.code, 0, each.out);

  const { cells } = await readGridRecord(`${dir.path}/one`);
  assert.equal(cells.length, 8);
  const workers = new Set<string>();
  for (const { id } of cells) {
    const log = await Deno.readTextFile(`${dir.path}/one/runs/${id}/log.txt`);
    workers.add(log.match(/in cell worker (\d+)/)![1]);
    const [inWorker, inProcess] = await Promise.all(
      ["one", "each"].map((run) => runFiles(`${dir.path}/${run}/runs/${id}`)),
    );
    assert.deepEqual([...inWorker.keys()].sort(), [...inProcess.keys()].sort(), id);
    for (const [file, content] of inProcess) assert.equal(inWorker.get(file), content, `${id}: ${file}`);
  }
  assert.equal(workers.size, 1, "all eight cells ran in one worker");
  const nan = await Deno.readTextFile(
    `${dir.path}/one/runs/${cells.find((c) => c.id.includes("torch"))!.id}/nan_report.json`,
  );
  assert.ok(nan.includes('"sasrec/item_emb"') && !nan.includes("item_emb@"), "parameters named without @instance");
});

Deno.test("cell workers: a worker retires after a cell that leaked, threw or changed the environment", async () => {
  await using dir = await gridDir([1, 2, 3, 4]);
  const { gridPath, out } = dir;
  const run = await ablate(
    ["--grid", gridPath, "--out", out, "--workers", "1", "--cell-script", `${REPO_ROOT}tests/fixtures/leaky_cell.ts`],
    { FAKE_CELL_MS: "10" },
  );
  assert.equal(run.code, 0, run.out); // the throwing cell's summary (the fake cell's) says completed
  const { cells } = await readGridRecord(out);
  const dirOf = (seed: number) => `${out}/runs/${cells.find((c) => c.config.seed === seed)!.id}`;
  const [leaky, throwing, envChanging, partial] = await Promise.all(
    [1, 2, 3, 4].map((seed) => Deno.readTextFile(`${dirOf(seed)}/log.txt`)),
  );
  assert.match(leaky, /: 1 tensors left allocated; the next cell starts in a fresh process/);
  assert.match(throwing, /Error: leaky cell: boom\n\s+at main/);
  assert.match(throwing, /: exit code 1; the next cell starts in a fresh process/);
  assert.match(envChanging, /: the working directory or environment changed; the next cell starts in a fresh process/);
  assert.match(
    partial,
    /progress 100%\r$/,
    "output without a newline is logged, and the worker's answer is still read",
  );
  const worker = (text: string) => text.match(/in cell worker (\d+), its cell (\d+)/)!.slice(1);
  const pids = [leaky, throwing, envChanging, partial].map((text) => worker(text)[0]);
  assert.equal(new Set(pids).size, 4, "each cell after a misbehaving one runs in a new worker");
  assert.equal(JSON.parse(await Deno.readTextFile(`${dirOf(2)}/exit.json`)).code, 1);
});

Deno.test("bad input: ablate: a cell script without main(args) -> exit 2, one line, nothing written; no worker left", async () => {
  await using dir = await gridDir([1]);
  const { gridPath, out } = dir;
  const script = `${dir.path}/no_main.ts`;
  await Deno.writeTextFile(script, 'console.log("ran at import");\n');
  const run = await ablate(["--grid", gridPath, "--out", out, "--cell-script", script]);
  assert.equal(run.code, 2, run.out);
  assert.equal(
    run.out.trim(),
    `error: cell script ${script}: exports no main(args: string[]), which cell workers call (see src/cli/train.ts); ` +
      "run it with --process-per-cell",
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);

  // In process (a notebook's runGrid): the same error, and none of the workers started for the grid is left running.
  const grid = await loadGrid(gridPath);
  await assert.rejects(runGrid(grid, { ...inProcess(out), script }), UserError);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  assert.deepEqual(childWorkers(), []);
  // A grid that ran closes its workers too.
  Deno.env.set("FAKE_CELL_MS", "10");
  assert.equal((await runGrid(grid, inProcess(out))).rows[0].status, "completed");
  assert.deepEqual(childWorkers(), []);
});

/** Pids of this process's children that are cell workers (from /proc: parent pid and command line). */
function childWorkers(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (parent === Deno.pid && cmdline.includes("cell_worker.ts")) pids.push(Number(entry.name));
    } catch { /* the process has gone */ }
  }
  return pids;
}

Deno.test("bad input: ablate: a --cell-script that does not exist -> exit 2, one line, nothing written", async () => {
  await using dir = await gridDir([1]);
  const { gridPath, out } = dir;
  for (const mode of [[], ["--process-per-cell"]]) {
    const run = await ablate(["--grid", gridPath, "--out", out, "--cell-script", `${dir.path}/nope.ts`, ...mode]);
    assert.equal(run.code, 2, run.out);
    assert.equal(run.out.trim(), `error: --cell-script ${dir.path}/nope.ts: no such file`);
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  }
});

Deno.test("bad input: ablate: --process-per-cell with --executor slurm -> exit 2, one line, nothing written", async () => {
  await using dir = await gridDir([1]);
  const { gridPath, out } = dir;
  const run = await ablate(["--grid", gridPath, "--out", out, "--executor", "slurm", "--process-per-cell"]);
  assert.equal(run.code, 2, run.out);
  assert.equal(
    run.out.trim(),
    "error: --process-per-cell: only with --executor local (each Slurm array task is a process already)",
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

Deno.test("ablate: Ctrl-C under `deno task` (SIGINT twice: the terminal's and the task's copy) stops cleanly", async () => {
  await using dir = await gridDir([1, 2]);
  const { gridPath, out } = dir;
  // In a session of its own (setsid), so that the process group can be signalled as a terminal's Ctrl-C does.
  const runner = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "task",
      "ablate",
      "run",
      ...["--grid", gridPath, "--out", out, "--cell-script", `${REPO_ROOT}tests/fixtures/fake_cell.ts`],
    ],
    cwd: REPO_ROOT,
    env: { FAKE_CELL_MS: "4000", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const running = () => {
    try {
      return [...Deno.readDirSync(`${out}/runs`)].filter((e) => Deno.statSync(`${out}/runs/${e.name}/pid.json`)).length;
    } catch {
      return 0;
    }
  };
  while (running() < 2) await new Promise((r) => setTimeout(r, 50));
  Deno.kill(-runner.pid, "SIGINT"); // the whole group: deno task, the runner, its workers
  const stopped = await finish(runner);
  assert.equal(stopped.code, 130, stopped.out);
  assert.match(stopped.out, /interrupted: rerun the same command to continue/);
  const { cells } = await readGridRecord(out);
  for (const cell of cells) {
    const exit = JSON.parse(await Deno.readTextFile(`${out}/runs/${cell.id}/exit.json`));
    assert.equal(exit.code, 130, JSON.stringify(exit)); // the workers' own SIGINT, as a cell process's
    await assert.rejects(Deno.stat(`${out}/runs/${cell.id}/pid.json`), Deno.errors.NotFound);
  }
  const rerun = await finish(spawnAblate(["run", "--grid", gridPath, "--out", out], 100));
  assert.equal(rerun.code, 0, rerun.out);
  assert.match(rerun.out, /0 already done, 2 to run/);
});
