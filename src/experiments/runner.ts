/**
 * Runs a grid into an output directory DIR, resumably:
 * - `DIR/grid.json`: the expanded cells (written atomically before anything runs);
 * - `DIR/runs/<id>/`: one run directory per cell (see cell.ts);
 * - `DIR/asha.json`: the rung decisions of an early-terminated sweep (see asha.ts);
 * - `DIR/results.csv`: one row per cell, written at the end (see results.ts).
 * Cells with a final summary are skipped, failed ones start over, interrupted ones continue from their checkpoint,
 * so a runner killed at any moment (even with SIGKILL) and restarted loses no finished result. A cell that crashes
 * is retried from its checkpoint up to the file's `max_failures` times within the run.
 */
import { join, resolve } from "node:path";
import { resolveConfig } from "../config/load.ts";
import { CELL_FILES } from "../run/files.ts";
import { UserError } from "../util/errors.ts";
import { exists, readJsonIfExists, writeJsonAtomic } from "../util/fs.ts";
import { decideRung, readAshaRecord, rungBudgets, rungValue, writeAshaRecord } from "./asha.ts";
import {
  cellArgs,
  type CellPlan,
  cellStatus,
  type CellTask,
  clearStalePid,
  planCellDir,
  prepareCellDir,
  readCellRecord,
  readRetries,
  writeRetries,
} from "./cell.ts";
import { type Cell, expandGrid, type Grid, trialKey } from "./grid.ts";
import { claimDirectory } from "./lock.ts";
import { createProgress, type GridProgress } from "./progress.ts";
import { type ResultRow, writeResults } from "./results.ts";

/** Runs the cells it is given and returns when all have ended (or `signal` aborted them). */
export interface Executor {
  name: string;
  /**
   * Called before anything is written, once per grid run: gets ready to run up to `unfinished` cells of `script`,
   * throwing a `UserError` when it cannot (the local executor starts its cell workers, which import the script).
   */
  start?(script: string, unfinished: number): Promise<void>;
  run(tasks: CellTask[], progress: GridProgress, signal?: AbortSignal): Promise<void>;
  /** Called once the grid run ends, however it ends: releases what `start` and `run` kept (cell workers). */
  close?(): Promise<void>;
}

/** Content of `DIR/grid.json`. */
export interface GridRecord {
  grid: string;
  axes: Record<string, unknown[]>;
  seeds: number[];
  cells: Cell[];
}

/** Options of `runGrid`. */
export interface RunGridOptions {
  /** The output directory DIR. */
  out: string;
  executor: Executor;
  /** The cell script: src/cli/train.ts (`TRAIN_SCRIPT`) or a stand-in with its options (see cell.ts `cellArgs`). */
  script: string;
  /** Aborting stops scheduling and terminates running cells (they resume on the next run). */
  signal?: AbortSignal;
  /** The progress display for the cells to run (default: `createProgress`). */
  progress?: (total: number) => GridProgress;
  /** Where status lines go (default: console.log). */
  print?: (line: string) => void;
}

/** How many cells a run (or one rung of it) skipped, started, resumed and retried. */
interface Counts {
  skipped: number;
  ran: number;
  resumed: number;
  retried: number;
}

/** What a grid run did (summed over rungs for an early-terminated sweep). */
export interface GridOutcome extends Counts {
  cells: number;
  /** Rows of results.csv. */
  rows: ResultRow[];
}

/** What running a set of cells needs. */
interface RunContext {
  out: string;
  grid: Grid;
  options: RunGridOptions;
  print: (line: string) => void;
}

/** The run directory of a cell. */
export function runDirOf(out: string, id: string): string {
  return join(out, "runs", id);
}

/** Reads `DIR/grid.json`. */
export async function readGridRecord(out: string): Promise<GridRecord> {
  const record = await readJsonIfExists<GridRecord>(join(out, "grid.json"));
  if (!record) throw new UserError(`${out}: no grid.json here (not a grid output directory)`);
  return record;
}

/**
 * Writes grid.json, refusing when a cell of an earlier run in DIR had the same id but another config. Configs are
 * compared resolved (through the schema), so a grid started before keys were added to the kit continues: the new
 * keys take their defaults, which is what the earlier cells ran with.
 */
