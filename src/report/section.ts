/** The report section of one grid directory: its table, sentences, reproducing command and sources. */
import { ablateCommand, type GridResults, readCommit, runDirs, shownPath } from "./read.ts";
import type { ReportSection } from "./render.ts";
import { cellTable } from "./rows.ts";
import {
  budgetSentence,
  effectSentences,
  resumedSentences,
  stillImprovingSentences,
  wallTimeSentence,
} from "./sentences.ts";

/** Options of `gridSection`. */
export interface GridSectionOptions {
  /** The repository root paths are shown relative to. @default Deno.cwd() */
  root?: string;
  /** Add the main-effect sentences (only with more than one cell). @default true */
  effects?: boolean;
}

/** The code version the runs were made with, from `DIR/COMMIT` when the results driver wrote one. */
function provenance(dir: string): string[] {
  const commit = readCommit(dir);
  if (commit === undefined) return [];
  return [
    `Runs made with the code at commit \`${commit}\` (\`git checkout ${commit.slice(0, 10)}\` to rerun them exactly).`,
  ];
}

/**
 * The report section of a grid: the per-cell table (mean ± 95% CI across seeds), the main-effect sentences (unless
 * `options.effects` is false), the command that reproduces it and the grid and run directories its numbers come from.
 */
export function gridSection(heading: string, results: GridResults, options: GridSectionOptions = {}): ReportSection {
  const root = options.root ?? Deno.cwd();
  const s = results.summary;
  const dir = shownPath(results.dir, root);
  return {
    heading,
    paragraphs: [
      `Grid \`${shownPath(results.grid, root)}\` in \`${dir}\`: ${s.final_runs} of ${s.runs} ` +
      `runs finished; test metrics, mean ± 95% t-interval across seeds ("± ?" with a single seed).`,
      budgetSentence(results.cells, results.rows),
      ...stillImprovingSentences(results),
      ...resumedSentences(results.rows),
      wallTimeSentence(results.rows),
      ...provenance(results.dir),
      ...(options.effects !== false && s.cells.length > 1 ? effectSentences(s) : []),
    ],
    tables: [{ caption: `Per cell (${dir})`, rows: cellTable(s, results.axes) }],
    commands: [ablateCommand(results.grid, results.dir, root)],
    sources: [dir, ...runDirs(results, root)],
  };
}
