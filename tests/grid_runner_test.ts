/** The grid runner on a fake cell script (tests/fixtures/fake_cell.ts): resume after SIGKILL, failures, locking. */
import assert from "node:assert/strict";
import { type CellRecord, planCell } from "../src/experiments/cell.ts";
import { expandGrid, loadGrid } from "../src/experiments/grid.ts";
import { processIdentity } from "../src/experiments/process.ts";
import { runGrid } from "../src/experiments/runner.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";
import { finish, inProcess, spawnAblate } from "./fixtures/grid_cli.ts";

// Cells run in-process by runGrid inherit this; the CLI runs below set their own.
Deno.env.set("FAKE_CELL_MS", "100");

const MASK_LOSS_GRID = `base: {dataset: synthetic, sasrec_dropout: 0, sasrec_init_std: 0.1}
axes:
  attention_mask: [torch, safe]
  loss: [bpr_naive, bpr_softplus]
seeds: [1, 2]
`;

async function countSummaries(out: string): Promise<number> {
  let n = 0;
  try {
    for await (const run of Deno.readDir(`${out}/runs`)) {
      try {
        await Deno.stat(`${out}/runs/${run.name}/summary.json`);
        n++;
      } catch { /* not finished */ }
    }
  } catch { /* runs/ not created yet */ }
  return n;
}

Deno.test("runner: cell plans: final results kept, failures start over, interruptions resume", () => {
  const plan = (record: CellRecord, checkpoint = true) => planCell(record, checkpoint);
  assert.equal(plan({ summary: { status: "completed" } }), "skip");
  assert.equal(plan({ summary: { status: "diverged" }, exit: { code: 0, signal: null } }), "skip");
  assert.equal(plan({ summary: { status: "failed" }, exit: { code: 1, signal: null } }), "fresh");
  assert.equal(plan({ exit: { code: 1, signal: null } }), "fresh");
  assert.equal(plan({ exit: { code: 0, signal: null } }), "fresh");
  assert.equal(plan({ exit: { code: -1, signal: null, error: "lost Slurm task" } }), "fresh");
  assert.equal(plan({}), "resume");
  assert.equal(plan({ exit: { code: 143, signal: "SIGTERM" } }), "resume");
  assert.equal(plan({}, false), "fresh");
});

Deno.test("runner: killed with SIGKILL mid-grid and restarted, it ends with a byte-identical results.csv", async () => {
  await using dir = await tempDir();
  const gridPath = `${dir.path}/grid.yaml`;
  await Deno.writeTextFile(gridPath, MASK_LOSS_GRID);
  const whole = await finish(spawnAblate(["run", "--grid", gridPath, "--out", `${dir.path}/whole`], 600));
  assert.equal(whole.code, 0, whole.out);

  const broken = `${dir.path}/broken`;
  const runner = spawnAblate(["run", "--grid", gridPath, "--out", broken], 600);
  while (await countSummaries(broken) < 2) await new Promise((r) => setTimeout(r, 50));
  Deno.kill(runner.pid, "SIGKILL");
  await runner.output();
  const doneAtKill = await countSummaries(broken);
  assert.ok(doneAtKill < 8, `kill came too late: ${doneAtKill} of 8 cells done`);

  const again = await finish(spawnAblate(["run", "--grid", gridPath, "--out", broken], 600));
  assert.equal(again.code, 0, again.out);
  const skipped = Number(again.out.match(/8 cells, (\d+) already done/)?.[1]);
  assert.ok(skipped >= 2, again.out);
  assert.deepEqual(await Deno.readFile(`${broken}/results.csv`), await Deno.readFile(`${dir.path}/whole/results.csv`));
  const csv = await Deno.readTextFile(`${broken}/results.csv`);
  assert.equal(csv.trim().split("\n").length, 9);
  // One row checked against the fake's formula: NDCG@10 = 0.3 - 0.1 * 0.1 + 0.01 * 2 + 0.02 = 0.33.
  const row = csv.split("\n").find((l) => l.startsWith('"attention_mask=safe,loss=bpr_softplus,seed=2-'))!;
  const header = csv.split("\n")[0].split(",");
  const fields = row.replace(/^"[^"]*"/, "id").split(",");
  assert.equal(fields[header.indexOf("status")], "completed");
  assert.ok(Math.abs(Number(fields[header.indexOf("test_NDCG@10")]) - 0.33) < 1e-12);
  await assert.rejects(Deno.stat(`${broken}/runner.json`), Deno.errors.NotFound);
  for (const run of Deno.readDirSync(`${broken}/runs`)) { // cells the killed runner's workers finished included
    await assert.rejects(Deno.stat(`${broken}/runs/${run.name}/pid.json`), Deno.errors.NotFound, run.name);
  }
});