async function writeGridRecord(out: string, grid: Grid, cells: Cell[]): Promise<void> {
  const path = join(out, "grid.json");
  const previous = await readJsonIfExists<GridRecord>(path);
  const before = new Map(previous?.cells.map((c) => [c.id, resolveConfig(c.config, path)]));
  for (const cell of cells) {
    const old = before.get(cell.id) as Record<string, unknown> | undefined;
    if (old === undefined) continue;
    const now = cell.config as Record<string, unknown>;
    const changed = Object.keys(now).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]));
    if (changed.length > 0) {
      const changes = changed.map((k) => `${k} ${JSON.stringify(old[k])} -> ${JSON.stringify(now[k])}`).join(", ");
      throw new UserError(
        `${out}: cell ${cell.id} was run here with a different config (${changes}: base, set or --set changed); ` +
          `use a new --out directory or delete ${runDirOf(out, cell.id)}`,
      );
    }
  }
  await writeJsonAtomic(path, { grid: grid.path, axes: grid.axes, seeds: grid.seeds, cells });
}

/** The cell's task for `plan`, its directory prepared; `epochs` overrides the budget (an early-termination rung). */
async function prepareTask(cell: Cell, plan: Exclude<CellPlan, "skip">, epochs: number | undefined, ctx: RunContext) {
  const runDir = runDirOf(ctx.out, cell.id);
  await prepareCellDir(runDir, epochs === undefined ? cell.config : { ...cell.config, epochs_per_stage: epochs }, plan);
  const config = join(runDir, CELL_FILES.config);
  return {
    id: cell.id,
    runDir,
    script: ctx.options.script,
    args: cellArgs(config, runDir, plan === "resume"),
    resumeArgs: cellArgs(config, runDir, true),
  };
}

async function execute(tasks: CellTask[], ctx: RunContext): Promise<void> {
  const progress = (ctx.options.progress ?? createProgress)(tasks.length);
  try {
    await ctx.options.executor.run(tasks, progress, ctx.options.signal);
  } finally {
    progress.stop();
  }
}

/** The tasks of `tasks` whose cell crashed and has retries left, prepared to continue from their checkpoints. */
async function retryable(tasks: CellTask[], cells: Map<string, Cell>, epochs: number | undefined, ctx: RunContext) {
  const again: CellTask[] = [];
  for (const task of tasks) {
    const retries = await readRetries(task.runDir);
    if (cellStatus(await readCellRecord(task.runDir)).status !== "failed" || retries >= ctx.grid.maxFailures) continue;
    const plan = await exists(join(task.runDir, CELL_FILES.checkpoint)) ? "resume" : "fresh";
    again.push(await prepareTask(cells.get(task.id)!, plan, epochs, ctx));
    await writeRetries(task.runDir, retries + 1);
  }
  return again;
}

/** Runs the unfinished cells of `cells` (to `epochs` per stage when given), retrying crashed ones. */
async function runCells(cells: Cell[], epochs: number | undefined, ctx: RunContext, label: string): Promise<Counts> {
  const tasks: CellTask[] = [];
  let resumed = 0;
  for (const cell of cells) {
    const plan = await planCellDir(runDirOf(ctx.out, cell.id), epochs);
    if (plan === "skip") {
      await clearStalePid(runDirOf(ctx.out, cell.id));
      continue;
    }
    if (plan === "resume") resumed++;
    tasks.push(await prepareTask(cell, plan, epochs, ctx));
  }
  const skipped = cells.length - tasks.length;
  ctx.print(
    `${label}${cells.length} cells, ${skipped} already done, ${tasks.length} to run` +
      `${resumed ? ` (${resumed} resumed)` : ""} on ${ctx.options.executor.name}`,
  );
  const byId = new Map(cells.map((c) => [c.id, c]));
  let retried = 0;
  for (let pending = tasks; pending.length > 0 && !ctx.options.signal?.aborted;) {
    await execute(pending, ctx);
    if (ctx.options.signal?.aborted) break;
    pending = await retryable(pending, byId, epochs, ctx);
    retried += pending.length;
    if (pending.length > 0) {
      ctx.print(
        `retrying ${pending.length} crashed cell(s), from their checkpoints where they have one ` +
          `(max_failures: ${ctx.grid.maxFailures})`,
      );
    }
  }
  return { skipped, ran: tasks.length, resumed, retried };
}

