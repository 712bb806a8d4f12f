/**
 * The Slurm executor: the pending cells go out as ONE job array
 * (`sbatch --parsable --array=0-(n-1)%workers -o DIR/slurm/%A_%a.out`); task i runs cell i of a cells file through
 * `ablate.ts --run-task FILE --index i`, which runs the cell exactly as the local executor does (same log, same
 * exit record). The runner polls `squeue` until the array is gone; a task that ended without an exit record is
 * reported failed with its Slurm log. The job of an earlier, killed runner is cancelled before resubmitting.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../util/errors.ts";
import { exists, readJsonIfExists, writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { CELL_FILES, type CellExit, type CellTask, denoRun, runCell } from "./cell.ts";
import { reportEnded } from "./progress.ts";
import type { Executor } from "./runner.ts";

const ABLATE_SCRIPT = fileURLToPath(new URL("../cli/ablate.ts", import.meta.url));

/** Options of the Slurm executor. */
export interface SlurmOptions {
  /** The grid's output directory DIR (job files go to DIR/slurm). */
  out: string;
  /** Most array tasks running at once. */
  workers: number;
  /** Seconds between squeue polls (default 2). */
  pollSeconds?: number;
}

/** The job array currently submitted for DIR (`DIR/slurm/job.json`). */
interface JobRecord {
  job_id: string;
  cells_file: string;
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

async function slurmCommand(name: string, args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(name, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new UserError(`${name} not found: install Slurm (bash scripts/setup.sh --test) or use --executor local`);
    }
    throw err;
  }
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${name} ${args.join(" ")} failed (exit ${output.code}): ${stderr}`);
  }
  return stdout;
}

/** Array task index -> Slurm state of the job's tasks still known to squeue (empty when the job is gone). */
async function taskStates(jobId: string): Promise<Map<number, string>> {
  let text: string;
  try {
    text = await slurmCommand("squeue", ["-h", "-r", "-j", jobId, "-o", "%K %T"]);
  } catch (err) {
    if (err instanceof Error && /Invalid job id/i.test(err.message)) return new Map();
    throw err;
  }
  const states = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [index, state] = line.trim().split(/\s+/);
    if (state && /^\d+$/.test(index)) states.set(Number(index), state);
  }
  return states;
}

async function cancelEarlierJob(slurmDir: string, pollMs: number): Promise<void> {
  const earlier = await readJsonIfExists<JobRecord>(join(slurmDir, "job.json"));
  if (!earlier || (await taskStates(earlier.job_id)).size === 0) return;
  await slurmCommand("scancel", [earlier.job_id]);
  while ((await taskStates(earlier.job_id)).size > 0) await new Promise((r) => setTimeout(r, pollMs));
}

/** Runs cells as one Slurm job array, at most `workers` tasks at once, and waits for it. */
export function slurmExecutor(options: SlurmOptions): Executor {
  const pollMs = (options.pollSeconds ?? 2) * 1000;
  return {
    name: "slurm",
    async run(tasks, progress, signal) {
      const slurmDir = join(options.out, "slurm");
      await Deno.mkdir(slurmDir, { recursive: true });
      await cancelEarlierJob(slurmDir, pollMs);
      const cellsFile = join(slurmDir, `cells-${Date.now()}.json`);
      await writeJsonAtomic(cellsFile, tasks);
      const script = join(slurmDir, "job.sh");
      const argv = denoRun(ABLATE_SCRIPT, ["--run-task", cellsFile, "--index"]).map(quote).join(" ");
      await writeFileAtomic(script, `#!/bin/sh\nexec ${argv} "$SLURM_ARRAY_TASK_ID"\n`);
      const submitted = await slurmCommand("sbatch", [
        "--parsable",
        `--array=0-${tasks.length - 1}%${options.workers}`,
        "-o",
        join(slurmDir, "%A_%a.out"),
        "-J",
        "ablate",
        script,
      ]);
      const jobId = submitted.trim().split(";")[0];
      await writeJsonAtomic(join(slurmDir, "job.json"), { job_id: jobId, cells_file: cellsFile });
      const started = new Set<number>(), ended = new Set<number>();
      for (;;) {
        const states = await taskStates(jobId);
        for (const [i, task] of tasks.entries()) {
          if (ended.has(i)) continue;
          const hasExit = await exists(join(task.runDir, CELL_FILES.exit));
          if (!started.has(i) && (hasExit || states.get(i) === "RUNNING")) {
            started.add(i);
            progress.started(task.id);
          }
          if (!hasExit && states.size > 0) continue;
          if (!hasExit) await recordLostTask(task, join(slurmDir, `${jobId}_${i}.out`));
          ended.add(i);
          await reportEnded(progress, task);
        }
        if (states.size === 0) break;
        if (signal?.aborted) {
          await slurmCommand("scancel", [jobId]);
          return;
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
      await Deno.remove(join(slurmDir, "job.json"));
    },
  };
}

/** Records a task that ended without running its cell to the end (cancelled, timed out, node lost). */
async function recordLostTask(task: CellTask, slurmLog: string): Promise<void> {
  const exit: CellExit = { code: -1, signal: null, error: `Slurm task ended without a result (see ${slurmLog})` };
  await writeJsonAtomic(join(task.runDir, CELL_FILES.exit), exit);
}

/** The body of array task `index`: runs that cell of `cellsFile`; returns the cell's exit code. */
export async function runSlurmTask(cellsFile: string, index: number): Promise<number> {
  const tasks = await readJsonIfExists<CellTask[]>(cellsFile);
  if (!tasks) throw new UserError(`${cellsFile}: cells file not found`);
  const task = tasks[index];
  if (!task) throw new UserError(`${cellsFile}: no cell at index ${index} (it has ${tasks.length})`);
  console.log(`cell ${task.id} -> ${task.runDir}`);
  const exit = await runCell(task);
  console.log(`cell ${task.id}: exit code ${exit.code}${exit.signal ? ` (${exit.signal})` : ""}`);
  return exit.code;
}
