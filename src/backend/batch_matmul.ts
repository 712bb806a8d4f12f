/**
 * A faster BatchMatMul for tfjs-backend-wasm 4.22. The stock kernel sends a product to XNNPACK only when it is a
 * plain 2-D `a @ b` (no transpose flag, batch 1), packing the right operand on every call; everything else runs a
 * scalar C++ loop at ~1 GFLOP/s (docs/performance.md#batchmatmul-xnnpack). This kernel runs every float32 product
 * through the project's SIMD product (`heapGemm`, ./gemm.ts) on the tensors in place: one call per batch slice,
 * written straight into its place in the preallocated output; a transposed `a` is read through strides (the weight
 * gradient xᵀ·dy costs no transpose), a transposed `b` is materialised once (the Transpose kernel), and a broadcast
 * `b` (batch 1, e.g. `[B, T, d] @ W`) with an untransposed `a` becomes one [B·T, d] product. `_FusedMatMul`
 * (`tf.fused.matMul`, a dense layer's `x W + b`) without activation starts the product from the bias.
 */
import * as tf from "@tensorflow/tfjs";
import { heapGemm } from "./gemm.ts";
import { heapOffset, type KernelArgs, overrideKernel, type WasmBackend, wasmBackend } from "./override.ts";

/** For each output batch index, the batch index of an operand with outer dims `dims` broadcast to `outDims`. */
function broadcastBatchIndex(dims: number[], outDims: number[]): Int32Array {
  const total = tf.util.sizeFromShape(outDims);
  const index = new Int32Array(total);
  const padded = [...Array(outDims.length - dims.length).fill(1), ...dims];
  for (let i = 0; i < total; i++) {
    let rest = i;
    let flat = 0;
    let stride = 1;
    for (let axis = outDims.length - 1; axis >= 0; axis--) {
      const coord = rest % outDims[axis];
      rest = Math.floor(rest / outDims[axis]);
      if (padded[axis] !== 1) flat += coord * stride;
      stride *= padded[axis];
    }
    index[i] = flat;
  }
  return index;
}

/** `x` as [batch, cols, rows] from [batch, rows, cols] (a new buffer), via the wasm Transpose kernel. */
function swapLastAxes(backend: WasmBackend, x: tf.TensorInfo, batch: number, rows: number, cols: number) {
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  const x3 = { dataId: x.dataId, shape: [batch, rows, cols], dtype: x.dtype };
  const kernelBackend = backend as unknown as tf.KernelBackend;
  return transpose({ inputs: { x: x3 }, backend: kernelBackend, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
}

/** One operand of the per-slice products: [batch, rows, cols] in `data`, or its transpose when `transposed`. */
interface Operand {
  data: tf.TensorInfo;
  dims: number[];
  rows: number;
  cols: number;
  transposed: boolean;
}

/**
 * `left @ right` per broadcast batch slice into a new [...outDims, left.rows, right.cols] tensor (`right` stored
 * untransposed). When `right` is shared by every slice and `left` is untransposed, `left`'s slices are contiguous
 * rows of one matrix and a single product does them all.
 */
function slicedProducts(
  backend: WasmBackend,
  left: Operand,
  right: Operand,
  outDims: number[],
  bias: tf.TensorInfo | null,
): tf.TensorInfo {
  const [m, k, n] = [left.rows, left.cols, right.cols];
  const batch = tf.util.sizeFromShape(outDims);
  const out = backend.makeOutput([...outDims, m, n], "float32");
  const merged = tf.util.sizeFromShape(right.dims) === 1 && tf.util.sizeFromShape(left.dims) === batch &&
    !left.transposed;
  const [offsetL, offsetR, offsetOut] = [left.data, right.data, out].map((t) => heapOffset(backend, t));
  const options = { bias: bias ? heapOffset(backend, bias) : 0 };
  const indexL = broadcastBatchIndex(left.dims, outDims), indexR = broadcastBatchIndex(right.dims, outDims);
  const [rowStride, colStride] = left.transposed ? [1, m] : [k, 1];
  for (let s = 0; s < (merged ? 1 : batch); s++) {
    const a = { at: offsetL + indexL[s] * m * k * 4, rowStride, colStride };
    const b = { at: offsetR + indexR[s] * k * n * 4, rowStride: n };
    heapGemm(backend, merged ? batch * m : m, n, k, a, b, { at: offsetOut + s * m * n * 4, rowStride: n }, options);
  }
  return out;
}

/** `a @ b` (+ `bias` [n] on every row) per the transpose flags of `args`, or null for inputs this kernel leaves to the
 * stock kernel (not float32). */
function products(args: KernelArgs, bias: tf.TensorInfo | null): tf.TensorInfo | null {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const backend = wasmBackend(args);
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const dimsA = a.shape.slice(0, -2), dimsB = b.shape.slice(0, -2);
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (a.dtype !== "float32" || b.dtype !== "float32" || k !== kb) return null;
  const outDims = tf.broadcast_util.assertAndGetBroadcastShape(dimsA, dimsB);
  if (tf.util.sizeFromShape(outDims) === 0) return null;

  // The product reads B's rows contiguously: materialise a transposed b ([n, k] per slice, usually a small weight or
  // an attention slice).
  const right = transposeB ? swapLastAxes(backend, b, tf.util.sizeFromShape(dimsB), n, k) : b;
  const out = slicedProducts(
    backend,
    { data: a, dims: dimsA, rows: m, cols: k, transposed: transposeA },
    { data: right, dims: dimsB, rows: k, cols: n, transposed: false },
    outDims,
    bias,
  );
  if (transposeB) backend.disposeData(right.dataId);
  return out;
}

/** `_FusedMatMul` (`tf.fused.matMul`) with a float32 bias [n] or none and no activation; else null. */
function fusedMatMulFast(args: KernelArgs): tf.TensorInfo | null {
  const { bias = null, preluActivationWeights = null } = args.inputs as Record<string, tf.TensorInfo | null>;
  const { activation } = args.attrs as unknown as { activation?: string };
  if ((activation ?? "linear") !== "linear" || preluActivationWeights !== null) return null;
  const { b } = args.inputs as { b: tf.TensorInfo };
  const { transposeB } = args.attrs as unknown as { transposeB: boolean };
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (bias !== null && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== n)) return null;
  return products(args, bias);
}

/** The override of wasm's BatchMatMul (see the module comment). */
export const fastBatchMatMul: tf.KernelConfig = overrideKernel("BatchMatMul", (args) => products(args, null));
/** The override of wasm's _FusedMatMul without activation: the bias starts each row of the product. */
export const fastFusedMatMul: tf.KernelConfig = overrideKernel("_FusedMatMul", fusedMatMulFast);
