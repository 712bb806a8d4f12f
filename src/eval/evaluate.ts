/**
 * Evaluation of a recommender on validation or test batches, under one of two protocols:
 * - `full`: every item id competes with the target, except id 0, ids that are not items (`itemExists` 0) and the
 *   user's history; the target always stays in. Scores come in chunks of at most `chunkItems` ids from
 *   `model.itemScorer` (the [B, numItems + 1] matrix is never whole), or from `model.scoreAll` for models without it.
 * - `sampled100`: the batch's candidates compete, target in column 0. Scores come from `model.scoreCandidates` [B, C].
 * Ranks are counted on tensors: a first pass over the chunks picks each row's target score out of the chunk that
 * holds it, a second counts per row how many competing scores are above / equal to it and whether any of them (or the
 * target's) is non-finite, summed over chunks (on wasm one kernel per chunk, src/backend/rank_counts.ts). Only these [B] counts are read back, once per batch and
 * asynchronously (`await data()`, which works on every backend, webgpu included).
 */
import * as tf from "@tensorflow/tfjs";
import { fastKernelsEnabled } from "../backend/override.ts";
import { RANK_COUNTS } from "../backend/rank_counts.ts";
import type { EvalOptions } from "../config/resolve.ts";
import type { EvalBatch } from "../data/types.ts";
import type { ItemScorer, Recommender } from "../models/types.ts";
import type { Metrics } from "../run/records.ts";
import { metricsFromRanks, rankFromCounts, type TiePolicy } from "./metrics.ts";

/** Default number of item ids scored at once in full ranking ([B, 16384] float32 is 8 MiB at B = 128). */
export const FULL_RANK_CHUNK = 16384;

/**
 * How to evaluate: the config's `evalOptions(config)`, and `itemExists` (length numItems + 1), which marks the ids
 * that may be candidates in full ranking.
 */
export interface EvaluateOptions extends EvalOptions {
  itemExists: Uint8Array;
  /** Item ids scored at once in full ranking (default `FULL_RANK_CHUNK`); ranks do not depend on it. */
  chunkItems?: number;
}

/** Metrics averaged over `users`; `nonfinite` users had a non-finite score and were ranked last. */
export interface Evaluation {
  metrics: Metrics;
  users: number;
  nonfinite: number;
  /** Per evaluated user, in batch order (length `users`): what `metrics` averages, for slicing (slices.ts). */
  perUser: UserRanks;
}

/** Per-user outcomes of an evaluation, aligned: row i is user index `users[i]` with target `targets[i]`. */
export interface UserRanks {
  /** Dataset user indices (`Dataset.splits` rows). */
  users: Int32Array;
  /** Held-out target item ids. */
  targets: Int32Array;
  /** Target ranks (1 = best; non-finite rows ranked last). */
  ranks: Float64Array;
}

/** Per-row target ranks of one batch and whether each row held a non-finite score. */
interface BatchRanks {
  ranks: Float64Array;
  nonfinite: Uint8Array;
}

/** What `rankChunks` ranks: a scorer over `width` columns, each row's target column, and per chunk [start, end)
 * the row-major [B, end - start] 0/1 mask of the columns that compete with the target. */
interface RankTask {
  what: string;
  scorer: ItemScorer;
  width: number;
  targetColumns: Int32Array;
  competes: (start: number, end: number) => Uint8Array;
}

