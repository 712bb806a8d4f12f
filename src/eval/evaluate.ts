/**
 * Evaluation of a recommender on validation or test batches, under one of two protocols:
 * - `full`: every item id competes with the target, except id 0, ids that are not items (`itemExists` 0) and the
 *   user's history; the target always stays in. Scores come from `model.scoreAll` [B, numItems + 1].
 * - `sampled100`: the batch's candidates compete, target in column 0. Scores come from `model.scoreCandidates` [B, C].
 * Ranks are counted on tensors, one `tf.tidy` per batch: per row, how many competing scores are above / equal to the
 * target's, and whether any of them (or the target's) is non-finite. Only these [B] counts are read back.
 */
import * as tf from "@tensorflow/tfjs";
import type { Config } from "../config/schema.ts";
import type { EvalBatch } from "../data/types.ts";
import type { Recommender } from "../models/types.ts";
import type { Metrics } from "../train/records.ts";
import { metricsFromRanks, rankFromCounts, type TiePolicy } from "./metrics.ts";

/** How to evaluate. `itemExists` (length numItems + 1) marks ids that may be candidates in full ranking. */
export interface EvaluateOptions {
  protocol: Config["eval_protocol"];
  tiePolicy: TiePolicy;
  itemExists: Uint8Array;
}

/** Metrics averaged over `users`; `nonfinite` users had a non-finite score and were ranked last. */
export interface Evaluation {
  metrics: Metrics;
  users: number;
  nonfinite: number;
}

/** Per-row target ranks of one batch and whether each row held a non-finite score. */
interface BatchRanks {
  ranks: Float64Array;
  nonfinite: Uint8Array;
}

/** Evaluates `model` on `batches` (at least one user). */
export function evaluate(model: Recommender, batches: EvalBatch[], opts: EvaluateOptions): Evaluation {
  const ranks: number[] = [];
  let nonfinite = 0;
  for (const batch of batches) {
    if (batch.batchSize === 0) continue;
    const result = opts.protocol === "full" ? rankFull(model, batch, opts) : rankSampled(model, batch, opts.tiePolicy);
    ranks.push(...result.ranks);
    nonfinite += result.nonfinite.reduce((a, b) => a + b, 0);
  }
  return { metrics: metricsFromRanks(ranks), users: ranks.length, nonfinite };
}

/** Full-ranking target ranks of one batch. */
function rankFull(model: Recommender, batch: EvalBatch, opts: EvaluateOptions): BatchRanks {
  const width = opts.itemExists.length;
  const targets = batch.targets;
  const competes = new Uint8Array(batch.batchSize * width);
  for (let r = 0; r < batch.batchSize; r++) {
    const row = r * width;
    competes.set(opts.itemExists, row);
    competes[row] = 0;
    for (const item of batch.history[r]) {
      if (!(item >= 0 && item < width)) throw new Error(`evaluate: history item ${item} outside [0, ${width})`);
      competes[row + item] = 0;
    }
    if (!(targets[r] > 0 && targets[r] < width)) {
      throw new Error(`evaluate: target ${targets[r]} outside [1, ${width})`);
    }
    competes[row + targets[r]] = 0;
  }
  return rankRows(`${model.name}.scoreAll`, () => model.scoreAll(batch), targets, competes, opts.tiePolicy);
}

/** Sampled-protocol target ranks of one batch (target in candidate column 0). */
function rankSampled(model: Recommender, batch: EvalBatch, policy: TiePolicy): BatchRanks {
  const width = batch.numCandidates;
  const competes = new Uint8Array(batch.batchSize * width).fill(1);
  for (let r = 0; r < batch.batchSize; r++) competes[r * width] = 0;
  const targetColumns = new Int32Array(batch.batchSize);
  return rankRows(`${model.name}.scoreCandidates`, () => model.scoreCandidates(batch), targetColumns, competes, policy);
}

/**
 * Ranks per row of the [B, W] scores that `score` (named `what` in errors) computes, in one tidy: the target sits in
 * column `targetColumns[r]`, and the columns where `competes` (row-major [B, W]) is 1 are the ones it is ranked against.
 */
function rankRows(
  what: string,
  score: () => tf.Tensor2D,
  targetColumns: Int32Array,
  competes: Uint8Array,
  policy: TiePolicy,
): BatchRanks {
  const rows = targetColumns.length;
  const width = competes.length / rows;
  const [greater, ties, candidates, bad] = tf.tidy(() => {
    const scores = score();
    if (!tf.util.arraysEqual(scores.shape, [rows, width])) {
      throw new Error(`evaluate: ${what} returned shape [${scores.shape}], expected [${rows},${width}]`);
    }
    const flatIndex = Int32Array.from(targetColumns, (c, r) => r * width + c);
    const target = tf.gather(scores.reshape([-1]), flatIndex).reshape([rows, 1]);
    const others = tf.tensor2d(competes, [rows, width], "bool");
    // Compare the difference with 0: wasm's comparison kernels are slow when broadcasting [B, W] against [B, 1],
    // subtraction is not. For finite floats the sign of s - t is exact (IEEE subtraction gives 0 only when s == t).
    const diff = tf.sub(scores, target);
    const count = (t: tf.Tensor) => tf.sum(tf.logicalAnd(others, t), 1);
    const badOthers = tf.any(tf.logicalAnd(others, tf.logicalNot(tf.isFinite(scores))), 1);
    const badTarget = tf.logicalNot(tf.isFinite(target.reshape([rows])));
    return [
      count(tf.greater(diff, 0)),
      count(tf.equal(diff, 0)),
      tf.sum(others, 1),
      tf.logicalOr(badOthers, badTarget),
    ].map((t) => t.dataSync());
  });
  const ranks = new Float64Array(rows);
  const nonfinite = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    nonfinite[r] = bad[r];
    ranks[r] = bad[r] ? 1 + candidates[r] : rankFromCounts(greater[r], ties[r], policy);
  }
  return { ranks, nonfinite };
}