function add(total: Counts, part: Counts): void {
  for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += part[key];
}

/**
 * A cell's value at the rung it just trained: null unless it completed. A run without validation records (a
 * parameter-free baseline such as Popularity) is valued by its summary's validation.
 */
async function cellRungValue(out: string, cell: Cell): Promise<number | null> {
  const runDir = runDirOf(out, cell.id);
  const record = await readCellRecord(runDir);
  if (cellStatus(record).status !== "completed") return null;
  const metric = cell.config.early_stop_metric;
  return await rungValue(runDir, metric) ?? record.summary?.val?.[metric] ?? null;
}

/** Runs an early-terminated sweep rung by rung (see asha.ts), replaying the decisions already in asha.json. */
async function runRungs(cells: Cell[], ctx: RunContext, total: Counts): Promise<void> {
  const spec = ctx.grid.earlyTerminate!;
  const budgets = rungBudgets(spec);
  const record = await readAshaRecord(ctx.out, spec);
  const replaced = ctx.grid.base.epochs_per_stage;
  ctx.print(
    `early termination: rungs at ${budgets.join(", ")} epochs per stage, 1 in ${spec.reduction_factor} trials ` +
      `promoted per rung${
        replaced === undefined ? "" : ` (max_epochs replaces the base's epochs_per_stage ${replaced})`
      }`,
  );
  let active = cells;
  for (const [rung, epochs] of budgets.entries()) {
    if (record.rungs[rung] === undefined) {
      const label = `grid ${ctx.grid.path}, rung ${rung + 1}/${budgets.length} (${epochs} epochs per stage): `;
      add(total, await runCells(active, epochs, ctx, label));
      if (ctx.options.signal?.aborted || rung === budgets.length - 1) return;
      const reports = await Promise.all(
        active.map(async (c) => ({ id: c.id, trial: trialKey(c.values), value: await cellRungValue(ctx.out, c) })),
      );
      record.rungs.push(decideRung(epochs, reports, spec.reduction_factor));
      await writeAshaRecord(ctx.out, record);
    }
    const { promoted, trials } = record.rungs[rung];
    if (rung === record.rungs.length - 1) {
      ctx.print(`rung ${rung + 1}: ${promoted.length} of ${Object.keys(trials).length} trials promoted`);
    }
    active = active.filter((c) => promoted.includes(trialKey(c.values)));
  }
}

/** How many of `cells` have no final result in `out` yet (read only; a sweep's later rungs may run more). */
async function countUnfinished(out: string, cells: Cell[]): Promise<number> {
  let count = 0;
  for (const cell of cells) if (await planCellDir(runDirOf(out, cell.id)) !== "skip") count++;
  return count;
}

/** Runs every unfinished cell of `grid` into `options.out`, then writes results.csv. */
export async function runGrid(grid: Grid, options: RunGridOptions): Promise<GridOutcome> {
  const out = resolve(options.out);
  const cells = expandGrid(grid);
  const ctx: RunContext = { out, grid, options, print: options.print ?? console.log };
  let release = async () => {};
  try {
    await options.executor.start?.(options.script, await countUnfinished(out, cells));
    await Deno.mkdir(out, { recursive: true });
    release = await claimDirectory(out); // before anything is written in DIR
    await writeGridRecord(out, grid, cells);
    await Deno.mkdir(join(out, "runs"), { recursive: true });
    const total: Counts = { skipped: 0, ran: 0, resumed: 0, retried: 0 };
    if (grid.earlyTerminate) await runRungs(cells, ctx, total);
    else add(total, await runCells(cells, undefined, ctx, `grid ${grid.path}: `));
    const rows = await writeResults(out, grid.axes, cells);
    return { cells: cells.length, ...total, rows };
  } finally {
    await options.executor.close?.();
    await release();
  }
}