/** Evaluates `model` (or the equal, cheaper scorer its `scorerForEval` gives) on `batches` (at least one user). */
export async function evaluate(model: Recommender, batches: EvalBatch[], opts: EvaluateOptions): Promise<Evaluation> {
  const ranks: number[] = [];
  const users: number[] = [];
  const targets: number[] = [];
  let nonfinite = 0;
  const chunk = opts.chunkItems ?? FULL_RANK_CHUNK;
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new Error(`evaluate: chunkItems ${chunk} is not an integer > 0`);
  model = await model.scorerForEval?.() ?? model;
  for (const batch of batches) {
    if (batch.batchSize === 0) continue;
    const task = opts.protocol === "full" ? fullTask(model, batch, opts.itemExists) : sampledTask(model, batch);
    let result: BatchRanks;
    try {
      result = await rankChunks(task, opts.protocol === "full" ? chunk : task.width, opts.tiePolicy);
    } finally {
      task.scorer.dispose();
    }
    ranks.push(...result.ranks);
    users.push(...batch.users);
    targets.push(...batch.targets);
    nonfinite += result.nonfinite.reduce((a, b) => a + b, 0);
  }
  const perUser = { users: Int32Array.from(users), targets: Int32Array.from(targets), ranks: Float64Array.from(ranks) };
  return { metrics: metricsFromRanks(ranks), users: ranks.length, nonfinite, perUser };
}

/** Full-ranking task of one batch (ids and history checked before any scoring). */
function fullTask(model: Recommender, batch: EvalBatch, itemExists: Uint8Array): RankTask {
  const width = itemExists.length;
  const targets = batch.targets;
  for (let r = 0; r < batch.batchSize; r++) {
    for (const item of batch.history[r]) {
      if (!(item >= 0 && item < width)) throw new Error(`evaluate: history item ${item} outside [0, ${width})`);
    }
    if (!(targets[r] > 0 && targets[r] < width)) {
      throw new Error(`evaluate: target ${targets[r]} outside [1, ${width})`);
    }
  }
  const competes = (start: number, end: number) => {
    const span = end - start;
    const mask = new Uint8Array(batch.batchSize * span);
    for (let r = 0; r < batch.batchSize; r++) {
      const row = r * span;
      mask.set(itemExists.subarray(start, end), row);
      for (const item of [0, ...batch.history[r], targets[r]]) {
        if (item >= start && item < end) mask[row + item - start] = 0;
      }
    }
    return mask;
  };
  const what = `${model.name}.scoreAll`;
  const scorer = model.itemScorer?.(batch) ?? matrixScorer(what, () => model.scoreAll(batch), batch.batchSize, width);
  return { what, scorer, width, targetColumns: targets, competes };
}

/** Sampled-protocol task of one batch (target in candidate column 0). */
function sampledTask(model: Recommender, batch: EvalBatch): RankTask {
  const width = batch.numCandidates;
  const competes = (start: number, end: number) => {
    const mask = new Uint8Array(batch.batchSize * (end - start)).fill(1);
    if (start === 0) { for (let r = 0; r < batch.batchSize; r++) mask[r * (end - start)] = 0; }
    return mask;
  };
  const what = `${model.name}.scoreCandidates`;
  const scorer = matrixScorer(what, () => model.scoreCandidates(batch), batch.batchSize, width);
  return { what, scorer, width, targetColumns: new Int32Array(batch.batchSize), competes };
}

/** An `ItemScorer` over a whole [rows, width] score matrix (computed once, checked, sliced per chunk). */
function matrixScorer(what: string, score: () => tf.Tensor2D, rows: number, width: number): ItemScorer {
  const scores = score();
  if (!tf.util.arraysEqual(scores.shape, [rows, width])) {
    scores.dispose();
    throw new Error(`evaluate: ${what} returned shape [${scores.shape}], expected [${rows},${width}]`);
  }
  return {
    score: (start, end) =>
      start === 0 && end === width ? scores.clone() : scores.slice([0, start], [rows, end - start]),
    dispose: () => scores.dispose(),
  };
}

/**
 * Per row of scores [B, W]: competitors (`others` [B, W], bool) above the target score ([B, 1]), equal to it, their
 * number and the non-finite ones -> [4, B]; on tensors, for every backend (wasm runs `RANK_COUNTS` instead).
 */
function tensorCounts(scores: tf.Tensor2D, target: tf.Tensor2D, others: tf.Tensor2D): tf.Tensor2D {
  // Compare the difference with 0: wasm's comparison kernels are slow when broadcasting [B, W] against [B, 1],
  // subtraction is not. For finite floats the sign of s - t is exact (IEEE subtraction gives 0 only when s == t).
  const diff = tf.sub(scores, target);
  const count = (t: tf.Tensor) => tf.sum(tf.logicalAnd(others, t), 1).toFloat();
  return tf.stack([
    count(tf.greater(diff, 0)),
    count(tf.equal(diff, 0)),
    tf.sum(others, 1).toFloat(),
    count(tf.logicalNot(tf.isFinite(scores))),
  ]) as tf.Tensor2D;
}

