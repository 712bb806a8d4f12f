/**
 * Early termination and retries on the fake cell (tests/fixtures/fake_cell.ts), whose validation curve is
 *   NDCG@10(e) = 0.308 - 0.2·dropout - 10·|lr - 0.001| - 0.01 - 0.00015 / (lr·(e + 1))  (seed 1, bce, init 0.02)
 * so the rung values below are computed by hand from it.
 */
import assert from "node:assert/strict";
import { decideRung, rungBudgets } from "../src/experiments/asha.ts";
import { loadGrid, trialKey } from "../src/experiments/grid.ts";
import { runGrid } from "../src/experiments/runner.ts";
import { tempDir } from "./helpers.ts";
import { finish, inProcess, spawnAblate } from "./fixtures/grid_cli.ts";

Deno.env.set("FAKE_CELL_MS", "60");

const ASHA_SWEEP = `base: {dataset: synthetic}
axes:
  sasrec_lr: [0.0001, 0.001, 0.01]
  sasrec_dropout: [0, 0.05, 0.3]
seeds: [1]
early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3, max_epochs: 9}
`;

/** The fake's validation NDCG@10 after epoch e (0-based) for seed 1. */
const curve = (lr: number, dropout: number, e: number) =>
  0.308 - 0.2 * dropout - 10 * Math.abs(lr - 0.001) - 0.01 - 0.00015 / (lr * (e + 1));

/** results.csv as one record per row (column -> text), keyed by the row's cell id prefix before the hash. */
async function readCsv(path: string): Promise<Map<string, Record<string, string>>> {
  const [header, ...lines] = (await Deno.readTextFile(path)).trim().split("\n");
  const columns = header.split(",");
  return new Map(lines.map((line) => {
    const id = line.match(/^"([^"]*)"/)![1];
    const fields = line.slice(id.length + 3).split(",");
    return [id.replace(/-[0-9a-f]{8}$/, ""), Object.fromEntries(columns.slice(1).map((c, i) => [c, fields[i]]))];
  }));
}

Deno.test("asha: rungs and a decision by hand: mean over seeds, top max(1, floor(n/eta)), ties to the smaller key", () => {
  assert.deepEqual(rungBudgets({ type: "asha", min_epochs: 1, reduction_factor: 3, max_epochs: 9 }), [1, 3, 9]);
  assert.deepEqual(rungBudgets({ type: "asha", min_epochs: 2, reduction_factor: 2, max_epochs: 16 }), [2, 4, 8, 16]);
  const decision = decideRung(3, [
    { id: "b1", trial: "b", value: 0.3 },
    { id: "b2", trial: "b", value: null }, // b: 0.3 (the seed without a value does not count)
    { id: "a1", trial: "a", value: 0.1 },
    { id: "a2", trial: "a", value: 0.5 }, // a: 0.3, a tie with b
    { id: "c1", trial: "c", value: 0.5 },
    { id: "c2", trial: "c", value: 0.6 }, // c: 0.55
    { id: "d1", trial: "d", value: null }, // d: no value, never promoted
    { id: "e1", trial: "e", value: 0.1 },
    { id: "f1", trial: "f", value: 0.0 },
  ], 3);
  assert.deepEqual(decision.promoted, ["c", "a"], "6 trials / 3 = 2: c, then a before b on the tie");
  assert.deepEqual(decision.trials, { a: 0.3, b: 0.3, c: 0.55, d: null, e: 0.1, f: 0 });
  assert.equal(decision.epochs, 3);
  assert.equal(decision.cells.b2, null);
  assert.deepEqual(
    decideRung(1, [{ id: "x", trial: "x", value: 0.1 }, { id: "y", trial: "y", value: 0.2 }], 3).promoted,
    [
      "y",
    ],
  );
  assert.deepEqual(decideRung(1, [{ id: "x", trial: "x", value: null }], 3).promoted, []);
});

