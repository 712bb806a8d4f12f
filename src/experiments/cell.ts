/**
 * One cell's run directory, the records of its attempts, and running a cell in a process of its own (cell workers,
 * worker_pool.ts, run many in one process and keep the same records).
 *
 * The engine writes `config.yaml` before a run, `pid.json` while it runs (the process running it), `exit.json` when
 * the attempt ends and `retries.json` when it retries a crashed cell; the trainer writes `summary.json` last and
 * atomically, and its output goes to `log.txt` (appended per attempt, after a header line with the command that
 * trains the cell in a process of its own).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { configToYaml, parseConfigYaml } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { CELL_FILES, runPath } from "../run/files.ts";
import { readRunSummary } from "../run/json_files.ts";
import type { RunSummary } from "../run/records.ts";
import { inspectRunDir } from "../train/run_guard.ts";
import { exists, readJsonIfExists, writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { isRunning, killAndWait, type ProcessIdentity, processIdentity } from "./process.ts";

/** How a cell's last process ended, as recorded by the engine. */
export interface CellExit {
  code: number;
  signal: string | null;
  /** Why the cell has no result when its process never reported (e.g. a lost Slurm task). */
  error?: string;
}

/**
 * A cell ready to run: its id, its run directory, the cell script (src/cli/train.ts unless a grid is told otherwise)
 * and that script's arguments to train the cell and to continue it (see `cellArgs`).
 */
export interface CellTask {
  id: string;
  runDir: string;
  script: string;
  args: string[];
  /** The arguments that continue the cell from its checkpoint (a requeued Slurm task whose cell was interrupted). */
  resumeArgs: string[];
}

/** What a run directory says about its cell. */
export interface CellRecord {
  summary?: Partial<RunSummary>;
  exit?: CellExit;
}

/** A cell's status: the summary's own, "failed" when the process ended without a final summary, else "pending". */
export type CellStatus = "completed" | "diverged" | "failed" | "pending";

/** What a (re)run does with a cell: nothing (final result), start over, or continue from its checkpoint. */
export type CellPlan = "skip" | "fresh" | "resume";

