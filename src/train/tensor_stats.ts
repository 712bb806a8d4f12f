/** Summary statistics of tensors that tolerate non-finite values (they are counted, not averaged). */
import * as tf from "@tensorflow/tfjs";
import type { ProbeStat } from "../run/records.ts";

/** Statistics of one tensor: a `ProbeStat` without its position fields. */
export type TensorStats = Omit<ProbeStat, "step" | "phase" | "layer" | "op">;

/** Length of the vector `statsVector` returns. */
const STATS = 7;

/**
 * [finite count, mean, std, min, max, NaN count, +Infinity count] of `t` as a float32 [7] tensor, mean/std/min/max
 * over the finite values only. No read-back; caller disposes.
 */
export function statsVector(t: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const x = t.toFloat().flatten();
    const finite = tf.isFinite(x);
    const n = finite.sum().toFloat();
    const safe = tf.where(finite, x, tf.zerosLike(x));
    const mean = safe.sum().div(tf.maximum(n, 1));
    const variance = tf.where(finite, x.sub(mean).square(), tf.zerosLike(x)).sum().div(tf.maximum(n, 1));
    const big = tf.scalar(3.4e38);
    const min = tf.where(finite, x, big.broadcastTo(x.shape)).min();
    const max = tf.where(finite, x, big.neg().broadcastTo(x.shape)).max();
    const nan = tf.isNaN(x).sum().toFloat();
    const posinf = x.equal(Infinity).sum().toFloat();
    return tf.stack([n, mean, variance.sqrt(), min, max, nan, posinf]) as tf.Tensor1D;
  });
}

/** The statistics of a tensor of `size` values from its `statsVector` values; min/max/mean/std null when none is finite. */
export function statsFromVector(values: ArrayLike<number>, size: number): TensorStats {
  const [n, mean, std, min, max, nan, posinf] = Array.from(values);
  const nonfinite = size - n;
  const some = n > 0;
  return {
    min: some ? min : null,
    max: some ? max : null,
    mean: some ? mean : null,
    std: some ? std : null,
    nonfinite,
    nan,
    posinf,
    neginf: nonfinite - nan - posinf,
    size,
  };
}

/**
 * The statistics of each of `tensors`, in order, read back once and asynchronously (`await data()`, which every
 * backend supports, webgpu included) from one stacked [tensors.length, 7] tensor. The tensors are not disposed.
 */
export async function readStats(tensors: tf.Tensor[]): Promise<TensorStats[]> {
  if (tensors.length === 0) return [];
  const packed = tf.tidy(() => tf.stack(tensors.map(statsVector)));
  try {
    const values = await packed.data();
    return tensors.map((t, i) => statsFromVector(values.subarray(i * STATS, (i + 1) * STATS), t.size));
  } finally {
    packed.dispose();
  }
}

/** Number of non-finite values in each tensor, as a float32 [tensors.length] tensor (no read-back; caller disposes). */
export function nonfiniteCounts(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.stack(tensors.map((t) => tf.logicalNot(tf.isFinite(t)).sum().toFloat())) as tf.Tensor1D);
}
