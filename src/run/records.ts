/**
 * The on-disk records of a run directory (file names in files.ts), shared by the trainer (writer), the grid runner,
 * plots and notebooks:
 * - `metrics.jsonl`: one `StepRecord` every `log_every` steps (and every skipped/patched step), one `EpochRecord` per epoch;
 * - `summary.json`: `RunSummary`, written last and atomically (its presence with status set = the run finished), with
 *   the final evaluation's per-slice metrics (`RunSlices`);
 * - `nan_report.json`: `NanReport` (`first_nonfinite` is null when everything stayed finite);
 * - `config.yaml`: the resolved config.
 */
import type { METRIC_NAMES } from "../config/schema.ts";
import type { DataSummary } from "../data/warnings.ts";

/** A metric name such as "NDCG@10". */
export type MetricName = typeof METRIC_NAMES[number];
/** Metric values keyed by name. */
export type Metrics = Record<MetricName, number>;

/** Per-step training record. */
export interface StepRecord {
  type: "step";
  stage: string;
  epoch: number;
  /** Step within the epoch. */
  step: number;
  global_step: number;
  /** Loss per term plus "total"; NaN is written as null by JSON. */
  loss: Record<string, number | null>;
  /** Pre-clip global L2 gradient norm per module. */
  grad_norm: Record<string, number | null>;
  lr: Record<string, number>;
  /** Non-finite values seen in this step's loss and gradients. */
  nonfinite: { loss: number; grads: number };
  /** What the NaN guard did: "ok", "skipped" or "patched". */
  action: "ok" | "skipped" | "patched";
}

/** Per-epoch record with validation metrics. */
export interface EpochRecord {
  type: "epoch";
  stage: string;
  epoch: number;
  global_step: number;
  train_loss: number | null;
  val: Metrics | null;
  /** The validation the stage early-stopped on when not `val` (UR4Rec's retriever in `pretrain_retriever` under
   * residual fusion); absent otherwise. */
  stage_val?: Metrics;
  val_nonfinite: number;
  skipped_batches: number;
  patched_batches: number;
  wall_s: number;
}

/** A line of metrics.jsonl. */
export type MetricsRecord = StepRecord | EpochRecord;

/** Where a non-finite value first appeared: the first NaN if any appeared, else the first ±Infinity. */
export interface FirstNonfinite {
  /** "nan" when the tensor holds NaN, "inf" when it holds only infinities. */
  kind: "nan" | "inf";
  step: number;
  stage: string;
  phase: "forward" | "backward";
  layer: string;
  op: string;
  /** Count of non-finite values in that tensor. */
  count: number;
  shape: number[];
  /** Batch rows holding non-finite values. */
  rows: number[];
  /** Sequence positions holding non-finite values (for [B, T, ...] tensors). */
  positions: number[];
  /** Per listed row: number of padding positions in its input. */
  row_padding: number[];
  /** Whether all listed positions are padding positions of their rows. */
  all_in_padding: boolean;
  /** Distinct (row, position) pairs holding non-finite values (first 256). */
  cells?: [number, number][];
  /** Distinct (row, position) pairs in all, and how many of them are queries that see no key (causal + padding mask). */
  cell_count?: number;
  blind_cells?: number;
  /** Parameters and inputs that were already non-finite or huge before the step's ops ran (see suspects.ts). */
  suspects?: Suspect[];
  /** Tensors seen earlier in the same step that held ±Infinity but no NaN (e.g. -inf masked attention logits). */
  preceded_by?: { phase: "forward" | "backward"; layer: string; op: string; posinf: number; neginf: number }[];
}

/** A parameter or input that held non-finite or huge values before a step's ops ran, so it, not an op, is the cause. */
export interface Suspect {
  kind: "parameter" | "input";
  /** Stable parameter name (e.g. "sasrec/item_emb") or input name ("texts.user", "texts.item"). */
  name: string;
  /** "nan": holds NaN; "inf": holds ±Infinity only; "huge": finite but >= OVERFLOW_RISK in magnitude. */
  problem: "nan" | "inf" | "huge";
  nonfinite: number;
  nan: number;
  /** Largest finite magnitude (null when nothing is finite). */
  max_abs: number | null;
  /** Rows holding bad values (inputs: user index or item id; first 64); empty for parameters. */
  rows: number[];
  /** What most likely put the values there, naming the config key when obvious. */
  cause: string;
}