Deno.test("asha: on 9 fake trials the rungs promote and stop the cells computed by hand; 21 epochs instead of 81", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/sweep.yaml`, ASHA_SWEEP);
  const grid = await loadGrid(`${dir.path}/sweep.yaml`);
  const out = `${dir.path}/out`;
  const lines: string[] = [];
  const outcome = await runGrid(grid, inProcess(out, lines));
  // Rung 0 (1 epoch): lr 0.01 gives 0.193 - 0.2·dropout, lr 0.001 gives 0.148 - 0.2·dropout, lr 1e-4 below -1.
  // Top 3 of 9: (0.01, 0), (0.01, 0.05), (0.001, 0). Rung 1 (3 epochs): 0.203, 0.193, 0.248: keep (0.001, 0).
  const asha = JSON.parse(await Deno.readTextFile(`${out}/asha.json`));
  const key = (lr: number, dropout: number) => trialKey({ sasrec_dropout: dropout, sasrec_lr: lr });
  assert.deepEqual(asha.rungs.map((r: { epochs: number }) => r.epochs), [1, 3]);
  assert.deepEqual(asha.rungs[0].promoted, [key(0.01, 0), key(0.01, 0.05), key(0.001, 0)]);
  assert.deepEqual(asha.rungs[1].promoted, [key(0.001, 0)]);
  assert.ok(Math.abs(asha.rungs[1].trials[key(0.001, 0)] - curve(0.001, 0, 2)) < 1e-12);
  assert.ok(lines.some((l) => l.includes("rung 1/3 (1 epochs per stage): 9 cells, 0 already done, 9 to run")));
  assert.ok(lines.some((l) => l.includes("rung 2/3 (3 epochs per stage): 3 cells, 0 already done, 3 to run")));
  assert.ok(lines.some((l) => l.includes("rung 3/3 (9 epochs per stage): 1 cells, 0 already done, 1 to run")));

  const rows = await readCsv(`${out}/results.csv`);
  const row = (lr: number, dropout: number) => rows.get(`sasrec_dropout=${dropout},sasrec_lr=${lr},seed=1`)!;
  assert.deepEqual(
    [row(0.001, 0).status, row(0.001, 0).rung, row(0.001, 0).epochs, row(0.001, 0).rung_val],
    ["completed", "2", "9", ""],
  );
  for (const dropout of [0, 0.05]) {
    const r = row(0.01, dropout);
    assert.deepEqual([r.status, r.rung, r.epochs], ["stopped", "1", "3"]);
    assert.ok(Math.abs(Number(r.rung_val) - curve(0.01, dropout, 2)) < 1e-12, r.rung_val);
  }
  const early = row(0.0001, 0.3);
  assert.deepEqual([early.status, early.rung, early.epochs], ["stopped", "0", "1"]);
  assert.ok(Math.abs(Number(early.rung_val) - curve(0.0001, 0.3, 0)) < 1e-12);
  assert.equal([...rows.values()].filter((r) => r.status === "stopped").length, 8);
  assert.equal([...rows.values()].reduce((sum, r) => sum + Number(r.epochs), 0), 6 * 1 + 2 * 3 + 9);
  assert.equal(outcome.rows.length, 9);

  // A rerun replays the decisions and trains nothing.
  const again: string[] = [];
  const rerun = await runGrid(await loadGrid(`${dir.path}/sweep.yaml`), inProcess(out, again));
  assert.equal(rerun.ran, 0, again.join("\n"));
});

Deno.test("asha: a run without validation records (Popularity) is valued by its summary's validation", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/models.yaml`,
    "base: {dataset: synthetic}\naxes: {model: [pop, sasrec]}\nseeds: [1]\n" +
      "early_terminate: {type: asha, min_epochs: 1, reduction_factor: 2, max_epochs: 2}\n",
  );
  const out = `${dir.path}/out`;
  await runGrid(await loadGrid(`${dir.path}/models.yaml`), inProcess(out));
  // pop: summary val NDCG@10 = 0.3 - 0.2·0.2 - 0.1·0.02 + 0.01 - 0.01 = 0.258; sasrec after 1 epoch: 0.108.
  const [decision] = JSON.parse(await Deno.readTextFile(`${out}/asha.json`)).rungs;
  assert.ok(Math.abs(decision.trials[trialKey({ model: "pop" })] - 0.258) < 1e-12);
  assert.ok(Math.abs(decision.trials[trialKey({ model: "sasrec" })] - curve(0.001, 0.2, 0)) < 1e-12);
  assert.deepEqual(decision.promoted, [trialKey({ model: "pop" })]);
});

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 25));
}

async function decidedRungs(out: string): Promise<number> {
  try {
    return JSON.parse(await Deno.readTextFile(`${out}/asha.json`)).rungs.length;
  } catch {
    return 0;
  }
}

/** Cells with a summary.json under `out/runs` (0 before the directory exists). */
async function summaries(out: string): Promise<number> {
  let n = 0;
  try {
    for await (const run of Deno.readDir(`${out}/runs`)) {
      if (await Deno.stat(`${out}/runs/${run.name}/summary.json`).then(() => true, () => false)) n++;
    }
  } catch { /* runs/ not created yet */ }
  return n;
}