/**
 * Ranks per row of the task's scores, `chunk` columns at a time, with one read-back. Tensors: a [B] target score,
 * [B] running counts and one chunk's [B, chunk] temporaries at a time.
 */
async function rankChunks(task: RankTask, chunk: number, policy: TiePolicy): Promise<BatchRanks> {
  const rows = task.targetColumns.length;
  const chunks: [number, number][] = [];
  for (let start = 0; start < task.width; start += chunk) chunks.push([start, Math.min(task.width, start + chunk)]);
  const score = (start: number, end: number) => {
    const scores = task.scorer.score(start, end);
    if (!tf.util.arraysEqual(scores.shape, [rows, end - start])) {
      throw new Error(`evaluate: ${task.what} chunk [${start}, ${end}) has shape [${scores.shape}]`);
    }
    return scores;
  };
  let target: tf.Tensor2D = tf.zeros([rows, 1]);
  // Per row: greater, ties, competing candidates, non-finite competitors (summed over chunks).
  let counts: tf.Tensor2D = tf.zeros([4, rows]);
  // The first pass's last chunk, which the second pass counts first instead of scoring it again.
  let last: { start: number; scores: tf.Tensor2D } | null = null;
  let packed: tf.Tensor2D;
  try {
    for (const [start, end] of chunks) {
      const inChunk = Uint8Array.from(task.targetColumns, (c) => c >= start && c < end ? 1 : 0);
      if (!inChunk.includes(1)) continue;
      last?.scores.dispose();
      last = { start, scores: tf.tidy(() => score(start, end)) };
      const scores = last.scores;
      const next = tf.tidy(() => {
        const column = Int32Array.from(task.targetColumns, (c, r) => r * (end - start) + (inChunk[r] ? c - start : 0));
        const picked = tf.gather(scores.reshape([-1]), column).reshape([rows, 1]);
        return tf.where(tf.tensor2d(inChunk, [rows, 1], "bool"), picked, target) as tf.Tensor2D;
      });
      target.dispose();
      target = next;
    }
    const kernel = fastKernelsEnabled() && tf.getKernel(RANK_COUNTS, tf.getBackend()) !== undefined;
    const reused = chunks.find(([start]) => start === last?.start);
    for (const [start, end] of reused ? [reused, ...chunks.filter((c) => c !== reused)] : chunks) {
      const next = tf.tidy(() => {
        const scores = start === last?.start ? last.scores : score(start, end);
        const others = tf.tensor2d(task.competes(start, end), [rows, end - start], "bool");
        const chunkCounts = kernel
          ? tf.engine().runKernel(RANK_COUNTS, { scores, target, competes: others }) as tf.Tensor2D
          : tensorCounts(scores, target, others);
        return tf.add(counts, chunkCounts) as tf.Tensor2D;
      });
      counts.dispose();
      counts = next;
      if (start === last?.start) {
        last.scores.dispose();
        last = null;
      }
    }
    packed = tf.tidy(() => tf.concat([counts, tf.logicalNot(tf.isFinite(target)).toFloat().reshape([1, rows])]));
  } finally {
    tf.dispose([target, counts]);
    last?.scores.dispose();
  }
  const values = await packed.data();
  packed.dispose();
  const ranks = new Float64Array(rows);
  const nonfinite = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const [greater, ties, candidates, badOthers, badTarget] = [0, 1, 2, 3, 4].map((k) => values[k * rows + r]);
    nonfinite[r] = badOthers + badTarget > 0 ? 1 : 0;
    ranks[r] = nonfinite[r] ? 1 + candidates : rankFromCounts(greater, ties, policy);
  }
  return { ranks, nonfinite };
}
