/**
 * Training losses on score tensors. Every loss scores one positive against K negatives per row
 * and averages over the rows that hold a target (mask = 1):
 * - `bpr_naive`: the original's `-log(sigmoid(pos - neg) + 1e-10)`, mean over the K pairs. Saturates at
 *   -log(1e-10) ≈ 23.03 with a vanishing gradient for margins below about -30 (docs/findings.md#f16);
 * - `bpr_softplus`: `softplus(-(pos - neg))`, the same loss without the epsilon: finite, gradient -1 for very wrong pairs;
 * - `bce`: binary cross-entropy with logits, label 1 for the positive and 0 for the K negatives, mean over the 1 + K
 *   entries (the original's retriever loss), as `softplus(-pos)` and `softplus(neg)`, which stay finite;
 * - `softmax`: sampled softmax (InfoNCE) over [pos, negs] / temperature: `logSumExp(logits) - pos / temperature`.
 * Non-finite scores in rows that hold a target give a non-finite loss (NaN propagates), so the NaN guard sees them.
 * Rows without a target are excluded exactly: their scores, even NaN, touch neither the loss nor its gradient.
 */
import * as tf from "@tensorflow/tfjs";
import type { LossOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { TrainScores } from "../models/types.ts";

/** A loss on the SASRec (and fused) scores. */
export type LossKind = Config["loss"];
/** A loss on the retriever scores. */
export type RetrieverLossKind = Config["retriever_loss"];

/** Scores of one positive against K negatives per row: pos [...R], neg [...R, K], optional mask [...R] (1 = has a target). */
export interface RowScores {
  pos: tf.Tensor;
  neg: tf.Tensor;
  mask?: tf.Tensor;
}

/** The epsilon inside the original's naive BPR, `-log(sigmoid(d) + BPR_NAIVE_EPS)`. */
export const BPR_NAIVE_EPS = 1e-10;

/** Per-row losses [N] of positives [N] against negatives [N, K]; `temperature` divides the softmax logits only. */
function rowLoss(kind: LossKind, pos: tf.Tensor1D, neg: tf.Tensor2D, temperature = 1): tf.Tensor1D {
  return tf.tidy(() => {
    const posCol = pos.expandDims(1);
    switch (kind) {
      case "bpr_naive":
        return tf.mean(tf.neg(tf.log(tf.sigmoid(tf.sub(posCol, neg)).add(BPR_NAIVE_EPS))), 1);
      case "bpr_softplus":
        return tf.mean(tf.softplus(tf.sub(neg, posCol)), 1);
      case "bce": // the mean over the 1 + K entries, without concatenating them ([N, 1 + K] and its split back)
        return tf.div(tf.add(tf.softplus(tf.neg(pos)), tf.sum(tf.softplus(neg), 1)), 1 + neg.shape[1]);
      case "softmax": {
        const logits = tf.concat([posCol, neg], 1).div(temperature);
        return tf.sub(tf.logSumExp(logits, 1), pos.div(temperature));
      }
    }
  });
}

/**
 * Mean loss over the rows that hold a target. Shapes: pos [...R], neg [...R, K], mask [...R] (all rows when absent).
 * Masked rows are replaced by zeros before the loss, so non-finite scores there change neither value nor gradient.
 * With no target at all the loss is 0.
 */
export function mainLoss(kind: LossKind, scores: RowScores, temperature = 1): tf.Scalar {
  return tf.tidy(() => {
    const k = scores.neg.shape[scores.neg.rank - 1];
    let pos = scores.pos.reshape([-1]) as tf.Tensor1D;
    let neg = scores.neg.reshape([-1, k]) as tf.Tensor2D;
    if (!scores.mask) return tf.mean(rowLoss(kind, pos, neg, temperature));
    const mask = scores.mask.reshape([-1]);
    const valid = tf.greater(mask, 0);
    pos = tf.where(valid, pos, tf.zerosLike(pos));
    neg = tf.where(valid.expandDims(1), neg, tf.zerosLike(neg));
    const validRows = valid.toFloat();
    const sum = tf.sum(tf.mul(rowLoss(kind, pos, neg, temperature), validRows));
    return tf.div(sum, tf.maximum(tf.sum(validRows), 1));
  });
}

/** Mean retriever loss over the batch: pos [B], neg [B, K] (the retriever's scores carry their own temperature). */
export function retrieverLoss(kind: RetrieverLossKind, scores: { pos: tf.Tensor1D; neg: tf.Tensor2D }): tf.Scalar {
  return mainLoss(kind, scores);
}

/**
 * The weighted training objective of a model's scores:
 * `idWeight * sasrec + retrieverWeight * retriever + fusedWeight * fused + sum(aux)` (`lossOptions(config)`).
 * `idWeight` is `sasrec_loss_weight` (`bprmf_loss_weight` for a `bprmf` model that sets it). `sasrec` and `fused`
 * use `options.loss` (softmax at `softmaxTemperature`), `retriever` uses `options.retrieverLoss`.
 * Parts the model does not produce, or whose weight is 0, are skipped. `terms` holds each part unweighted
 * (aux terms as the model gave them, already weighted), all owned by the caller's tidy scope.
 */
export function totalLoss(
  scores: TrainScores,
  options: LossOptions,
): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  const terms: Record<string, tf.Scalar> = {};
  const weighted: tf.Scalar[] = [];
  const add = (name: string, weight: number, compute: () => tf.Scalar) => {
    if (weight === 0) return;
    terms[name] = compute();
    weighted.push(tf.mul(terms[name], weight));
  };
  const { sasrec, retriever, fused } = scores;
  if (sasrec) {
    add("sasrec", options.idWeight, () => mainLoss(options.loss, sasrec, options.softmaxTemperature));
  }
  if (retriever) add("retriever", options.retrieverWeight, () => retrieverLoss(options.retrieverLoss, retriever));
  if (fused) add("fused", options.fusedWeight, () => mainLoss(options.loss, fused, options.softmaxTemperature));
  for (const [name, value] of Object.entries(scores.aux ?? {})) {
    if (name in terms || name === "total") throw new Error(`aux loss "${name}" collides with a loss term name`);
    add(name, 1, () => value);
  }
  if (weighted.length === 0) throw new Error("totalLoss: the model produced no scores with a non-zero loss weight");
  return { total: tf.addN(weighted) as tf.Scalar, terms };
}