Deno.test("asha: kill -9 of ablate in rung 1 and again in rung 2, then a rerun: the identical results.csv", async () => {
  await using dir = await tempDir();
  const sweep = `${dir.path}/sweep.yaml`;
  await Deno.writeTextFile(sweep, ASHA_SWEEP);
  const whole = await finish(spawnAblate(["run", "--grid", sweep, "--out", `${dir.path}/whole`], 300));
  assert.equal(whole.code, 0, whole.out);
  assert.match(whole.out, /epochs trained: 21 \(all cells, all rungs\)/);
  assert.match(whole.out, /stopped by early termination: 8 cells/);

  const broken = `${dir.path}/broken`;
  const first = spawnAblate(["run", "--grid", sweep, "--out", broken], 300);
  await until(async () =>
    (await Deno.stat(`${broken}/runs`).then(() => true, () => false)) && await summaries(broken) >= 2
  );
  Deno.kill(first.pid, "SIGKILL");
  await first.output();
  assert.equal(await decidedRungs(broken), 0, "killed before rung 1 was decided");

  const second = spawnAblate(["run", "--grid", sweep, "--out", broken], 300);
  await until(async () => await decidedRungs(broken) >= 1);
  Deno.kill(second.pid, "SIGKILL");
  await second.output();
  assert.ok(await decidedRungs(broken) < 2, "killed before rung 2 was decided");

  const last = await finish(spawnAblate(["run", "--grid", sweep, "--out", broken], 300));
  assert.equal(last.code, 0, last.out);
  assert.equal(
    await Deno.readTextFile(`${broken}/results.csv`),
    await Deno.readTextFile(`${dir.path}/whole/results.csv`),
  );
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(`${broken}/asha.json`)),
    JSON.parse(await Deno.readTextFile(`${dir.path}/whole/asha.json`)),
  );
});

Deno.test("retries: a crashing cell resumes and succeeds; a failing one is retried max_failures times; counts in results.csv", async () => {
  await using dir = await tempDir();
  const text = (maxFailures: number) =>
    `base: {dataset: synthetic, sasrec_hidden_dim: 48}\naxes: {sasrec_num_heads: [1, 2, 3]}\nseeds: [1]\nmax_failures: ${maxFailures}\n`;
  await Deno.writeTextFile(`${dir.path}/retry.yaml`, text(2));
  const out = `${dir.path}/out`;
  const lines: string[] = [];
  await runGrid(await loadGrid(`${dir.path}/retry.yaml`), inProcess(out, lines));
  const rows = await readCsv(`${out}/results.csv`);
  const row = (heads: number) => rows.get(`sasrec_num_heads=${heads},seed=1`)!;
  assert.deepEqual([row(1).status, row(1).retries], ["completed", "0"]);
  assert.deepEqual([row(2).status, row(2).retries], ["completed", "1"]);
  assert.deepEqual([row(3).status, row(3).retries, row(3).error], ["failed", "2", "fake failure: sasrec_num_heads=3"]);
  const crashed = [...Deno.readDirSync(`${out}/runs`)].find((e) => e.name.startsWith("sasrec_num_heads=2,"))!.name;
  assert.equal(JSON.parse(await Deno.readTextFile(`${out}/runs/${crashed}/summary.json`)).resumed, true);
  const failed = [...Deno.readDirSync(`${out}/runs`)].find((e) => e.name.startsWith("sasrec_num_heads=3,"))!.name;
  assert.equal((await Deno.readTextFile(`${out}/runs/${failed}/log.txt`)).match(/^### /gm)?.length, 3);
  assert.deepEqual(lines.filter((l) => l.startsWith("retrying")), [
    "retrying 2 crashed cell(s), from their checkpoints where they have one (max_failures: 2)",
    "retrying 1 crashed cell(s), from their checkpoints where they have one (max_failures: 2)",
  ]);

  // Without max_failures a crash is a failure, as before.
  await Deno.writeTextFile(`${dir.path}/retry0.yaml`, text(0));
  await runGrid(await loadGrid(`${dir.path}/retry0.yaml`), inProcess(`${dir.path}/out0`));
  const none = await readCsv(`${dir.path}/out0/results.csv`);
  assert.deepEqual(
    [none.get("sasrec_num_heads=2,seed=1")!.status, none.get("sasrec_num_heads=2,seed=1")!.retries],
    ["failed", "0"],
  );
});
