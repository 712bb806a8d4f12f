/**
 * Kernels that the models' forward and backward passes need but tfjs-backend-wasm 4.22 lacks (`WASM_POLYFILLS`;
 * found by running real training steps on wasm: gather's gradient is an UnsortedSegmentSum), and faster
 * replacements of stock wasm kernels (`WASM_OVERRIDES`). Every kernel in either list is tested against the cpu
 * backend (tests/backend_test.ts, tests/backend_overrides_test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { adamwKernel } from "./adamw.ts";
import { fastBatchMatMul, fastFusedMatMul } from "./batch_matmul.ts";
import { causalAttentionGradKernel, causalAttentionKernel } from "./causal_attention.ts";
import { dropoutMaskKernel } from "./dropout_mask.ts";
import { layerNormGradKernel, layerNormKernel } from "./layer_norm.ts";
import {
  type ElementwiseKernels,
  fastCast,
  fastGatherV2,
  fastGreaterEqual,
  fastIdentity,
  fastMaximum,
  fastSlice,
  fastSum,
  fastTranspose,
} from "./heap_kernels.ts";
import { heapIndex, registerOverride, wasmBackend, wasmKernel } from "./override.ts";
import { simdModule } from "./simd.ts";
import { rankCountsKernel } from "./rank_counts.ts";

/** Sums rows of `x` into `numSegments` buckets by `segmentIds` (the gradient of gather), on the wasm heap: float32
 * by `simd/elementwise.wasm`, int32 in JS. */
const unsortedSegmentSum: tf.KernelConfig = wasmKernel("UnsortedSegmentSum", (args) => {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  const backend = wasmBackend(args);
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const inner = tf.util.sizeFromShape(outShape.slice(1));
  const out = backend.makeOutput(outShape, x.dtype);
  const count = tf.util.sizeFromShape(segmentIds.shape);
  const [ids, xs, dst] = [segmentIds, x, out].map((t) => heapIndex(backend, t));
  if (x.dtype === "float32") {
    const kernels = simdModule<ElementwiseKernels>(backend, "elementwise");
    kernels.segmentSumRows(xs * 4, ids * 4, count, inner, numSegments, dst * 4); // byte offsets
    return out;
  }
  const heap = backend.wasm.HEAP32; // after makeOutput (heap growth)
  heap.fill(0, dst, dst + numSegments * inner);
  for (let i = 0; i < count; i++) {
    const seg = heap[ids + i];
    if (seg < 0 || seg >= numSegments) continue; // tf semantics: out-of-range ids are dropped
    const from = xs + i * inner, to = dst + seg * inner;
    for (let j = 0; j < inner; j++) heap[to + j] += heap[from + j];
  }
  return out;
});

/** The kernels this project registers on wasm, by name. */
export const WASM_POLYFILLS: readonly tf.KernelConfig[] = [unsortedSegmentSum];

/** Stock wasm kernels this project replaces by faster ones (each falls back to the stock kernel where it loses). */
export const WASM_OVERRIDES: readonly tf.KernelConfig[] = [
  fastBatchMatMul,
  fastFusedMatMul,
  fastGatherV2,
  fastSum,
  fastTranspose,
  fastIdentity,
  fastCast,
  fastMaximum,
  fastGreaterEqual,
  fastSlice,
];

/** This project's own wasm kernels (no stock counterpart): tiled causal attention, forward and backward (tested against
 * the tfjs attention path in tests/attention_tiled_test.ts), LayerNorm, forward and backward (tested against its tfjs
 * ops in tests/models_layers_test.ts), dropout masks (tested against `bernoulliMultipliers` in
 * tests/dropout_mask_test.ts), the AdamW update (tested against its tfjs ops in tests/optimizer_test.ts), and
 * full ranking's rank counts (tested against the evaluator's tensor path in
 * tests/evaluate_test.ts). */
export const WASM_CUSTOM_KERNELS: readonly tf.KernelConfig[] = [
  causalAttentionKernel,
  causalAttentionGradKernel,
  layerNormKernel,
  layerNormGradKernel,
  dropoutMaskKernel,
  adamwKernel,
  rankCountsKernel,
];

/** Registers every polyfill that the wasm backend does not already provide, the custom kernels and the overrides.
 * Idempotent. */
export function registerWasmPolyfills(): void {
  for (const config of [...WASM_POLYFILLS, ...WASM_CUSTOM_KERNELS]) {
    if (!tf.getKernel(config.kernelName, "wasm")) tf.registerKernel(config);
  }
  for (const config of WASM_OVERRIDES) registerOverride(config);
}