/** The trainer's command-line entry point. */
export const TRAIN_SCRIPT = fileURLToPath(new URL("../cli/train.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/**
 * V8 flags of every cell process. `--single-threaded-gc` keeps the garbage collector on the main thread: a lone
 * training process otherwise keeps ~1.3 cores busy with V8's helper threads, which a grid running one worker per core
 * has no core for; measured per cell (7 s of training) 8.7 → 7.9 CPU s at the same wall time, and the smoke grid's
 * 2-worker throughput 9,300 → 10,300 cells/h (docs/performance.md "Grid throughput").
 */
const CELL_V8_FLAGS = "--v8-flags=--single-threaded-gc";

/** The argv running a Deno script of this project as a cell, with all permissions, whatever the working directory. */
export function denoRun(script: string, args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", CELL_V8_FLAGS, "--config", DENO_CONFIG, script, ...args];
}

/** A cell script's arguments (the trainer's options): `--config FILE --out DIR [--resume]`. */
export function cellArgs(config: string, out: string, resume: boolean): string[] {
  return ["--config", config, "--out", out, ...(resume ? ["--resume"] : [])];
}

/** Reads the engine's and the trainer's records of a cell. */
export async function readCellRecord(runDir: string): Promise<CellRecord> {
  return {
    summary: await readRunSummary(runDir),
    exit: await readJsonIfExists<CellExit>(runPath(runDir, "exit")),
  };
}

function isFinal(record: CellRecord): boolean {
  return record.summary?.status === "completed" || record.summary?.status === "diverged";
}

/** The status of a cell and, when it failed, why. */
export function cellStatus(record: CellRecord): { status: CellStatus; error: string | null } {
  const { summary, exit } = record;
  if (summary?.status === "completed" || summary?.status === "diverged") {
    return { status: summary.status, error: summary.error ?? null };
  }
  if (summary?.status === "failed") return { status: "failed", error: summary.error ?? "failed" };
  if (exit === undefined) return { status: "pending", error: null };
  if (exit.error) return { status: "failed", error: exit.error };
  if (exit.signal) return { status: "failed", error: `killed by ${exit.signal}` };
  if (exit.code !== 0) return { status: "failed", error: `exit code ${exit.code}` };
  return { status: "failed", error: "exited without writing summary.json" };
}

/**
 * What a rerun does with a cell: final results are kept; failed cells start over; cells that never ran or were
 * interrupted (killed by a signal, or whose runner died) continue from their checkpoint when they have one.
 */
export function planCell(record: CellRecord, hasCheckpoint: boolean): CellPlan {
  if (isFinal(record)) return "skip";
  const interrupted = record.exit === undefined || (record.exit.signal !== null && !record.exit.error);
  if (record.summary?.status === "failed" || !interrupted) return "fresh";
  return hasCheckpoint ? "resume" : "fresh";
}

/** Epochs per stage in the cell's `config.yaml` (what its last run was asked to train); 0 without one. */
async function configuredEpochs(runDir: string): Promise<number> {
  const path = runPath(runDir, "config");
  if (!(await exists(path))) return 0;
  return Number(parseConfigYaml(await Deno.readTextFile(path), path).epochs_per_stage ?? 0);
}

/**
 * Plans a cell from its directory (see `planCell`; a checkpoint an interrupted swap left counts, run_guard.ts). With
 * `epochs` (an early-termination rung), a completed cell whose run trained fewer epochs per stage continues from its
 * checkpoint.
 */
export async function planCellDir(runDir: string, epochs?: number): Promise<CellPlan> {
  const record = await readCellRecord(runDir);
  const hasCheckpoint = (await inspectRunDir(runDir)).checkpoint !== undefined;
  const plan = planCell(record, hasCheckpoint);
  if (plan !== "skip" || epochs === undefined || record.summary?.status !== "completed") return plan;
  if (await configuredEpochs(runDir) >= epochs) return "skip";
  return hasCheckpoint ? "resume" : "fresh";
}

/**
 * Removes the `pid.json` of a finished cell whose process is gone: a runner killed while the cell ran (SIGKILL) left
 * it, and the cell's process (or worker) finished the cell on its own.
 */
export async function clearStalePid(runDir: string): Promise<void> {
  const recorded = await readJsonIfExists<ProcessIdentity>(runPath(runDir, "pid"));
  if (recorded && !isRunning(recorded)) await Deno.remove(runPath(runDir, "pid"));
}

/** Times the cell was retried after a crash since it last started fresh. */
export async function readRetries(runDir: string): Promise<number> {
  return (await readJsonIfExists<{ retries: number }>(runPath(runDir, "retries")))?.retries ?? 0;
}

/** Records that the cell is being retried for the `retries`-th time. */
export function writeRetries(runDir: string, retries: number): Promise<void> {
  return writeJsonAtomic(runPath(runDir, "retries"), { retries });
}

/**
 * Gets a run directory ready for `plan`: kills a cell process left running by a dead runner, clears everything but
 * the log for a fresh start, removes the previous exit record (and, to resume, the previous summary) and writes the
 * cell's `config.yaml`.
 */
export async function prepareCellDir(runDir: string, config: Config, plan: Exclude<CellPlan, "skip">): Promise<void> {
  const orphan = await readJsonIfExists<ProcessIdentity>(runPath(runDir, "pid"));
  if (orphan && isRunning(orphan)) await killAndWait(orphan);
  await Deno.mkdir(runDir, { recursive: true });
  for await (const entry of Deno.readDir(runDir)) {
    const stale = entry.name === CELL_FILES.exit || entry.name === CELL_FILES.pid ||
      (plan === "resume" && entry.name === CELL_FILES.summary);
    if (stale || (plan === "fresh" && entry.name !== CELL_FILES.log)) {
      await Deno.remove(join(runDir, entry.name), { recursive: true });
    }
  }
  await writeFileAtomic(runPath(runDir, "config"), configToYaml(config));
}

/** Environment variables set for every cell process (the rest is inherited). */
export const CELL_ENV = { NO_COLOR: "1" };

/**
 * Appends the header of a cell attempt to its `log.txt`: the time and the command that trains the cell in a process
 * of its own, followed by `note` (e.g. which cell worker runs it).
 */
export async function logAttempt(task: CellTask, note = ""): Promise<void> {
  const line = `### ${new Date().toISOString()} ${denoRun(task.script, task.args).join(" ")}${note}\n`;
  await Deno.writeTextFile(runPath(task.runDir, "log"), line, { append: true });
}

/** Records an attempt that never ran its cell (a lost Slurm task, a worker that did not start): `exit.json` says why. */
export async function recordNotRun(runDir: string, error: string): Promise<CellExit> {
  const exit: CellExit = { code: -1, signal: null, error };
  await writeJsonAtomic(runPath(runDir, "exit"), exit);
  return exit;
}

/**
 * Runs `ended` (which resolves with how the cell's process or attempt ended) with the cell's process recorded in
 * `pid.json` meanwhile (when /proc tells its identity), then writes `exit.json`.
 */
export async function recordAttempt(task: CellTask, pid: number, ended: Promise<CellExit>): Promise<CellExit> {
  const identity = processIdentity(pid);
  if (identity) await writeJsonAtomic(runPath(task.runDir, "pid"), identity);
  const exit = await ended;
  await writeJsonAtomic(runPath(task.runDir, "exit"), exit);
  if (identity) await Deno.remove(runPath(task.runDir, "pid"));
  return exit;
}

/**
 * Runs a cell in a process of its own with stdout and stderr appended to its `log.txt` (the process writes there
 * itself, so it is unaffected if this runner dies), recorded in `pid.json` while it runs, and writes `exit.json` when
 * it ends. Aborting `signal` sends the process SIGTERM.
 */
export async function runCell(task: CellTask, signal?: AbortSignal): Promise<CellExit> {
  await logAttempt(task);
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" >>"$0" 2>&1', runPath(task.runDir, "log"), ...denoRun(task.script, task.args)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: CELL_ENV,
    signal,
  }).spawn();
  return await recordAttempt(task, child.pid, child.status.then((s) => ({ code: s.code, signal: s.signal })));
}
