/**
 * The names of everything a run directory holds, in one place: the files the trainer writes (`RUN_FILES`, content
 * types in records.ts), the files the grid engine adds to a cell's run directory (`CELL_FILES`) and the files a grid
 * writes into its own output directory (`GRID_FILES`). Code that reads or writes a run directory takes its paths
 * from `runPath`, never from a spelled-out name.
 */
import { join } from "node:path";

/** The files and folders a training run writes into its directory. */
export const RUN_FILES = {
  /** The resolved config (config/load.ts `configToYaml`). */
  config: "config.yaml",
  /** One JSON `StepRecord` or `EpochRecord` per line (records.ts). */
  metrics: "metrics.jsonl",
  /** The run's `RunSummary`, written last and atomically. */
  summary: "summary.json",
  /** The `NanReport` of the run or of an investigation. */
  nanReport: "nan_report.json",
  /** The investigation's report as text (train/investigate.ts). */
  nanText: "nan_report.txt",
  /** The resumable checkpoint folder (train/checkpoint.ts). */
  checkpoint: "checkpoint",
  /** The weights of the best validation result (models/checkpoint.ts). */
  best: "best",
  /**
   * The weights of the current stage's best validation on its own metric, which the stage hands to the next one under
   * `fusion_method: residual` (train/trainer.ts).
   */
  stageBest: "stage_best",
} as const;

/** The file the trainer writes last into `checkpoint/` (its presence marks a complete copy; train/checkpoint.ts). */
export const CHECKPOINT_MARKER = "state.json";

/** The trainer's files plus those the grid engine writes into a cell's run directory (experiments/cell.ts). */
export const CELL_FILES = {
  ...RUN_FILES,
  /** How the cell's last process ended (`CellExit`). */
  exit: "exit.json",
  /** The running process's identity. */
  pid: "pid.json",
  /** The trainer's stdout and stderr, appended per attempt. */
  log: "log.txt",
  /** Retries of a crashed cell. */
  retries: "retries.json",
} as const;

/** The files a grid writes into its output directory (next to `runs/`): the grid summary, not a run's. */
export const GRID_FILES = {
  /** The `GridSummary` (experiments/summary.ts): cells and main effects. */
  summary: "grid_summary.json",
  /** The grid summary's cells as CSV. */
  summaryCsv: "grid_summary.csv",
} as const;

/** The path of the run file `name` (a key of `CELL_FILES`, which includes `RUN_FILES`) inside `dir`. */
export function runPath(dir: string, name: keyof typeof CELL_FILES): string {
  return join(dir, CELL_FILES[name]);
}
