/**
 * LayerNorm over the last axis of a [rows, d] float32 matrix as two wasm kernels (forward and backward, one SIMD
 * pass per row each: `simd/layer_norm.wasm`), in place of the ~10 tfjs ops of `layerNormFast`'s generic path
 * (src/models/layers.ts), which uses them on wasm with the fast kernels on. Same formulas (Ba et al. 2016; the
 * backward as in layerNormFast), float32 row statistics, float64 sums over rows for dgamma and dbeta. The variance and
 * mean(ĝ·xhat) use fused multiply-adds (relaxed SIMD), so the last bits may differ across machines, never across runs
 * on one machine.
 */
import type * as tf from "@tensorflow/tfjs";
import { float64Sums, heapIndex, heapOffset, type KernelArgs, wasmBackend, wasmKernel } from "./override.ts";
import { simdModule } from "./simd.ts";

/** Forward: inputs x [rows, d], gamma, beta [d]; attr eps; outputs y [rows, d], xhat [rows, d], rstd [rows]. */
export const LAYER_NORM = "Ur4recLayerNorm";
/** Backward: inputs dy [rows, d], xhat, rstd (the forward's), gamma; outputs dx [rows, d], dgamma, dbeta [d]. */
export const LAYER_NORM_GRAD = "Ur4recLayerNormGrad";

/** The exports of `simd/layer_norm.wasm` (see `simd/layer_norm.as.ts`); offsets in bytes. */
interface LayerNormKernels {
  layerNorm(
    x: number,
    rows: number,
    d: number,
    gamma: number,
    beta: number,
    eps: number,
    y: number,
    xhat: number,
    rstd: number,
  ): void;
  layerNormGrad(
    dy: number,
    xhat: number,
    rstd: number,
    gamma: number,
    rows: number,
    d: number,
    dx: number,
    dgammaAcc: number,
    dbetaAcc: number,
  ): void;
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { eps } = args.attrs as unknown as { eps: number };
  const backend = wasmBackend(args);
  const [rows, d] = x.shape;
  const outs = [x.shape, x.shape, [rows]].map((shape) => backend.makeOutput(shape, "float32"));
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const [y, xhat, rstd] = outs.map(at);
  simdModule<LayerNormKernels>(backend, "layer_norm").layerNorm(
    at(x),
    rows,
    d,
    at(gamma),
    at(beta),
    eps,
    y,
    xhat,
    rstd,
  );
  return outs;
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { dy, xhat, rstd, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = wasmBackend(args);
  const [rows, d] = dy.shape;
  const outs = [dy.shape, [d], [d]].map((shape) => backend.makeOutput(shape, "float32"));
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const kernels = simdModule<LayerNormKernels>(backend, "layer_norm");
  const sums = float64Sums(backend, 2 * d, (acc) =>
    // dgamma, then dbeta
    kernels.layerNormGrad(at(dy), at(xhat), at(rstd), at(gamma), rows, d, at(outs[0]), acc, acc + d * 8));
  backend.wasm.HEAPF32.set(sums.subarray(0, d), heapIndex(backend, outs[1]));
  backend.wasm.HEAPF32.set(sums.subarray(d), heapIndex(backend, outs[2]));
  return outs;
}

/** The forward kernel on wasm. */
export const layerNormKernel: tf.KernelConfig = wasmKernel(LAYER_NORM, forward);
/** The backward kernel on wasm. */
export const layerNormGradKernel: tf.KernelConfig = wasmKernel(LAYER_NORM_GRAD, backward);
