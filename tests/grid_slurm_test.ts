/**
 * The Slurm executor against a one-node cluster (scripts/slurm_local.sh): the same results.csv as the local
 * executor, the resources of the grid file's `slurm:` mapping and flags reach sbatch, and a cell whose task is
 * requeued mid-run (`scontrol requeue`, or the time-limit warning signal its batch shell traps) continues from its
 * checkpoint to the same numbers as an uninterrupted run.
 */
import assert from "node:assert/strict";
import { tempDir } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FAKE_CELL = `${ROOT}tests/fixtures/fake_cell.ts`;
const installed = new Deno.Command("sh", { args: ["-c", "command -v slurmctld"], stdout: "null" }).outputSync().success;
if (!installed) console.warn("grid_slurm_test: skipped, slurmctld is not installed (bash scripts/setup.sh --test)");

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

function ablateArgs(executor: string, gridPath: string, out: string, extra: string[] = []): string[] {
  return [
    "run",
    "-A",
    `${ROOT}src/cli/ablate.ts`,
    "run",
    "--grid",
    gridPath,
    "--out",
    out,
    "--executor",
    executor,
    "--workers",
    "2",
    ...extra,
  ];
}

/** results.csv without the columns that differ between an interrupted and an uninterrupted run. */
function comparable(csv: string): string {
  const fields = (line: string) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1]).slice(0, -1);
  const rows = csv.trim().split("\n").map(fields);
  const drop = new Set(["wall_time_s", "resumed", "log"].map((c) => rows[0].indexOf(c)).filter((i) => i >= 0));
  return rows.map((r) => r.filter((_, i) => !drop.has(i)).join(",")).join("\n");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name: `slurm executor on a one-node cluster${installed ? "" : " (skipped: no slurmctld)"}`,
  ignore: !installed,
  async fn(t) {
    const cluster = await run("bash", [`${ROOT}scripts/slurm_local.sh`, "start"]);
    assert.equal(cluster.code, 0, cluster.out);
    const startedHere = !cluster.out.includes("already running");
    try {
      await t.step("a job array gives the same results.csv as the local executor", async () => {
        await using dir = await tempDir();
        const gridPath = `${dir.path}/grid.yaml`;
        await Deno.writeTextFile(
          gridPath,
          `base: {dataset: synthetic, sasrec_hidden_dim: 48}
axes: {attention_mask: [torch, safe], sasrec_num_heads: [1, 3]}
seeds: [1]
exclude: [{sasrec_num_heads: 3, attention_mask: safe}]
`,
        );
        const env = { FAKE_CELL_MS: "200", NO_COLOR: "1" };
        const cellScript = ["--cell-script", FAKE_CELL];
        const local = await run(Deno.execPath(), ablateArgs("local", gridPath, `${dir.path}/local`, cellScript), env);
        const slurm = await run(Deno.execPath(), ablateArgs("slurm", gridPath, `${dir.path}/slurm`, cellScript), env);
        // The sasrec_num_heads=3 cell fails in both: exit code 1, reported with its log.
        assert.equal(local.code, 1, local.out);
        assert.equal(slurm.code, 1, slurm.out);
        assert.match(slurm.out, /3 cells, 0 already done, 3 to run on slurm/);
        assert.match(
          slurm.out,
          /failed attention_mask=torch,sasrec_num_heads=3,seed=1-\w+: fake failure: .*\(log: .*log\.txt\)/,
        );
        const csv = await Deno.readTextFile(`${dir.path}/slurm/results.csv`);
        assert.equal(csv, await Deno.readTextFile(`${dir.path}/local/results.csv`));
        const statuses = csv.trim().split("\n").slice(1).map((l) => l.match(/,(completed|diverged|failed),/)?.[1]);
        assert.deepEqual(statuses, ["completed", "completed", "failed"]);
        const slurmFiles = [...Deno.readDirSync(`${dir.path}/slurm/slurm`)].map((e) => e.name);
        assert.ok(slurmFiles.includes("job.sh"));
        assert.equal(slurmFiles.filter((f) => /^\d+_\d\.out$/.test(f)).length, 3, slurmFiles.join(" "));
        assert.ok(!slurmFiles.includes("job.json"), "the finished job is no longer recorded as running");
      });

      await t.step(
        "cells requeued mid-run (scontrol requeue, time-limit signal) resume to the same numbers",
        async () => {
          await using dir = await tempDir();
          const gridPath = `${dir.path}/grid.yaml`;
          await Deno.writeTextFile(
            gridPath,
            `base: {dataset: synthetic, synthetic_users: 120, synthetic_items: 100, max_seq_len: 20, sasrec_hidden_dim: 16,
  batch_size: 32, epochs_per_stage: 14, patience: 100, data_dir: ${dir.path}/data}
axes: {sasrec_dropout: [0.2]}
seeds: [1, 2]
slurm: {partition: debug, time: "20:00", cpus_per_task: 1, signal_seconds: 60}
`,
          );
          const env = { NO_COLOR: "1" };
          const local = await run(Deno.execPath(), ablateArgs("local", gridPath, `${dir.path}/local`), env);
          assert.equal(local.code, 0, local.out);

          const out = `${dir.path}/slurm`;
          const child = new Deno.Command(Deno.execPath(), {
            args: ablateArgs("slurm", gridPath, out, ["--mem", "1000"]),
            env,
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const output = child.output();
          while (!(await exists(`${out}/slurm/job.json`))) await sleep(200);
          const jobId = JSON.parse(await Deno.readTextFile(`${out}/slurm/job.json`)).job_id as string;
          const shown = await run("scontrol", ["show", "job", `${jobId}_0`]);
          assert.match(shown.out, /Partition=debug/);
          assert.match(shown.out, /TimeLimit=00:20:00/);
          assert.match(shown.out, /Requeue=1/);
          assert.match(shown.out, /(MinMemoryNode|mem)=1000M/);

          // Interrupt both cells once their first checkpoint exists and before they finish.
          const runs = [...Deno.readDirSync(`${out}/runs`)].map((e) => `${out}/runs/${e.name}`).sort();
          assert.equal(runs.length, 2);
          for (const runDir of runs) {
            while (!(await exists(`${runDir}/checkpoint/state.json`))) await sleep(100);
            assert.ok(!(await exists(`${runDir}/summary.json`)), `${runDir} finished before it could be requeued`);
          }
          const requeue = await run("scontrol", ["requeue", `${jobId}_0`]);
          assert.equal(requeue.code, 0, requeue.out);
          const warn = await run("scancel", ["--signal=USR1", "--batch", `${jobId}_1`]);
          assert.equal(warn.code, 0, warn.out);
          // A requeued task waits two minutes before it may start again; let it start sooner, but only once both
          // are pending again and a few seconds have passed: released at once, a task can be allocated within the
          // second its old instance's job credential was revoked, and slurmd then kills it ("Job credential
          // revoked", seen under load), ending the cell for good.
          const pending = async () => (await run("squeue", ["-h", "-r", "-j", jobId, "-o", "%K %T"])).out;
          const deadline = Date.now() + 60_000;
          while ((await pending()).match(/PENDING/g)?.length !== 2) {
            if (Date.now() > deadline) assert.fail(`the requeued tasks are not both pending:\n${await pending()}`);
            await sleep(200);
          }
          await sleep(3000);
          let done = false;
          output.then(() => done = true);
          while (!done) {
            for (const i of [0, 1]) await run("scontrol", ["update", `JobId=${jobId}_${i}`, "StartTime=now"]);
            await sleep(1000);
          }
          const result = await output;
          const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
          // on failure, show what each cell and each Slurm task printed
          const cellLogs = async () =>
            (await Promise.all([
              ...runs.map((r) => `${r}/log.txt`),
              ...[...Deno.readDirSync(`${out}/slurm`)].filter((e) => e.name.endsWith(".out")).map((e) =>
                `${out}/slurm/${e.name}`
              ),
            ].map(async (f) => `--- ${f}\n${await Deno.readTextFile(f).catch(() => "(missing)")}`))).join("\n");
          if (result.code !== 0) assert.fail(`${text}\n${await cellLogs()}`);

          assert.equal(
            comparable(await Deno.readTextFile(`${out}/results.csv`)),
            comparable(await Deno.readTextFile(`${dir.path}/local/results.csv`)),
          );
          for (const runDir of runs) {
            const summary = JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`));
            assert.equal(summary.resumed, true, `${runDir} continued from its checkpoint`);
          }
          const logs = [0, 1].map((i) => Deno.readTextFileSync(`${out}/slurm/${jobId}_${i}.out`));
          assert.match(logs[0], /restart 1, resume/);
          assert.match(logs[1], /time limit near: stopping the cell and requeueing/);
          assert.match(logs[1], /restart 1, resume/);
        },
      );
    } finally {
      if (startedHere) await run("bash", [`${ROOT}scripts/slurm_local.sh`, "stop"]);
    }
  },
});
