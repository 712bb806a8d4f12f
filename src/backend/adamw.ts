/**
 * One AdamW update of a variable as a wasm kernel (`simd/adamw.wasm`): the ~12 tfjs ops per variable of
 * `ModuleOptimizer.update` (src/train/optimizer.ts) in one pass, with the same float32 operations in the same order,
 * so the same numbers (tested bit for bit in tests/optimizer_test.ts). Used on wasm with the fast kernels on.
 */
import * as tf from "@tensorflow/tfjs";
import { heapOffset, type KernelArgs, wasmBackend, wasmKernel } from "./override.ts";
import { simdModule } from "./simd.ts";

/** Inputs variable, m, v, grad (one shape); attrs `AdamwAttrs`; outputs the new variable, m and v. */
export const ADAMW = "Ur4recAdamw";

/** The update's constants: clip scale, β1, β2, bias corrections c1 = 1 − β1^t and c2 = 1 − β2^t, eps, weight
 * decay and learning rate. */
export interface AdamwAttrs {
  scale: number;
  beta1: number;
  beta2: number;
  correction1: number;
  correction2: number;
  eps: number;
  weightDecay: number;
  lr: number;
}

/** The exports of `simd/adamw.wasm` (see `simd/adamw.as.ts`). */
interface AdamwKernels {
  adamw(p: number, m: number, v: number, grad: number, count: number, ...rest: number[]): void;
}

function adamw(args: KernelArgs): tf.TensorInfo[] {
  const { variable, m, v, grad } = args.inputs as Record<string, tf.TensorInfo>;
  const a = args.attrs as unknown as AdamwAttrs;
  const backend = wasmBackend(args);
  const outs = [0, 1, 2].map(() => backend.makeOutput(variable.shape, "float32"));
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const count = tf.util.sizeFromShape(variable.shape);
  simdModule<AdamwKernels>(backend, "adamw").adamw(
    at(variable),
    at(m),
    at(v),
    at(grad),
    count,
    a.scale,
    a.beta1,
    1 - a.beta1,
    a.beta2,
    1 - a.beta2,
    a.correction1,
    a.correction2,
    a.eps,
    a.weightDecay,
    a.lr,
    ...outs.map(at),
  );
  return outs;
}

/** The AdamW kernel on wasm. */
export const adamwKernel: tf.KernelConfig = wasmKernel(ADAMW, adamw);
