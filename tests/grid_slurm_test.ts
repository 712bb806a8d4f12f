/** The Slurm executor against a one-node cluster (scripts/slurm_local.sh), compared with the local executor. */
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

function ablate(executor: string, gridPath: string, out: string) {
  return run(Deno.execPath(), [
    "run",
    "-A",
    `${ROOT}src/cli/ablate.ts`,
    "--grid",
    gridPath,
    "--out",
    out,
    "--executor",
    executor,
    "--workers",
    "2",
    "--cell-script",
    FAKE_CELL,
  ], { FAKE_CELL_MS: "200", NO_COLOR: "1" });
}

Deno.test({
  name: `slurm: a job array gives the same results.csv as local subprocesses${
    installed ? "" : " (skipped: no slurmctld)"
  }`,
  ignore: !installed,
  async fn() {
    const cluster = await run("bash", [`${ROOT}scripts/slurm_local.sh`, "start"]);
    assert.equal(cluster.code, 0, cluster.out);
    const startedHere = !cluster.out.includes("already running");
    try {
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
      const local = await ablate("local", gridPath, `${dir.path}/local`);
      const slurm = await ablate("slurm", gridPath, `${dir.path}/slurm`);
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
    } finally {
      if (startedHere) await run("bash", [`${ROOT}scripts/slurm_local.sh`, "stop"]);
    }
  },
});
