/** `deno task ablate`: ablation grids (run, summarize, Slurm array task). Usage and flags: `ABLATE_SPEC`. */
import { resolve } from "node:path";
import { TRAIN_SCRIPT } from "../experiments/cell.ts";
import { type Grid, loadGrid } from "../experiments/grid.ts";
import { localExecutor } from "../experiments/local.ts";
import { writeResults } from "../experiments/results.ts";
import { type Executor, readGridRecord, runGrid } from "../experiments/runner.ts";
import { runSlurmTask, slurmExecutor } from "../experiments/slurm.ts";
import { type SlurmResources, SlurmResourcesSchema } from "../experiments/slurm_resources.ts";
import { GRID_FILES } from "../run/files.ts";
import type { ResultRow } from "../experiments/results.ts";
import { runMain, UserError } from "../util/errors.ts";
import { checkWritableDir } from "../util/fs.ts";
import { type CommandSpec, commonFlags, type FlagSpec, parseCli } from "./args.ts";

/** Flags that set what each Slurm array task asks for (they override the grid file's `slurm:` mapping). */
const SLURM_FLAGS: Record<string, FlagSpec & { key: keyof SlurmResources }> = {
  partition: { key: "partition", type: "string", value: "NAME", description: "Slurm partition (sbatch -p)" },
  time: { key: "time", type: "string", value: "LIMIT", description: "time limit per cell, e.g. 1:30:00 (sbatch -t)" },
  mem: { key: "mem", type: "string", value: "SIZE", description: "memory per cell, e.g. 8G (sbatch --mem)" },
  "cpus-per-task": { key: "cpus_per_task", type: "int", value: "N", min: 1, description: "CPUs per cell (sbatch -c)" },
  gres: { key: "gres", type: "string", value: "SPEC", description: "generic resources per cell, e.g. gpu:1" },
  "signal-seconds": {
    key: "signal_seconds",
    type: "int",
    value: "S",
    min: 1,
    max: 3600,
    description: "warn a cell S seconds before its time limit: it stops and its task is requeued (default 120)",
  },
};

/** The Slurm resources of `grid` with the flags' overrides, validated (errors name the flag or the grid file). */
function slurmResources(grid: Grid, values: Record<string, unknown>): SlurmResources {
  const flags = Object.entries(SLURM_FLAGS).filter(([name]) => values[name] !== undefined);
  const merged = { ...grid.slurm, ...Object.fromEntries(flags.map(([name, f]) => [f.key, values[name]])) };
  const parsed = SlurmResourcesSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const flag = flags.find(([, f]) => f.key === issue.path[0]);
  const source = flag ? `--${flag[0]} ${values[flag[0]]}` : `${grid.path}: slurm.${issue.path.join(".")}`;
  throw new UserError(`${source}: ${issue.message}`);
}

/** The command line of `deno task ablate`: one subcommand per mode. */
export const ABLATE_SPEC: CommandSpec = {
  usage: "deno task ablate",
  summary: "Ablation grids and sweeps: run one (resumable), summarize one, or run one Slurm array task.",
  details: ["A grid file may also be a sweep: random search, early termination, retries (configs/README.md, Sweeps)."],
  subcommands: {
    run: {
      usage: "deno task ablate run",
      summary: "Run every unfinished cell of a grid or sweep (rerun the same command after an interruption).",
      details: [
        "Writes DIR/grid.json, DIR/runs/<id>/, DIR/results.csv, prints the summary and writes DIR/grid_summary.{csv,json}. " +
        "With --executor slurm the cells go out as one job array asking for the grid file's slurm: resources, which " +
        "the Slurm flags below override.",
      ],
      flags: {
        grid: {
          type: "string",
          value: "FILE",
          description: "grid or sweep file (configs/grids/*.yaml)",
          required: true,
        },
        out: {
          type: "string",
          value: "DIR",
          description: "grid directory (runs/, results.csv, grid_summary.*)",
          required: true,
        },
        ...commonFlags("set", "backend"),
        executor: { type: "string", choices: ["local", "slurm"], description: "where cells run (default local)" },
        workers: { type: "int", value: "N", min: 1, description: "cells at a time (default: the CPU count)" },
        "process-per-cell": {
          type: "boolean",
          description: "local: start a process per cell instead of reusing cell workers (same numbers, slower start)",
        },
        "cell-script": {
          type: "string",
          value: "FILE",
          description: "script run per cell instead of src/cli/train.ts (exports main(args) taking --config, " +
            "--out, --resume)",
        },
        ...SLURM_FLAGS,
      },
      exitCodes: {
        0: "every cell finished (completed, diverged, or stopped by early termination)",
        1: "some cell failed or was interrupted",
        2: "user error",
        130: "interrupted (rerun the same command to continue)",
      },
    },
    summarize: {
      usage: "deno task ablate summarize",
      summary:
        "Rebuild DIR/results.csv from the run directories, print the summary, write DIR/grid_summary.{csv,json}.",
      positionals: [{ name: "DIR", description: "a grid directory written by `ablate run`" }],
      exitCodes: { 0: "every cell has a final result", 1: "some cell failed or has none yet", 2: "user error" },
    },
    "run-task": {
      usage: "deno task ablate run-task",
      summary: "Run cell I of a cells file: the body of a Slurm array task (written by the Slurm executor).",
      positionals: [{ name: "CELLS", description: "the cells file (DIR/slurm/cells-*.json)" }],
      flags: { index: { type: "int", value: "I", min: 0, description: "the cell index", required: true } },
      exitCodes: { 0: "the cell's process exited 0", 2: "user error" },
    },
  },
};

