/** Dot-product scoring of user/position states against an item embedding table (SASRec, BPR-MF). */
import * as tf from "@tensorflow/tfjs";
import type { EvalBatch, TrainBatch } from "../data/types.ts";
import { type Probe, tap } from "./probe.ts";
import { checkIds } from "./sequence.ts";
import type { ItemScorer, TrainScores } from "./types.ts";

/** Scores [B, C] of states [B, d] against candidate ids [B, C] (flat). */
export function scoreIds(table: tf.Tensor2D, states: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  checkIds(ids, table.shape[0] - 1, "candidates");
  const batchSize = states.shape[0];
  const emb = tf.gather(table, tf.tensor2d(ids, [batchSize, ids.length / batchSize], "int32"));
  return emb.mul(states.expandDims(1)).sum(-1) as tf.Tensor2D;
}

/** Scores [B, rows of table] of states [B, d] against every row of the table. */
export function scoreTable(table: tf.Tensor2D, states: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(states, table.transpose());
}

/**
 * An `ItemScorer` over the rows of `table` for `states` [B, d], which it owns (disposed with it): chunk
 * [start, end) is states · table[start:end]ᵀ, the same product per column as `scoreTable`.
 */
export function tableScorer(table: tf.Tensor2D, states: tf.Tensor2D): ItemScorer {
  return {
    score: (start, end) => {
      if (start === 0 && end === table.shape[0]) return scoreTable(table, states);
      return tf.tidy(() => scoreTable(table.slice([start, 0], [end - start, table.shape[1]]), states));
    },
    dispose: () => states.dispose(),
  };
}

/**
 * logits[b, t, j] = Σ_c emb[b, t, j, c] · states[b, t, c] for emb [B, T, J, d] and states [B, T, d] or [B, 1, d] (one
 * state per row, broadcast over T), with the gradient written out (d emb = dy ⊗ states, d states = Σ_j dy · emb,
 * summed over T for a broadcast state): autodiff's Sum gradient multiplies by a ones tensor of emb's size that tfjs
 * builds in JS on every step (~2 ms at B128/L50). Same values, NaN included.
 */
export const dotLastAxis = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [emb, states, save] = args as [tf.Tensor4D, tf.Tensor3D, tf.GradSaveFunc];
  save([emb, states]);
  return {
    value: emb.mul(states.expandDims(2)).sum(-1),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [e, s] = saved, g = dy.expandDims(-1);
      const dStates = g.mul(e).sum(2);
      return [g.mul(s.expandDims(2)), s.shape[1] === dStates.shape[1] ? dStates : dStates.sum(1, true)];
    },
  };
}) as (emb: tf.Tensor4D, states: tf.Tensor3D) => tf.Tensor3D;

/**
 * Positive/negative logits at every position: `states` is [B, T, d] (one state per position) or [B, 1, d] (one
 * state per row); pos [B, T], neg [B, T, K]; mask [B, T] is 1 where the batch has a target.
 */
export function positionScores(
  table: tf.Tensor2D,
  states: tf.Tensor3D,
  batch: TrainBatch,
  probe?: Probe,
): NonNullable<TrainScores["sasrec"]> {
  const { batchSize: b, seqLen: t, numNegatives: k } = batch;
  const maxId = table.shape[0] - 1;
  checkIds(batch.positives, maxId, "positives");
  checkIds(batch.negatives, maxId, "negatives");
  const ids = new Int32Array(b * t * (1 + k));
  const mask = new Float32Array(b * t);
  for (let cell = 0; cell < b * t; cell++) {
    ids[cell * (1 + k)] = batch.positives[cell];
    for (let j = 0; j < k; j++) ids[cell * (1 + k) + 1 + j] = batch.negatives[cell * k + j];
    mask[cell] = batch.positives[cell] !== 0 ? 1 : 0;
  }
  const emb = tf.gather(table, tf.tensor3d(ids, [b, t, 1 + k], "int32")) as tf.Tensor as tf.Tensor4D;
  const logits = tap(probe, "logits", "train", dotLastAxis(emb, states));
  return {
    pos: logits.slice([0, 0, 0], [b, t, 1]).reshape([b, t]),
    neg: logits.slice([0, 0, 1], [b, t, k]),
    mask: tf.tensor2d(mask, [b, t]),
  };
}

/** The candidate ids of a sampled-protocol batch; a programming error when the batch has none. */
export function requireCandidates(batch: EvalBatch): Int32Array {
  if (!batch.candidates) throw new Error("scoreCandidates needs batch.candidates (sampled protocol)");
  return batch.candidates;
}
