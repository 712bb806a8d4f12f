/**
 * Runs a grid into an output directory DIR, resumably:
 * - `DIR/grid.json`: the expanded cells (written atomically before anything runs);
 * - `DIR/runs/<id>/`: one run directory per cell (see cell.ts);
 * - `DIR/results.csv`: one row per cell, written at the end (see results.ts).
 * Cells with a final summary are skipped, failed ones start over, interrupted ones continue from their checkpoint,
 * so a runner killed at any moment (even with SIGKILL) and restarted loses no finished result.
 */
import { join, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { readJsonIfExists, writeJsonAtomic } from "../util/fs.ts";
import { type CellCommand, type CellTask, planCellDir, prepareCellDir } from "./cell.ts";
import { type Cell, expandGrid, type Grid } from "./grid.ts";
import { claimDirectory } from "./lock.ts";
import { createProgress, type Progress } from "./progress.ts";
import { type ResultRow, writeResults } from "./results.ts";

/** Runs the cells it is given and returns when all have ended (or `signal` aborted them). */
export interface Executor {
  name: string;
  run(tasks: CellTask[], progress: Progress, signal?: AbortSignal): Promise<void>;
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
  /** The argv that trains one cell. */
  command: CellCommand;
  /** Aborting stops scheduling and terminates running cells (they resume on the next run). */
  signal?: AbortSignal;
  /** The progress display for the cells to run (default: `createProgress`). */
  progress?: (total: number) => Progress;
  /** Where status lines go (default: console.log). */
  print?: (line: string) => void;
}

/** What a grid run did. */
export interface GridOutcome {
  cells: number;
  skipped: number;
  ran: number;
  resumed: number;
  /** Rows of results.csv. */
  rows: ResultRow[];
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

/** Writes grid.json, refusing when a cell of an earlier run in DIR had the same id but another config. */
async function writeGridRecord(out: string, grid: Grid, cells: Cell[]): Promise<void> {
  const previous = await readJsonIfExists<GridRecord>(join(out, "grid.json"));
  const before = new Map(previous?.cells.map((c) => [c.id, JSON.stringify(c.config)]));
  for (const cell of cells) {
    const old = before.get(cell.id);
    if (old !== undefined && old !== JSON.stringify(cell.config)) {
      throw new UserError(
        `${out}: cell ${cell.id} was run here with a different config (base, set or --set changed); ` +
          `use a new --out directory or delete ${runDirOf(out, cell.id)}`,
      );
    }
  }
  await writeJsonAtomic(join(out, "grid.json"), { grid: grid.path, axes: grid.axes, seeds: grid.seeds, cells });
}

/** Runs every unfinished cell of `grid` into `options.out`, then writes results.csv. */
export async function runGrid(grid: Grid, options: RunGridOptions): Promise<GridOutcome> {
  const out = resolve(options.out);
  const cells = expandGrid(grid);
  const print = options.print ?? console.log;
  await Deno.mkdir(join(out, "runs"), { recursive: true });
  const release = await claimDirectory(out);
  try {
    await writeGridRecord(out, grid, cells);
    const tasks: CellTask[] = [];
    let resumed = 0;
    for (const cell of cells) {
      const runDir = runDirOf(out, cell.id);
      const plan = await planCellDir(runDir);
      if (plan === "skip") continue;
      await prepareCellDir(runDir, cell.config, plan);
      if (plan === "resume") resumed++;
      const command = options.command({ config: join(runDir, "config.yaml"), out: runDir, resume: plan === "resume" });
      tasks.push({ id: cell.id, runDir, command });
    }
    const skipped = cells.length - tasks.length;
    print(
      `grid ${grid.path}: ${cells.length} cells, ${skipped} already done, ${tasks.length} to run` +
        `${resumed ? ` (${resumed} resumed)` : ""} on ${options.executor.name}`,
    );
    if (tasks.length > 0) {
      const progress = (options.progress ?? createProgress)(tasks.length);
      try {
        await options.executor.run(tasks, progress, options.signal);
      } finally {
        progress.stop();
      }
    }
    const rows = await writeResults(out, grid.axes, cells);
    return { cells: cells.length, skipped, ran: tasks.length, resumed, rows };
  } finally {
    await release();
  }
}
