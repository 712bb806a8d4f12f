/**
 * Dropout masks as a wasm kernel: the multipliers of `bernoulliMultipliers` (src/models/layers.ts, same hash, same
 * values) written by `simd/dropout.wasm` straight into the output tensor, four elements at a time, instead of a JS
 * loop into an array that is then uploaded. Used by `dropoutMask` on wasm with the fast kernels on.
 */
import * as tf from "@tensorflow/tfjs";
import { keepThreshold } from "./dropout_hash.ts";
import { heapOffset, type KernelArgs, wasmBackend, wasmKernel } from "./override.ts";
import { simdModule } from "./simd.ts";

/** No inputs; attrs `shape`, `seed` (uint32), `keep` (0 < keep <= 1); output: float32 multipliers of `shape`. */
export const DROPOUT_MASK = "Ur4recDropoutMask";

/** The exports of `simd/dropout.wasm` (see `simd/dropout.as.ts`). */
interface DropoutKernels {
  fillMultipliers(out: number, count: number, seed: number, threshold: number, scale: number): void;
}

function dropoutMask(args: KernelArgs): tf.TensorInfo {
  const { shape, seed, keep } = args.attrs as unknown as { shape: number[]; seed: number; keep: number };
  const backend = wasmBackend(args);
  const out = backend.makeOutput(shape, "float32");
  const kernels = simdModule<DropoutKernels>(backend, "dropout");
  kernels.fillMultipliers(
    heapOffset(backend, out),
    tf.util.sizeFromShape(shape),
    seed >>> 0,
    keepThreshold(keep),
    1 / keep,
  );
  return out;
}

/** The mask kernel on wasm. */
export const dropoutMaskKernel: tf.KernelConfig = wasmKernel(DROPOUT_MASK, dropoutMask);
