/** The interface every recommender implements, so trainers, evaluators and tables treat them alike. */
import type * as tf from "@tensorflow/tfjs";
import type { EvalBatch, TrainBatch } from "../data/types.ts";
import type { Probe } from "./probe.ts";

/** Scores a model produces for a training batch; losses are applied by src/train/losses.ts. */
export interface TrainScores {
  /** SASRec next-item scores: positives [B, T], negatives [B, T, K], mask [B, T] (1 where a target exists). */
  sasrec?: { pos: tf.Tensor2D; neg: tf.Tensor3D; mask: tf.Tensor2D };
  /** Retriever scores for the user's last target: positives [B], negatives [B, K]. */
  retriever?: { pos: tf.Tensor1D; neg: tf.Tensor2D };
  /** Fused scores for the last target: positives [B], negatives [B, K]. */
  fused?: { pos: tf.Tensor1D; neg: tf.Tensor2D };
  /** Auxiliary scalar losses already weighted by the model (e.g. MoE load balancing). */
  aux?: Record<string, tf.Scalar>;
}

/**
 * Scores of one evaluation batch against ranges of item ids, for full ranking in chunks: the user side is computed
 * once, then `score(start, end)` gives [B, end - start] (columns = ids start..end-1) without the whole [B, ids]
 * matrix. Every column's value equals the one `scoreAll` gives. The caller disposes the scorer.
 */
export interface ItemScorer {
  score(start: number, end: number): tf.Tensor2D;
  dispose(): void;
}

/** Options of the scoring methods of a `Recommender`. */
export interface ScoreOptions {
  /** Sees the model's named intermediates (NaN investigation); default none. */
  probe?: Probe;
}

/** Options of `Recommender.trainScores`. */
export interface TrainScoreOptions extends ScoreOptions {
  /** The modules trained this step (default: all); parts needed by none of them may be skipped. */
  active?: string[];
}

/** A sequential recommender. Trainable variables are grouped by module ("sasrec", "retriever", "fusion"). */
export interface Recommender {
  readonly name: string;
  /** Trainable variables per module name. Empty for non-parametric baselines. */
  modules(): Record<string, tf.Variable[]>;
  /** Scores for a training batch in training mode (dropout seeded from `batch.seed`). */
  trainScores(batch: TrainBatch, options?: TrainScoreOptions): TrainScores;
  /** Scores [B, C] for `batch.candidates`, in eval mode. */
  scoreCandidates(batch: EvalBatch, options?: ScoreOptions): tf.Tensor2D;
  /** Scores [B, numItems + 1] over every item id, in eval mode (column 0 is padding). */
  scoreAll(batch: EvalBatch, options?: ScoreOptions): tf.Tensor2D;
  /** Optional chunked form of `scoreAll` (models without it are ranked from the whole `scoreAll` matrix). */
  itemScorer?(batch: EvalBatch): ItemScorer;
  /**
   * Optional: a recommender whose eval-mode scores equal this one's, cheaper to evaluate in the current weights (e.g.
   * UR4Rec's SASRec while its residual gate is exactly zero). Evaluation asks once per pass; default: the model.
   */
  scorerForEval?(): Promise<Recommender>;
  /**
   * Optional: the recommender a training stage validates on for its own early stopping when that is not the model's
   * whole score (UR4Rec's retriever in `pretrain_retriever` under residual fusion); null or absent: the model.
   */
  stageValidator?(stage: string): Recommender | null;
  /** Parameter count per module. */
  parameterCounts(): Record<string, number>;
  /** Frees all tensors the model owns. */
  dispose(): void;
}
