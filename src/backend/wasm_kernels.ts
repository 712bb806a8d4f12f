/**
 * Kernels that the models' forward and backward passes need but tfjs-backend-wasm 4.22 lacks (`WASM_POLYFILLS`;
 * found by running real training steps on wasm: gather's gradient is an UnsortedSegmentSum), and faster
 * replacements of stock wasm kernels (`WASM_OVERRIDES`). Every kernel in either list is tested against the cpu
 * backend (tests/backend_test.ts, tests/backend_overrides_test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { fastBatchMatMul } from "./batch_matmul.ts";
import { fastGatherV2, fastGreaterEqual, fastIdentity, fastMaximum, fastSum, fastTranspose } from "./heap_kernels.ts";
import { registerOverride } from "./override.ts";

type TypedArray = Float32Array | Int32Array | Uint8Array;
interface WasmBackendLike {
  readSync(dataId: unknown): TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: TypedArray): tf.TensorInfo;
}

/** Sums rows of `x` into `numSegments` buckets by `segmentIds` (the gradient of gather). */
const unsortedSegmentSum: tf.KernelConfig = {
  kernelName: "UnsortedSegmentSum",
  backendName: "wasm",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    const be = backend as unknown as WasmBackendLike;
    const xs = be.readSync(x.dataId);
    const ids = be.readSync(segmentIds.dataId);
    const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const inner = outShape.slice(1).reduce((a, b) => a * b, 1);
    const out = x.dtype === "int32" ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const seg = ids[i];
      if (seg < 0 || seg >= numSegments) continue; // tf semantics: out-of-range ids are dropped
      const src = i * inner;
      const dst = seg * inner;
      for (let j = 0; j < inner; j++) out[dst + j] += xs[src + j];
    }
    // The third argument of makeOutput is a wasm memory offset: leave it undefined and pass the values.
    return be.makeOutput(outShape, x.dtype, undefined, out);
  },
};

/** The kernels this project registers on wasm, by name. */
export const WASM_POLYFILLS: readonly tf.KernelConfig[] = [unsortedSegmentSum];

/** Stock wasm kernels this project replaces by faster ones (each falls back to the stock kernel where it loses). */
export const WASM_OVERRIDES: readonly tf.KernelConfig[] = [
  fastBatchMatMul,
  fastGatherV2,
  fastSum,
  fastTranspose,
  fastIdentity,
  fastMaximum,
  fastGreaterEqual,
];

/** Registers every polyfill that the wasm backend does not already provide, and the overrides. Idempotent. */
export function registerWasmPolyfills(): void {
  for (const config of WASM_POLYFILLS) {
    if (!tf.getKernel(config.kernelName, "wasm")) tf.registerKernel(config);
  }
  for (const config of WASM_OVERRIDES) registerOverride(config);
}
