/**
 * Seeded weight initialisers. Values are drawn in JS from `Rng`, so the same seed gives the same weights on every
 * backend. Weight matrices are laid out [in, out] (we compute `x @ W`); PyTorch stores [out, in], and every
 * initialiser here is symmetric in that respect, so the distributions match PyTorch's.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

function sample(shape: number[], draw: () => number, zeroRow0 = false): tf.Tensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = draw();
  if (zeroRow0) values.fill(0, 0, values.length / shape[0]);
  return tf.tensor(values, shape);
}

/** Normal(0, std) values. */
export function normal(rng: Rng, shape: number[], std: number): tf.Tensor {
  return sample(shape, () => rng.normal() * std);
}

/** Uniform(-bound, bound) values. */
export function uniform(rng: Rng, shape: number[], bound: number): tf.Tensor {
  return sample(shape, () => (2 * rng.next() - 1) * bound);
}

/** An embedding table [rows, dim] drawn from Normal(0, std) whose padding row 0 is then zeroed. */
export function paddedEmbedding(rng: Rng, rows: number, dim: number, std: number): tf.Tensor2D {
  return sample([rows, dim], () => rng.normal() * std, true) as tf.Tensor2D;
}

/** A table [rows, dim] with Xavier-uniform rows (fans = dim, rows) whose padding row 0 is then zeroed. */
export function paddedXavierTable(rng: Rng, rows: number, dim: number): tf.Tensor2D {
  const bound = Math.sqrt(6 / (rows + dim));
  return sample([rows, dim], () => (2 * rng.next() - 1) * bound, true) as tf.Tensor2D;
}

/** Xavier (Glorot) uniform: bound sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(rng: Rng, shape: number[], fanIn: number, fanOut: number): tf.Tensor {
  return uniform(rng, shape, Math.sqrt(6 / (fanIn + fanOut)));
}

/** PyTorch's default Linear/Conv1d init (kaiming-uniform with a = sqrt(5)): bound 1 / sqrt(fanIn). */
export function fanInUniform(rng: Rng, shape: number[], fanIn: number): tf.Tensor {
  return uniform(rng, shape, 1 / Math.sqrt(fanIn));
}
