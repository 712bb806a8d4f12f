/**
 * `DIR/results.csv`: one row per cell (id, axis values, seed, status, where the first non-finite value appeared,
 * non-finite batch counts, val and test metrics, wall time, error, log path), built from the run directories and
 * sorted by cell id, so it is the same whatever order the cells finished in. Written atomically.
 */
import { join, relative } from "node:path";
import { METRIC_NAMES } from "../config/schema.ts";
import type { Metrics } from "../train/records.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { CELL_FILES, type CellStatus, cellStatus, readCellRecord } from "./cell.ts";
import { type CsvValue, toCsv } from "./csv.ts";
import { type Cell, formatValue } from "./grid.ts";

/** One row of results.csv. */
export interface ResultRow {
  id: string;
  /** Axis values and seed. */
  values: Record<string, unknown>;
  status: CellStatus;
  first_nonfinite: { step: number; stage: string; layer: string; op: string } | null;
  nonfinite_batches: number | null;
  skipped_batches: number | null;
  patched_batches: number | null;
  val: Partial<Metrics> | null;
  test: Partial<Metrics> | null;
  wall_time_s: number | null;
  /** Optimiser steps the run took (0 for parameter-free baselines). */
  steps: number | null;
  /** Where the best validation value (the kept checkpoint) came from. */
  best: { stage: string; epoch: number } | null;
  /** The run was interrupted and continued from its last checkpoint. */
  resumed: boolean;
  error: string | null;
  /** The cell's log file, relative to DIR. */
  log: string;
}

/** Reads every cell's run directory under `out` into a row; rows sorted by id. */
export async function collectResults(out: string, cells: Cell[]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const cell of [...cells].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const runDir = join(out, "runs", cell.id);
    const record = await readCellRecord(runDir);
    const { status, error } = cellStatus(record);
    const s = record.summary;
    const first = s?.first_nonfinite;
    rows.push({
      id: cell.id,
      values: cell.values,
      status,
      first_nonfinite: first ? { step: first.step, stage: first.stage, layer: first.layer, op: first.op } : null,
      nonfinite_batches: s?.nonfinite_batches ?? null,
      skipped_batches: s?.skipped_batches ?? null,
      patched_batches: s?.patched_batches ?? null,
      val: s?.val ?? null,
      test: s?.test ?? null,
      wall_time_s: s?.wall_time_s ?? null,
      steps: s?.steps ?? null,
      best: s?.best ? { stage: s.best.stage, epoch: s.best.epoch } : null,
      resumed: s?.resumed ?? false,
      error,
      log: relative(out, join(runDir, CELL_FILES.log)),
    });
  }
  return rows;
}

/** The CSV text of result rows; `axisKeys` are the grid's axes (columns in that order, then seed). */
export function resultsCsv(rows: ResultRow[], axisKeys: string[]): string {
  const metricColumns = (split: string) => METRIC_NAMES.map((m) => `${split}_${m}`);
  const header = [
    "id",
    ...axisKeys,
    "seed",
    "status",
    "first_nonfinite_step",
    "first_nonfinite_stage",
    "first_nonfinite_layer",
    "first_nonfinite_op",
    "nonfinite_batches",
    "skipped_batches",
    "patched_batches",
    ...metricColumns("val"),
    ...metricColumns("test"),
    "wall_time_s",
    "error",
    "log",
  ];
  const metrics = (m: Partial<Metrics> | null) => METRIC_NAMES.map((name) => m?.[name] ?? null);
  const lines: CsvValue[][] = rows.map((r) => [
    r.id,
    ...axisKeys.map((k) => formatValue(r.values[k])),
    formatValue(r.values.seed),
    r.status,
    r.first_nonfinite?.step,
    r.first_nonfinite?.stage,
    r.first_nonfinite?.layer,
    r.first_nonfinite?.op,
    r.nonfinite_batches,
    r.skipped_batches,
    r.patched_batches,
    ...metrics(r.val),
    ...metrics(r.test),
    r.wall_time_s,
    r.error,
    r.log,
  ]);
  return toCsv(header, lines);
}

/** Collects the results of `cells` under `out` and writes `out/results.csv` atomically. */
export async function writeResults(out: string, axes: Record<string, unknown[]>, cells: Cell[]): Promise<ResultRow[]> {
  const rows = await collectResults(out, cells);
  await writeFileAtomic(join(out, "results.csv"), resultsCsv(rows, Object.keys(axes)));
  return rows;
}
