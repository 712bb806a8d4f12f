/**
 * Ablation grids.
 *   deno task ablate --grid FILE --out DIR [--executor local|slurm] [--workers N] [--set k=v ...]
 *                    [--cell-script FILE]
 *     runs every unfinished cell of the grid (resumable: rerun the same command after an interruption), writes
 *     DIR/grid.json, DIR/runs/<id>/, DIR/results.csv, then prints the summary and writes DIR/summary.{csv,json}.
 *     `--cell-script` replaces src/cli/train.ts by another script with its options (--config, --out, --resume).
 *   deno task ablate --summarize DIR
 *     rebuilds DIR/results.csv from the run directories, prints the summary and writes DIR/summary.{csv,json}.
 *   deno task ablate --run-task CELLS --index I
 *     runs cell I of a cells file (the body of a Slurm array task; written by the Slurm executor).
 * A grid file may also be a sweep (random search, early termination, retries: configs/README.md, "Sweeps").
 * Exit code 0 when every cell finished (completed, diverged or stopped by early termination), 1 when some failed or
 * were interrupted, 2 on user errors.
 */
import { resolve } from "node:path";
import { scriptCommand, TRAIN_SCRIPT } from "../experiments/cell.ts";
import { loadGrid } from "../experiments/grid.ts";
import { localExecutor } from "../experiments/local.ts";
import { writeResults } from "../experiments/results.ts";
import { type Executor, readGridRecord, runGrid } from "../experiments/runner.ts";
import { runSlurmTask, slurmExecutor } from "../experiments/slurm.ts";
import { summarizeResults, summaryTables, writeSummary } from "../experiments/summary.ts";
import type { ResultRow } from "../experiments/results.ts";
import { runMain, UserError } from "../util/errors.ts";
import { checkWritableDir } from "../util/fs.ts";
import { parseCommonArgs } from "./args.ts";

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${text}: expected a positive integer`);
  return n;
}

/** Prints and writes the summary of rows; returns the process exit code (1 when some cell has no final result). */
async function summarize(out: string, axes: Record<string, unknown[]>, rows: ResultRow[]): Promise<number> {
  const summary = summarizeResults(rows, axes);
  await writeSummary(out, summary, axes);
  console.log(summaryTables(summary, axes));
  const unfinished = rows.filter((r) => r.status === "failed" || r.status === "pending");
  for (const r of unfinished) {
    console.log(`${r.status}: ${r.id}${r.error ? `: ${r.error}` : ""} (log: ${out}/${r.log})`);
  }
  const stopped = rows.filter((r) => r.status === "stopped").length;
  if (stopped > 0) console.log(`stopped by early termination: ${stopped} cells (decisions in ${out}/asha.json)`);
  const retried = rows.filter((r) => r.retries > 0);
  if (retried.length > 0) {
    console.log(`retried after a crash: ${retried.map((r) => `${r.id} (${r.retries}x)`).join(", ")}`);
  }
  console.log(`epochs trained: ${rows.reduce((sum, r) => sum + (r.epochs ?? 0), 0)} (all cells, all rungs)`);
  console.log(`wrote ${out}/results.csv, ${out}/summary.csv, ${out}/summary.json`);
  return unfinished.length > 0 ? 1 : 0;
}

await runMain(async () => {
  const args = parseCommonArgs(Deno.args, {
    grid: { type: "string" },
    executor: { type: "string" },
    workers: { type: "string" },
    "cell-script": { type: "string" },
    summarize: { type: "string" },
    "run-task": { type: "string" },
    index: { type: "string" },
  });
  const v = args.values as Record<string, string | undefined>;
  if (v["run-task"] !== undefined) {
    if (v.index === undefined) throw new UserError("--run-task needs --index");
    Deno.exit(await runSlurmTask(v["run-task"], Number(v.index)));
  }
  if (v.summarize !== undefined) {
    const out = resolve(v.summarize);
    const record = await readGridRecord(out);
    Deno.exit(await summarize(out, record.axes, await writeResults(out, record.axes, record.cells)));
  }
  if (args.config !== undefined) throw new UserError("ablate takes --grid FILE (a grid spec), not --config");
  if (v.grid === undefined || args.out === undefined) {
    throw new UserError("usage: ablate --grid FILE --out DIR [--executor local|slurm] [--workers N] [--set k=v]");
  }
  const out = resolve(args.out);
  await checkWritableDir(out, `--out ${args.out}`);
  const workers = v.workers === undefined ? navigator.hardwareConcurrency : positiveInt(v.workers, "--workers");
  const executors: Record<string, () => Executor> = {
    local: () => localExecutor(workers),
    slurm: () => slurmExecutor({ out, workers }),
  };
  const makeExecutor = executors[v.executor ?? "local"];
  if (!makeExecutor) throw new UserError(`--executor ${v.executor}: expected local or slurm`);
  const grid = await loadGrid(v.grid, args.sets);
  const abort = new AbortController();
  const stop = () => abort.signal.aborted ? Deno.exit(130) : abort.abort(); // a second signal exits at once
  for (const name of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(name, stop);
  const outcome = await runGrid(grid, {
    out,
    executor: makeExecutor(),
    command: scriptCommand(v["cell-script"] ? resolve(v["cell-script"]) : TRAIN_SCRIPT),
    signal: abort.signal,
  });
  if (abort.signal.aborted) {
    console.log(`interrupted: rerun the same command to continue (${out})`);
    Deno.exit(130);
  }
  Deno.exit(await summarize(out, grid.axes, outcome.rows));
});
