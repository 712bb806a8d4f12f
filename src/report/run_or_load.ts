/**
 * Running a grid into its directory, or loading it when it is already there: the cell shared by the notebooks that
 * report on grids (02 ablations, 04 write-up). Failed cells are printed with their logs.
 */
import { join, resolve } from "node:path";
import { TRAIN_SCRIPT } from "../experiments/cell.ts";
import { loadGrid } from "../experiments/grid.ts";
import { localExecutor } from "../experiments/local.ts";
import type { GridProgress } from "../experiments/progress.ts";
import { runGrid } from "../experiments/runner.ts";
import { ablateCommand, type GridResults, readGridResultsIfExists, shownPath } from "./read.ts";

/** A grid a notebook reports on: its grid file, its output directory and whether to run it. */
export interface GridSource {
  /** The grid YAML file (configs/grids/NAME.yaml). */
  file: string;
  /** The grid output directory. */
  dir: string;
  /** Run (or resume) the grid before reading it; false: only read what is there. */
  run: boolean;
}

/** Options of `runOrLoadGrid`. */
export interface RunOrLoadOptions {
  /** The data directory the cells train on, passed to the grid as `--set data_dir=...`. */
  dataDir: string;
  /** The repository root, for the command printed. @default Deno.cwd() */
  root?: string;
  /** Parallel cells. @default 2 */
  workers?: number;
  /** The progress display of the cells to run (e.g. `liveGrid(name).progress`); default: runGrid's. */
  progress?: (total: number) => GridProgress;
  /** Throw when a cell failed (after printing every failure). @default true */
  failOnFailed?: boolean;
  /** Where the status lines go. @default console.log */
  print?: (line: string) => void;
}

/**
 * Runs `source.file` into `source.dir` when `source.run` (cells already finished are skipped, interrupted ones
 * resume), then reads the directory back. Prints whether it runs or loads and the command that reproduces it, and
 * one line per failed cell with its log. Returns undefined when the directory holds no grid (not run, not started).
 * Throws an Error naming the grid directory when a cell failed and `failOnFailed` is true.
 */
export async function runOrLoadGrid(source: GridSource, options: RunOrLoadOptions): Promise<GridResults | undefined> {
  const { root = Deno.cwd(), workers = 2, failOnFailed = true, print = console.log } = options;
  print(`${source.run ? "running" : "loading"} ${source.dir}  (${ablateCommand(source.file, source.dir, root)})`);
  if (source.run) {
    const grid = await loadGrid(source.file, [`data_dir=${resolve(options.dataDir)}`]);
    await runGrid(grid, {
      out: source.dir,
      executor: localExecutor(workers),
      script: TRAIN_SCRIPT,
      progress: options.progress,
    });
  }
  const results = await readGridResultsIfExists(source.dir);
  if (results === undefined) return undefined;
  const failed = results.rows.filter((r) => r.status === "failed");
  for (const r of failed) print(`failed: ${r.id}: ${r.error} (log: ${join(source.dir, r.log)})`);
  if (failOnFailed && failed.length > 0) {
    throw new Error(`${failed.length} cell(s) of ${source.dir} failed (logs above)`);
  }
  return results;
}

/** One row per grid for a status table: grid file, directory, cells and how many are in each status. */
export function gridStatusRows(
  grids: Record<string, GridResults>,
  root: string = Deno.cwd(),
): Record<string, unknown>[] {
  return Object.entries(grids).map(([key, g]) => ({
    key,
    grid: shownPath(g.grid, root),
    dir: shownPath(g.dir, root),
    cells: g.rows.length,
    finished: g.summary.final_runs,
    ...Object.fromEntries(
      ["completed", "diverged", "failed", "pending"].map((s) => [s, g.rows.filter((r) => r.status === s).length]),
    ),
  }));
}
