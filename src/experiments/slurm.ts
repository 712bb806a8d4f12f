/**
 * The Slurm executor: the pending cells go out as ONE job array
 * (`sbatch --parsable --array=0-(n-1)%workers -o DIR/slurm/%A_%a.out` plus the resources of slurm_resources.ts);
 * task i runs cell i of a cells file through `ablate.ts run-task FILE --index i`, which runs the cell exactly as
 * the local executor does (same log, same exit record). Tasks are requeueable: the time-limit warning signal makes
 * the task's shell stop the cell and requeue the task, and a task requeued or preempted by Slurm
 * (`SLURM_RESTART_COUNT` > 0) plans its cell again from its directory, so it continues from its last checkpoint.
 * The runner polls `squeue` until the array is gone; a cell ends when its task has left the queue (a requeued task
 * is still in it), and one that left without an exit record is reported failed with its Slurm log. The job of an
 * earlier, killed runner is cancelled before resubmitting.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/load.ts";
import { UserError } from "../util/errors.ts";
import { CELL_FILES } from "../run/files.ts";
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { type CellExit, type CellTask, denoRun, planCellDir, prepareCellDir, recordNotRun, runCell } from "./cell.ts";
import { reportEnded } from "./progress.ts";
import type { Executor } from "./runner.ts";
import { sbatchResourceArgs, type SlurmResources } from "./slurm_resources.ts";

const ABLATE_SCRIPT = fileURLToPath(new URL("../cli/ablate.ts", import.meta.url));

/** Options of the Slurm executor. */
export interface SlurmOptions {
  /** The grid's output directory DIR (job files go to DIR/slurm). */
  out: string;
  /** Most array tasks running at once. */
  workers: number;
  /** What each array task asks for. */
  resources: SlurmResources;
  /** Seconds between squeue polls (default 2). */
  pollSeconds?: number;
}

/**
 * How long a killed cell's task must stay missing from squeue before the cell counts as ended: this many polls in a
 * row and at least `ABSENT_SECONDS` (a requeued task can be unlisted for a moment, longer when the controller is
 * loaded: seen failing with 3 polls of 2 s on a 2-core machine under load).
 */
const ABSENT_POLLS = 3;
const ABSENT_SECONDS = 30;

/** Attempts at a Slurm command that failed for a passing reason (the controller busy or briefly unreachable). */
const SLURM_ATTEMPTS = 5;

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
  let text = "";
  for (let attempt = 1;; attempt++) {
    try {
      text = await slurmCommand("squeue", ["-h", "-r", "-j", jobId, "-o", "%K %T"]);
      break;
    } catch (err) {
      if (err instanceof Error && /Invalid job id/i.test(err.message)) return new Map();
      if (err instanceof UserError || attempt === SLURM_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
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
      const argv = denoRun(ABLATE_SCRIPT, ["run-task", cellsFile, "--index"]).map(quote).join(" ");
      await writeFileAtomic(script, jobScript(argv));
      const submitted = await slurmCommand("sbatch", [
        "--parsable",
        `--array=0-${tasks.length - 1}%${options.workers}`,
        "-o",
        join(slurmDir, "%A_%a.out"),
        "-J",
        "ablate",
        ...sbatchResourceArgs(options.resources),
        script,
      ]);
      const jobId = submitted.trim().split(";")[0];
      await writeJsonAtomic(join(slurmDir, "job.json"), { job_id: jobId, cells_file: cellsFile });
      const started = new Set<number>(), ended = new Set<number>();
      // interrupted cells whose task squeue no longer lists: polls and the time since it was first missed
      const absent = new Map<number, { polls: number; since: number }>();
      for (;;) {
        const states = await taskStates(jobId);
        for (const [i, task] of tasks.entries()) {
          if (ended.has(i)) continue;
          const state = states.get(i);
          if (!started.has(i) && (state === undefined || state === "RUNNING")) {
            started.add(i);
            progress.started(task.id);
          }
          if (state !== undefined) { // pending, running, or requeued: the cell is not over
            absent.delete(i);
            continue;
          }
          const exit = await readJsonIfExists<CellExit>(join(task.runDir, CELL_FILES.exit));
          if (exit === undefined || exit.signal !== null) {
            // Killed or never reported: a task being requeued can be missing from squeue for a moment, so wait for
            // it to stay gone before calling the cell over.
            const missing = absent.get(i) ?? { polls: 0, since: performance.now() };
            absent.set(i, { ...missing, polls: missing.polls + 1 });
            const seconds = (performance.now() - missing.since) / 1000;
            if (missing.polls + 1 < ABSENT_POLLS || seconds < ABSENT_SECONDS) continue;
            if (exit === undefined) await recordLostTask(task, join(slurmDir, `${jobId}_${i}.out`));
          }
          ended.add(i);
          absent.delete(i);
          await reportEnded(progress, task);
        }
        if (ended.size === tasks.length || (states.size === 0 && absent.size === 0)) break;
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

/**
 * The batch script of an array task running `argv` plus the task index. On USR1 (sbatch `--signal=B:USR1@S`, S
 * seconds before the time limit) it stops the cell, which keeps its last epoch checkpoint, and requeues the task.
 */
function jobScript(argv: string): string {
  return `#!/bin/sh
requeue() {
  echo "time limit near: stopping the cell and requeueing \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
  kill -TERM "$child" 2>/dev/null
  wait "$child"
  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
  exit 0
}
trap requeue USR1
${argv} "$SLURM_ARRAY_TASK_ID" &
child=$!
wait "$child"
`;
}

/** Records a task that ended without running its cell to the end (cancelled, timed out, node lost). */
async function recordLostTask(task: CellTask, slurmLog: string): Promise<void> {
  await recordNotRun(task.runDir, `Slurm task ended without a result (see ${slurmLog})`);
}

/**
 * The body of array task `index`: runs that cell of `cellsFile` and returns its exit code. A restarted task (requeued
 * or preempted: `SLURM_RESTART_COUNT` > 0) plans the cell again from its directory: a finished cell is left alone, an
 * interrupted one continues from its checkpoint. SIGTERM (the job script stopping the cell before the time limit,
 * or `scancel`) is passed on to the cell.
 */
export async function runSlurmTask(cellsFile: string, index: number): Promise<number> {
  const tasks = await readJsonIfExists<CellTask[]>(cellsFile);
  if (!tasks) throw new UserError(`${cellsFile}: cells file not found`);
  const task = tasks[index];
  if (!task) throw new UserError(`${cellsFile}: no cell at index ${index} (it has ${tasks.length})`);
  const restarts = Number(Deno.env.get("SLURM_RESTART_COUNT") ?? 0);
  let args = task.args;
  if (restarts > 0) {
    const plan = await planCellDir(task.runDir);
    console.log(`cell ${task.id}: restart ${restarts}, ${plan === "skip" ? "already finished" : plan}`);
    if (plan === "skip") return 0;
    await prepareCellDir(task.runDir, await loadConfig(join(task.runDir, CELL_FILES.config)), plan);
    if (plan === "resume") args = task.resumeArgs;
  }
  console.log(`cell ${task.id} -> ${task.runDir}`);
  const stop = new AbortController();
  const onTerm = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    const exit = await runCell({ ...task, args }, stop.signal);
    console.log(`cell ${task.id}: exit code ${exit.code}${exit.signal ? ` (${exit.signal})` : ""}`);
    return exit.code;
  } finally {
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}
