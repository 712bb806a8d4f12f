/**
 * A faster BatchMatMul for tfjs-backend-wasm 4.22. The stock kernel sends a product to XNNPACK only when it is a
 * plain 2-D `a @ b` (no transpose flag, batch 1); everything else runs a scalar C++ loop at ~1 GFLOP/s
 * (docs/performance.md#batchmatmul-xnnpack). This kernel materialises transposed operands once (the Transpose kernel)
 * and then runs one XNNPACK product per batch slice on views into the wasm heap: each slice is registered with the C++
 * side as a tensor at an offset inside its parent's buffer, multiplied straight into its place in the preallocated
 * output, and unregistered again (no copies). A broadcast `b` (batch 1, e.g. `[B, T, d] @ W`) becomes one [B·T, d]
 * product. Products whose slices are too small to amortise the per-slice calls go to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { heapView, type KernelArgs, overrideKernel, type WasmBackend, wasmBackend } from "./override.ts";

/** Slices with fewer multiply-adds than this go to the stock kernel (the per-slice calls would cost more). */
export const MIN_SLICE_MACS = 4096;

/** Per backend instance: a 6-int scratch area in the heap for the two [1, rows, cols] shapes. */
const shapeScratch = new WeakMap<object, number>();

/** Product of a shape's entries. */
function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** For each output batch index, the batch index of an operand with outer dims `dims` broadcast to `outDims`. */
function broadcastBatchIndex(dims: number[], outDims: number[]): Int32Array {
  const total = size(outDims);
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

/**
 * out[m, n] = a[m, k] @ b[k, n] by one XNNPACK product on row-major float32 matrices at byte offsets of the wasm heap
 * (inside tensors or scratch memory; `out` must not overlap the operands). May grow the heap: re-read heap views after.
 */
export function heapMatMul(
  backend: WasmBackend,
  offsetA: number,
  offsetB: number,
  offsetOut: number,
  m: number,
  k: number,
  n: number,
): void {
  let scratch = shapeScratch.get(backend);
  if (scratch === undefined) {
    scratch = backend.wasm._malloc(24);
    shapeScratch.set(backend, scratch);
  }
  backend.wasm.HEAP32.set([1, m, k, 1, k, n], scratch / 4);
  const idA = heapView(backend, offsetA, m * k), idB = heapView(backend, offsetB, k * n);
  const idOut = heapView(backend, offsetOut, m * n);
  backend.wasm._BatchMatMul(idA, scratch, 3, idB, scratch + 12, 3, 0, 0, idOut);
  // Unregistering also drops the XNNPACK operator cached on idB (it holds b's packed copy).
  for (const id of [idA, idB, idOut]) backend.wasm.tfjs.disposeData(id);
}

/** One operand of the per-slice products, laid out [batch, rows, cols] in `data`. */
interface Operand {
  data: tf.TensorInfo;
  dims: number[];
  rows: number;
  cols: number;
}

/**
 * `left @ right` per broadcast batch slice into a new [...outDims, left.rows, right.cols] tensor. When `right` is
 * shared by every slice, `left`'s slices are contiguous rows of one matrix and a single product does them all.
 */
function slicedProducts(backend: WasmBackend, left: Operand, right: Operand, outDims: number[]): tf.TensorInfo {
  const [m, k, n] = [left.rows, left.cols, right.cols];
  const batch = size(outDims);
  const out = backend.makeOutput([...outDims, m, n], "float32");
  const merged = size(right.dims) === 1 && size(left.dims) === batch;
  const rows = merged ? batch * m : m;
  const offsetL = backend.dataIdMap.get(left.data.dataId).memoryOffset;
  const offsetR = backend.dataIdMap.get(right.data.dataId).memoryOffset;
  const offsetOut = backend.dataIdMap.get(out.dataId).memoryOffset;
  const indexL = broadcastBatchIndex(left.dims, outDims), indexR = broadcastBatchIndex(right.dims, outDims);
  for (let s = 0; s < (merged ? 1 : batch); s++) {
    const a = offsetL + indexL[s] * m * k * 4, b = offsetR + indexR[s] * k * n * 4;
    heapMatMul(backend, a, b, offsetOut + s * m * n * 4, rows, k, n);
  }
  return out;
}

function batchMatMulFast(args: KernelArgs): tf.TensorInfo | null {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const backend = wasmBackend(args);
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const dimsA = a.shape.slice(0, -2), dimsB = b.shape.slice(0, -2);
  const batchA = size(dimsA), batchB = size(dimsB);
  const plain = !transposeA && !transposeB && batchA === 1 && batchB === 1;
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (plain || a.dtype !== "float32" || b.dtype !== "float32" || k !== kb || m * n * k < MIN_SLICE_MACS) return null;
  const outDims = tf.broadcast_util.assertAndGetBroadcastShape(dimsA, dimsB);
  if (size(outDims) === 0) return null;

  // XNNPACK wants both operands untransposed: materialise the flagged ones. (Computing (bᵀ·aᵀ)ᵀ instead saves no
  // time: XNNPACK packs each slice's right operand, a transpose-like copy, so the swap only moves the copying.)
  const temps: tf.TensorInfo[] = [];
  const operand = (x: tf.TensorInfo, dims: number[], rows: number, cols: number, transpose: boolean): Operand => {
    if (!transpose) return { data: x, dims, rows, cols };
    const data = swapLastAxes(backend, x, size(dims), cols, rows);
    temps.push(data);
    return { data, dims, rows, cols };
  };
  const left = operand(a, dimsA, m, k, transposeA);
  const out = slicedProducts(backend, left, operand(b, dimsB, k, n, transposeB), outDims);
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

/** The override of wasm's BatchMatMul (see the module comment). */
export const fastBatchMatMul: tf.KernelConfig = overrideKernel("BatchMatMul", batchMatMulFast);