/** Statistics of one probed tensor at one step. */
export interface ProbeStat {
  step: number;
  phase: "forward" | "backward";
  layer: string;
  op: string;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  nonfinite: number;
  nan: number;
  posinf: number;
  neginf: number;
  size: number;
}

/** Content of nan_report.json. */
export interface NanReport {
  first_nonfinite: FirstNonfinite | null;
  /** Steps probed. */
  steps: number;
  /** Padding pattern of the first probed batch: pads per row and the padding side. */
  input_padding: { side: "left" | "right"; pads_per_row: number[]; seq_len: number };
  probes: ProbeStat[];
  /** Human-readable diagnosis. */
  diagnosis: string;
}

/** A config key changed on `--resume` (only keys that change no number already computed; see run_guard.ts). */
export interface ResumeChange {
  key: string;
  from: unknown;
  to: unknown;
  /** Global step at which the run continued with the new value. */
  at_step: number;
}

/** One bucket of evaluated users: how many fell in it and their metrics (null when none did). */
export interface SliceBucket {
  users: number;
  metrics: Metrics | null;
}

/**
 * The buckets of one split keyed by name, popularity buckets first (`pop_head`, `pop_torso`, `pop_tail`), then the
 * history-length buckets (`hist_lt30`, `hist_30_99`, `hist_ge100` for cuts [30, 100]); see src/eval/slices.ts.
 */
export type SplitSlices = Record<string, SliceBucket>;

/**
 * Where the popularity buckets were cut: training items sorted by training count (descending, ties by id), head =
 * the first items up to and including the one whose count crosses a third of `interactions`, torso = the next up to
 * two thirds, tail = the rest (items never trained on included).
 */
export interface PopularityCuts {
  /** Training interactions in all (the sum of every item's training count). */
  interactions: number;
  head_items: number;
  torso_items: number;
  /** Training counts of the least popular head and torso items (null when that bucket is empty). */
  head_min_count: number | null;
  torso_min_count: number | null;
}

/** The final evaluation sliced by target popularity and history length, with the cuts used. */
export interface RunSlices {
  popularity: PopularityCuts;
  /** The `history_buckets` cut points (history lengths in items). */
  history: number[];
  val: SplitSlices;
  test: SplitSlices;
}

/** Content of summary.json. */
export interface RunSummary {
  status: "completed" | "diverged" | "failed";
  model: string;
  dataset: string;
  seed: number;
  val: Metrics | null;
  test: Metrics | null;
  best: { stage: string; epoch: number; value: number } | null;
  nonfinite_batches: number;
  skipped_batches: number;
  patched_batches: number;
  eval_nonfinite: { val: number; test: number };
  first_nonfinite: FirstNonfinite | null;
  parameters: Record<string, number>;
  steps: number;
  wall_time_s: number;
  /** Optimiser steps per second of training wall time (`steps` / `wall_time_s`, resumed sessions included). */
  steps_per_s: number;
  /**
   * The run was continued from its checkpoint: interrupted, or given a larger budget (false for a `--resume` of a
   * finished run with nothing left to train, which only evaluates it again).
   */
  resumed: boolean;
  /** Safe config changes made on `--resume`, in order (empty when none). */
  resume_changes: ResumeChange[];
  /** Checkpoint folders put back on `--resume` after a process was killed while replacing them (one line each). */
  recovered: string[];
  error: string | null;
  /**
   * The final validation and test metrics per popularity and history-length bucket (null after divergence; absent in
   * summaries of failed runs and of runs written before slices existed).
   */
  slices?: RunSlices | null;
  /** The data's preprocessing report, text report and warnings (absent in summaries of failed runs). */
  data?: DataSummary;
}