/** The absolute path of `--cell-script FILE`, which must be a file (what it exports is checked by the first worker). */
async function cellScript(file: string): Promise<string> {
  const path = resolve(file);
  const stat = await Deno.stat(path).catch(() => undefined);
  if (!stat?.isFile) throw new UserError(`--cell-script ${file}: ${stat ? "not a file" : "no such file"}`);
  return path;
}

/** The summary module, imported only where a command summarises: it loads danfojs (0.48 s), which Slurm array tasks
 * and `--help` do not need (docs/performance.md, "Grid throughput"). */
const importSummary = () => import("../experiments/summary.ts");

/** Prints and writes the summary of rows; returns the process exit code (1 when some cell has no final result). */
async function summarize(
  out: string,
  axes: Record<string, unknown[]>,
  rows: ResultRow[],
  summaryModule = importSummary(),
): Promise<number> {
  const { summarizeResults, summaryTables, writeSummary } = await summaryModule;
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
  console.log(`wrote ${out}/results.csv, ${out}/${GRID_FILES.summaryCsv}, ${out}/${GRID_FILES.summary}`);
  return unfinished.length > 0 ? 1 : 0;
}

await runMain(async () => {
  const args = parseCli(ABLATE_SPEC, Deno.args);
  const [mode] = args.command;
  if (mode === "run-task") Deno.exit(await runSlurmTask(args.positionals.CELLS, args.values.index as number));
  if (mode === "summarize") {
    const out = resolve(args.positionals.DIR);
    const record = await readGridRecord(out);
    Deno.exit(await summarize(out, record.axes, await writeResults(out, record.axes, record.cells)));
  }
  const v = args.values as Record<string, string | undefined>;
  const out = resolve(args.out!);
  await checkWritableDir(out, `--out ${args.out}`);
  const workers = args.values.workers as number | undefined ?? navigator.hardwareConcurrency;
  const grid = await loadGrid(v.grid!, args.sets);
  const script = v["cell-script"] ? await cellScript(v["cell-script"]) : TRAIN_SCRIPT;
  const executors: Record<string, () => Executor> = {
    local: () => localExecutor(workers, { processPerCell: Boolean(args.values["process-per-cell"]) }),
    slurm: () => slurmExecutor({ out, workers, resources: slurmResources(grid, args.values) }),
  };
  const makeExecutor = executors[v.executor ?? "local"];
  if (v.executor === "slurm" && args.values["process-per-cell"]) {
    throw new UserError("--process-per-cell: only with --executor local (each Slurm array task is a process already)");
  }
  const abort = new AbortController();
  let firstSignal = 0;
  const stop = () => {
    if (!abort.signal.aborted) {
      firstSignal = performance.now();
      abort.abort();
    } else if (performance.now() - firstSignal > 500) {
      Deno.exit(130); // a second Ctrl-C; not the copy of the first that `deno task` forwards to its child (~ms later)
    }
  };
  const summaryModule = importSummary(); // loads while the cells run: the runner waits on them with a core to spare
  for (const name of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(name, stop);
  const outcome = await runGrid(grid, {
    out,
    executor: makeExecutor(),
    script,
    signal: abort.signal,
  });
  if (abort.signal.aborted) {
    console.log(`interrupted: rerun the same command to continue (${out})`);
    Deno.exit(130);
  }
  Deno.exit(await summarize(out, grid.axes, outcome.rows, summaryModule));
});
