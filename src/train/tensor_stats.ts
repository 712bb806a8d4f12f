/** Summary statistics of a tensor that tolerate non-finite values (they are counted, not averaged). */
import * as tf from "@tensorflow/tfjs";
import type { ProbeStat } from "../run/records.ts";

/** min/max/mean/std over the finite values of `t`, and the count of non-finite ones. Reads back synchronously. */
export function tensorStats(t: tf.Tensor): Omit<ProbeStat, "step" | "phase" | "layer" | "op"> {
  const values = tf.tidy(() => {
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
    return tf.stack([n, mean, variance.sqrt(), min, max, nan, posinf]);
  });
  const [n, mean, std, min, max, nan, posinf] = Array.from(values.dataSync());
  values.dispose();
  const nonfinite = t.size - n;
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
    size: t.size,
  };
}

/** Number of non-finite values in each tensor, as a float32 [tensors.length] tensor (no read-back; caller disposes). */
export function nonfiniteCounts(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.stack(tensors.map((t) => tf.logicalNot(tf.isFinite(t)).sum().toFloat())) as tf.Tensor1D);
}
