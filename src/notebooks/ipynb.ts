/**
 * Reading, listing, stripping and writing Jupyter notebooks (nbformat 4 JSON) for the notebook tools.
 * Written notebooks use Jupyter's own layout (sorted keys, 1-space indent) so that diffs stay small.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";

/** Absolute path of the repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
/** Absolute path of the committed notebooks. */
export const NOTEBOOKS_DIR: string = join(REPO_ROOT, "notebooks");

/** One notebook cell (the fields the tools use; others are kept as they are). */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
  [field: string]: unknown;
}

/** A notebook document. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** The notebooks (`*.ipynb`) in `dir`, sorted by name, as absolute paths. */
export async function listNotebooks(dir: string = NOTEBOOKS_DIR): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort().map((name) => join(dir, name));
}

/** A notebook's name without directory and `.ipynb`. */
export function notebookName(path: string): string {
  return basename(path, ".ipynb");
}

/** Reads a notebook; malformed files are user errors naming the file. */
export async function readNotebook(path: string): Promise<Notebook> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new UserError(`${path}: not a readable notebook (${(err as Error).message})`);
  }
  const nb = value as Partial<Notebook>;
  if (!Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new UserError(`${path}: expected an nbformat 4 notebook with a "cells" array`);
  }
  return nb as Notebook;
}

/** The source text of a cell. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The code cells of a notebook, in order. */
export function codeCells(nb: Notebook): NotebookCell[] {
  return nb.cells.filter((c) => c.cell_type === "code");
}

/** True when any code cell holds outputs or an execution count. */
export function hasOutputs(nb: Notebook): boolean {
  return codeCells(nb).some((c) => (c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null);
}

/** A copy of the notebook without outputs, execution counts and execution timing metadata. */
export function stripOutputs(nb: Notebook): Notebook {
  const cells = nb.cells.map((cell) => {
    if (cell.cell_type !== "code") return cell;
    const { execution: _timing, ...metadata } = cell.metadata;
    return { ...cell, metadata, outputs: [], execution_count: null };
  });
  return { ...nb, cells };
}

/** JSON text of a notebook in Jupyter's layout: keys sorted, 1-space indent, trailing newline. */
export function notebookJson(nb: Notebook): string {
  const sortKeys = (_key: string, value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value;
  return JSON.stringify(nb, sortKeys, 1) + "\n";
}

/** Writes a notebook atomically in Jupyter's layout. */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  await writeFileAtomic(path, notebookJson(nb));
}