Deno.test("runner: a failing cell is reported with its log and rerun; an interrupted one resumes", async () => {
  await using dir = await tempDir();
  const gridPath = `${dir.path}/grid.yaml`;
  await Deno.writeTextFile(
    gridPath,
    "base: {dataset: synthetic, sasrec_hidden_dim: 48}\naxes: {sasrec_num_heads: [1, 3]}\nseeds: [1]\n",
  );
  const grid = await loadGrid(gridPath);
  const out = `${dir.path}/out`;
  const [ok, bad] = ["sasrec_num_heads=1,seed=1-", "sasrec_num_heads=3,seed=1-"];
  // An interrupted cell: a checkpoint but no summary and no exit record.
  const okId = expandGrid(grid).find((c) => c.id.startsWith(ok))!.id;
  await Deno.mkdir(`${out}/runs/${okId}/checkpoint`, { recursive: true });
  await Deno.writeTextFile(`${out}/runs/${okId}/checkpoint/state.json`, "{}");

  const lines: string[] = [];
  const first = await runGrid(grid, inProcess(out, lines));
  assert.equal(first.ran, 2);
  assert.equal(first.resumed, 1);
  const failed = first.rows.find((r) => r.id.startsWith(bad))!;
  assert.equal(failed.status, "failed");
  assert.equal(failed.error, "fake failure: sasrec_num_heads=3");
  assert.equal(failed.log, `runs/${failed.id}/log.txt`);
  assert.match(await Deno.readTextFile(`${out}/${failed.log}`), /fake cell failed/);
  assert.ok(
    lines.some((l) => l.includes(`failed ${failed.id}: fake failure`) && l.includes(`${out}/${failed.log}`)),
    lines.join("\n"),
  );
  assert.equal(first.rows.find((r) => r.id === okId)!.status, "completed");
  const okSummary = JSON.parse(await Deno.readTextFile(`${out}/runs/${okId}/summary.json`));
  assert.equal(okSummary.resumed, true);

  const second = await runGrid(grid, inProcess(out, []));
  assert.deepEqual([second.skipped, second.ran, second.resumed], [1, 1, 0]);
  assert.equal(second.rows.find((r) => r.id === failed.id)!.status, "failed");
  const log = await Deno.readTextFile(`${out}/${failed.log}`);
  assert.equal(log.match(/^### /gm)?.length, 2, "the log keeps both attempts");
});

Deno.test("runner: refuses a directory held by a live runner, and a cell whose config changed", async () => {
  await using dir = await tempDir();
  const gridPath = `${dir.path}/grid.yaml`;
  await Deno.writeTextFile(gridPath, "base: {dataset: synthetic}\naxes: {loss: [bce]}\nseeds: [1]\n");
  const out = `${dir.path}/out`;
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.mkdir(out);
    await Deno.writeTextFile(`${out}/runner.json`, JSON.stringify(processIdentity(holder.pid)));
    await assert.rejects(runGrid(await loadGrid(gridPath), inProcess(out, [])), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(`another runner \\(pid ${holder.pid}\\) is working on this directory`));
      return true;
    });
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
  }
  // The holder is gone: the directory is free again.
  assert.equal((await runGrid(await loadGrid(gridPath), inProcess(out, []))).ran, 1);
  await assert.rejects(
    runGrid(await loadGrid(gridPath, ["batch_size=7"]), inProcess(out, [])),
    /loss=bce,seed=1-[0-9a-f]{8} was run here with a different config \(batch_size 128 -> 7: base, set or --set changed\)/,
  );
  // A grid.json written before keys were added to the kit (their defaults, then) is the same config.
  const record = JSON.parse(await Deno.readTextFile(`${out}/grid.json`));
  for (const cell of record.cells) delete cell.config.tie_order, delete cell.config.history_buckets;
  await Deno.writeTextFile(`${out}/grid.json`, JSON.stringify(record));
  assert.equal((await runGrid(await loadGrid(gridPath), inProcess(out, []))).skipped, 1);
});

Deno.test("runner: a finished cell's pid.json naming a process that is gone is removed; a live one stays", async () => {
  await using dir = await tempDir();
  const gridPath = `${dir.path}/grid.yaml`;
  await Deno.writeTextFile(
    gridPath,
    "base: {dataset: synthetic}\naxes:\n  loss: [bpr_naive, bpr_softplus]\nseeds: [1]\n",
  );
  const out = `${dir.path}/out`;
  const grid = await loadGrid(gridPath);
  await runGrid(grid, inProcess(out));
  const [gone, live] = expandGrid(grid).map((c) => `${out}/runs/${c.id}/pid.json`);
  await Deno.writeTextFile(gone, JSON.stringify({ pid: 2 ** 22 + 1, start: "1" })); // above Linux's pid_max
  await Deno.writeTextFile(live, JSON.stringify(processIdentity(Deno.pid)));
  const outcome = await runGrid(grid, inProcess(out));
  assert.equal(outcome.skipped, 2);
  await assert.rejects(Deno.stat(gone), Deno.errors.NotFound);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(live)), processIdentity(Deno.pid));
});
