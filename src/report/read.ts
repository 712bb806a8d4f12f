/**
 * Reading grid output directories back for a report: the grid record, every cell's run directory and the summary,
 * and how the report shows their paths and the commands that reproduce them.
 * Every number in a report comes from a grid directory the report names.
 */
import { isAbsolute, join, relative } from "node:path";
import { exists } from "../util/fs.ts";
import { type Cell, formatValue } from "../experiments/grid.ts";
import { collectResults, type ResultRow } from "../experiments/results.ts";
import { readGridRecord, runDirOf } from "../experiments/runner.ts";
import { type CellSummary, type GridSummary, summarizeResults } from "../experiments/summary.ts";

/** A grid output directory read back from disk. */
export interface GridResults {
  /** The grid output directory. */
  dir: string;
  /** The grid file it was run from, as recorded in grid.json. */
  grid: string;
  axes: Record<string, unknown[]>;
  cells: Cell[];
  /** One row per cell, from the run directories (pending/failed cells included). */
  rows: ResultRow[];
  summary: GridSummary;
}

/** Reads `dir/grid.json` and every cell's run directory, and summarises them (see experiments/summary.ts). */
export async function readGridResults(dir: string): Promise<GridResults> {
  const record = await readGridRecord(dir);
  const rows = await collectResults(dir, record.cells);
  return {
    dir,
    grid: record.grid,
    axes: record.axes,
    cells: record.cells,
    rows,
    summary: summarizeResults(rows, record.axes),
  };
}

/** `readGridResults(dir)`, or undefined when `dir` holds no grid.json (the grid has not been started there). */
export async function readGridResultsIfExists(dir: string): Promise<GridResults | undefined> {
  return (await exists(join(dir, "grid.json"))) ? await readGridResults(dir) : undefined;
}

/** The commit recorded in `dir/COMMIT` by the results driver, or undefined when there is none. */
export function readCommit(dir: string): string | undefined {
  try {
    return Deno.readTextFileSync(join(dir, "COMMIT")).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** A path as the report shows it: absolute paths under `root` (the repository root) relative to it, others unchanged. */
export function shownPath(path: string, root: string = Deno.cwd()): string {
  if (!isAbsolute(path)) return path;
  const inside = relative(root, path);
  return inside.startsWith("..") || isAbsolute(inside) ? path : inside || ".";
}

/** The command that (re)runs a grid into its directory, run from `root` (the repository root). */
export function ablateCommand(grid: string, dir: string, root: string = Deno.cwd()): string {
  return `deno task ablate run --grid ${shownPath(grid, root)} --out ${shownPath(dir, root)}`;
}

/** The run directories of the cells of a grid as the report shows them (see `shownPath`), in results order. */
export function runDirs(results: GridResults, root: string = Deno.cwd()): string[] {
  return results.rows.map((r) => shownPath(runDirOf(results.dir, r.id), root));
}

/** The summary cell whose axis values include all of `values` (compared as text), if any. */
export function findCell(summary: GridSummary, values: Record<string, unknown>): CellSummary | undefined {
  return summary.cells.find((c) =>
    Object.entries(values).every(([k, v]) => formatValue(c.values[k]) === formatValue(v))
  );
}
