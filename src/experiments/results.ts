/**
 * `DIR/results.csv`: one row per cell (id, axis values, seed, status, where the first non-finite value appeared,
 * non-finite batch counts, val and test metrics, test HR@10 / NDCG@10 / users per slice bucket, epochs trained,
 * early-termination rung and value, retries, wall time, error, log path), built from the run directories and
 * `DIR/asha.json`, and sorted by cell id, so it is the same whatever order the cells finished in. Written atomically.
 */
import { join, relative } from "node:path";
import { DEFAULT_HISTORY_BUCKETS, METRIC_NAMES } from "../config/schema.ts";
import { historyBucketNames, POPULARITY_BUCKETS } from "../eval/slices.ts";
import { CELL_FILES } from "../run/files.ts";
import { epochRecordsOf, readMetrics } from "../run/metrics.ts";
import type { MetricName, Metrics, RunSlices } from "../run/records.ts";
import { exists, readJsonIfExists, writeFileAtomic } from "../util/fs.ts";
import { ASHA_FILE, type AshaRecord, rungOutcome } from "./asha.ts";
import { type CellStatus, cellStatus, readCellRecord, readRetries } from "./cell.ts";
import { type CsvValue, toCsv } from "./csv.ts";
import { type Cell, formatValue, trialKey } from "./grid.ts";

/** One row of results.csv. */
export interface ResultRow {
  id: string;
  /** Axis values and seed. */
  values: Record<string, unknown>;
  /** The run's status, or `stopped` for a cell that early termination did not promote (a recorded outcome). */
  status: CellStatus | "stopped";
  first_nonfinite: { step: number; stage: string; layer: string; op: string } | null;
  nonfinite_batches: number | null;
  skipped_batches: number | null;
  patched_batches: number | null;
  val: Partial<Metrics> | null;
  test: Partial<Metrics> | null;
  /** The final evaluation per popularity and history bucket (null when the summary has none: failed, old runs). */
  slices: RunSlices | null;
  wall_time_s: number | null;
  /** Optimiser steps the run took (0 for parameter-free baselines). */
  steps: number | null;
  /** Where the best validation value (the kept checkpoint) came from. */
  best: { stage: string; epoch: number } | null;
  /** The run was interrupted and continued from its last checkpoint. */
  resumed: boolean;
  /** Epoch records in the cell's metrics.jsonl (null without one). */
  epochs: number | null;
  /** Early-terminated sweeps: the last rung (0-based) the cell trained; null otherwise. */
  rung: number | null;
  /** Stopped cells: their rung value (best validation `early_stop_metric` at that rung). */
  rung_val: number | null;
  /** Times the cell was retried after a crash (sweep key `max_failures`). */
  retries: number;
  error: string | null;
  /** The cell's log file, relative to DIR. */
  log: string;
}

async function countEpochs(runDir: string): Promise<number | null> {
  if (!(await exists(join(runDir, CELL_FILES.metrics)))) return null;
  return epochRecordsOf(await readMetrics(runDir)).length;
}

/** Reads every cell's run directory under `out` (and `out/asha.json`) into a row; rows sorted by id. */
export async function collectResults(out: string, cells: Cell[]): Promise<ResultRow[]> {
  const asha = await readJsonIfExists<AshaRecord>(join(out, ASHA_FILE));
  const rows: ResultRow[] = [];
  for (const cell of [...cells].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const runDir = join(out, "runs", cell.id);
    const record = await readCellRecord(runDir);
    const { status: runStatus, error } = cellStatus(record);
    const rung = asha ? rungOutcome(asha, cell.id, trialKey(cell.values)) : null;
    const status = rung?.stopped && runStatus === "completed" ? "stopped" : runStatus;
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
      slices: s?.slices ?? null,
      wall_time_s: s?.wall_time_s ?? null,
      steps: s?.steps ?? null,
      best: s?.best ? { stage: s.best.stage, epoch: s.best.epoch } : null,
      resumed: s?.resumed ?? false,
      epochs: await countEpochs(runDir),
      rung: rung?.rung ?? null,
      rung_val: status === "stopped" ? rung!.value : null,
      retries: await readRetries(runDir),
      error,
      log: relative(out, join(runDir, CELL_FILES.log)),
    });
  }
  return rows;
}

/** The test-split metrics results.csv gives per slice bucket (with the bucket's user count). */
const SLICE_COLUMN_METRICS: readonly MetricName[] = ["HR@10", "NDCG@10"];

/**
 * The slice buckets that get results.csv columns: every bucket name in the rows' test slices, in first-seen order,
 * or, when no row has slices, those of the default `history_buckets` (a grid of old runs still gets the columns).
 */
function sliceBuckets(rows: ResultRow[]): string[] {
  const names = new Set(rows.flatMap((r) => Object.keys(r.slices?.test ?? {})));
  if (names.size > 0) return [...names];
  return [...POPULARITY_BUCKETS, ...historyBucketNames(DEFAULT_HISTORY_BUCKETS)];
}

/**
 * The CSV text of result rows; `axisKeys` are the grid's axes (columns in that order, then seed). Slice columns
 * (`test_<bucket>_HR@10`, `test_<bucket>_NDCG@10`, `test_<bucket>_users` per `sliceBuckets`) follow the test
 * metrics; they are empty for a row without that bucket.
 */
export function resultsCsv(rows: ResultRow[], axisKeys: string[]): string {
  const metricColumns = (split: string) => METRIC_NAMES.map((m) => `${split}_${m}`);
  const buckets = sliceBuckets(rows);
  const sliceColumns = buckets.flatMap((b) => [...SLICE_COLUMN_METRICS, "users"].map((c) => `test_${b}_${c}`));
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
    ...sliceColumns,
    "epochs",
    "rung",
    "rung_val",
    "retries",
    "wall_time_s",
    "error",
    "log",
  ];
  const metrics = (m: Partial<Metrics> | null) => METRIC_NAMES.map((name) => m?.[name] ?? null);
  const slices = (s: RunSlices | null) =>
    buckets.flatMap((b) => {
      const bucket = s?.test[b];
      return [...SLICE_COLUMN_METRICS.map((m) => bucket?.metrics?.[m] ?? null), bucket?.users ?? null];
    });
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
    ...slices(r.slices),
    r.epochs,
    r.rung,
    r.rung_val,
    r.retries,
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
