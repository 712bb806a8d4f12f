/**
 * Replacements of stock wasm kernels that profiling showed slow at the models' shapes, working on the wasm heap in
 * place, in JS or through `simd/elementwise.wasm` (before/after timings in docs/performance.md):
 * - Identity (the engine clones every tensor it saves for the backward pass) and Cast to the tensor's own dtype (the
 *   gradient of Multiply casts its operands): share the buffer by reference count, as the cpu backend does, where the
 *   stock kernels copy it. Tensors are immutable and every kernel writes only into its own fresh output, so sharing
 *   is safe. Cast of bool to float32 (the gradient of Maximum) is one SIMD pass.
 * - GatherV2 (any axis, batchDims): row copies instead of a per-element strided loop (~15x).
 * - Sum over leading axes (a bias/LayerNorm gradient, [B·T, d] -> [d]): one SIMD pass of row adds in float64, where
 *   the stock kernel first transposes the input so that the reduced axes come last.
 * - Transpose of a tall [R, C] (or [B, R, C]) to [C, R], R >= 16 C (e.g. xᵀ of a dense layer's [B·T, d] input for its
 *   weight gradient): a cache-blocked copy (~2.5-5x). A transpose that moves only axes of size 1 (splitting one
 *   attention head off [B, T, 1·d]) keeps the data in order: it shares the buffer.
 * - Maximum against a scalar 0 (ReLU as max(x, 0), which keeps NaN) and GreaterEqual against a scalar (its
 *   gradient): one SIMD pass instead of the stock broadcast loops.
 * - Slice of a block of columns (every axis but the last taken whole, e.g. the positive and negative logits of
 *   [B, T, 1 + K]): one strided copy in wasm, where the stock kernel copies in JS.
 * Anything else returns null and runs the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { float64Sums, heapIndex, heapOffset, type KernelArgs, overrideKernel, wasmBackend } from "./override.ts";
import { simdModule } from "./simd.ts";

/** The exports of `simd/elementwise.wasm` (see its source, `simd/elementwise.as.ts`); offsets in bytes. */
export interface ElementwiseKernels {
  sumRows(x: number, rows: number, cols: number, acc: number): void;
  greaterEqualScalar(x: number, n: number, value: number, scalarFirst: boolean, out: number): void;
  maximumZero(x: number, n: number, out: number): void;
  boolToFloat(x: number, n: number, out: number): void;
  gatherRows(x: number, ids: number, count: number, rowFloats: number, out: number): void;
  segmentSumRows(x: number, ids: number, count: number, rowFloats: number, segments: number, out: number): void;
  copyColumns(x: number, rows: number, cols: number, first: number, width: number, out: number): void;
}

/** Elements of 4 bytes whose bits are copied as they are. */
const COPYABLE: readonly tf.DataType[] = ["float32", "int32"];

function identityShared(args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") return null;
  wasmBackend(args).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function castFast(args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
  if (dtype === x.dtype) return identityShared(args);
  if (x.dtype !== "bool" || dtype !== "float32") return null;
  const backend = wasmBackend(args);
  const out = backend.makeOutput(x.shape, "float32");
  const kernels = simdModule<ElementwiseKernels>(backend, "elementwise");
  kernels.boolToFloat(heapOffset(backend, x), tf.util.sizeFromShape(x.shape), heapOffset(backend, out));
  return out;
}

function gatherFast(args: KernelArgs): tf.TensorInfo | null {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  if (!COPYABLE.includes(x.dtype) || tf.util.sizeFromShape(x.shape) === 0) return null;
  const backend = wasmBackend(args);
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    parsedAxis,
    batchDims,
  );
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const perBatch = tf.util.sizeFromShape(indices.shape) / batchSize;
  const out = backend.makeOutput(info.outputShape, x.dtype);
  const heap = backend.wasm.HEAP32; // after makeOutput: the heap may have grown
  const ids = heap.subarray(
    heapIndex(backend, indices),
    heapIndex(backend, indices) + tf.util.sizeFromShape(indices.shape),
  );
  for (const id of ids) {
    if (id < 0 || id >= dimSize) {
      backend.disposeData(out.dataId);
      return null; // the stock kernel throws tfjs's error
    }
  }
  const src = heapIndex(backend, x), dst = heapIndex(backend, out);
  if (batchSize === 1 && outerSize === 1) { // an embedding lookup: one row copy per id, in wasm
    const kernels = simdModule<ElementwiseKernels>(backend, "elementwise");
    kernels.gatherRows(
      heapOffset(backend, x),
      heapOffset(backend, indices),
      perBatch,
      sliceSize,
      heapOffset(backend, out),
    );
    return out;
  }
  let o = dst;
  for (let b = 0; b < batchSize; b++) {
    for (let outer = 0; outer < outerSize; outer++) {
      const base = src + (b * outerSize + outer) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++, o += sliceSize) {
        const from = base + ids[b * perBatch + i] * sliceSize;
        heap.copyWithin(o, from, from + sliceSize);
      }
    }
  }
  return out;
}

function sumFast(args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) return null;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const lead = axes.length;
  if (lead === x.shape.length || axes.some((a, i) => a !== i)) return null;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, lead)), cols = tf.util.sizeFromShape(x.shape.slice(lead));
  const backend = wasmBackend(args);
  const outShape = keepDims ? [...x.shape.slice(0, lead).map(() => 1), ...x.shape.slice(lead)] : x.shape.slice(lead);
  const out = backend.makeOutput(outShape, "float32");
  const kernels = simdModule<ElementwiseKernels>(backend, "elementwise");
  const sums = float64Sums(backend, cols, (acc) => kernels.sumRows(heapOffset(backend, x), rows, cols, acc));
  backend.wasm.HEAPF32.set(sums, heapIndex(backend, out));
  return out;
}

/**
 * The stock Transpose is fast (it beats this one 3-4x on [128, 200, 200] and [128, 200, 50]) except on tall inputs:
 * [25600, 50] takes it 10 ms, this one 1.8. Only inputs with at least this many times more rows than columns come here.
 */
const TALL = 16;

/** Tile edge of the blocked transpose. Measured with output rows written contiguously inside a tile: 32 beats 16
 * and ties 64 at [25600, 50] (1.2 ms) and [128, 200, 200] (8 ms). */
const TILE = 32;

/**
 * The [batch, rows, cols] reading of a permutation that keeps axes [0, p) in place and swaps the blocks [p, q) and
 * [q, rank); null for any other permutation.
 */
function blockSwap(shape: number[], perm: number[]): [number, number, number] | null {
  const rank = shape.length;
  let p = 0;
  while (p < rank && perm[p] === p) p++;
  if (p === rank) return null;
  const q = perm[p];
  for (let i = 0; i < rank; i++) {
    const want = i < p ? i : i < p + rank - q ? q + i - p : p + i - (p + rank - q);
    if (perm[i] !== want) return null;
  }
  return [
    tf.util.sizeFromShape(shape.slice(0, p)),
    tf.util.sizeFromShape(shape.slice(p, q)),
    tf.util.sizeFromShape(shape.slice(q)),
  ];
}

function transposeFast(args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (!COPYABLE.includes(x.dtype) || tf.util.sizeFromShape(x.shape) === 0) return null;
  const moved = perm.filter((axis) => x.shape[axis] !== 1);
  if (moved.every((axis, i) => i === 0 || moved[i - 1] < axis)) { // only unit axes move: the data stays in order
    const shared = identityShared(args)!;
    return { ...shared, shape: perm.map((axis) => x.shape[axis]) };
  }
  const swap = blockSwap(x.shape, perm);
  if (!swap || swap[2] === 1 || swap[1] < TALL * swap[2]) return null;
  const [batch, rows, cols] = swap;
  const backend = wasmBackend(args);
  const out = backend.makeOutput(perm.map((axis) => x.shape[axis]), x.dtype);
  const heap = backend.wasm.HEAP32;
  const src = heapIndex(backend, x), dst = heapIndex(backend, out);
  for (let b = 0; b < batch; b++) {
    const from = src + b * rows * cols, to = dst + b * rows * cols;
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, cols);
      for (let r0 = 0; r0 < rows; r0 += TILE) {
        const r1 = Math.min(r0 + TILE, rows);
        for (let c = c0; c < c1; c++) {
          const row = to + c * rows; // output row c, written contiguously
          for (let r = r0; r < r1; r++) heap[row + r] = heap[from + r * cols + c];
        }
      }
    }
  }
  return out;
}

/** The other operand and the scalar's value when one of a binary kernel's float32 inputs has one element (`b` when
 * both have; the output then has the broadcast shape, the size of the other operand); else null. */
function withScalar(
  args: KernelArgs,
): { x: tf.TensorInfo; value: number; scalarFirst: boolean; shape: number[] } | null {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const scalarFirst = tf.util.sizeFromShape(b.shape) !== 1; // `a` is the scalar only when `b` is not
  if (scalarFirst && tf.util.sizeFromShape(a.shape) !== 1) return null;
  const backend = wasmBackend(args);
  const value = backend.wasm.HEAPF32[heapIndex(backend, scalarFirst ? a : b)];
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  return { x: scalarFirst ? b : a, value, scalarFirst, shape };
}

/** max(x, 0) (either order): negative numbers become +0, NaN stays NaN. */
function maximumZero(args: KernelArgs): tf.TensorInfo | null {
  const operands = withScalar(args);
  if (!operands || !Object.is(operands.value, 0)) return null; // max(x, -0) keeps -0: the stock kernel
  const backend = wasmBackend(args);
  const out = backend.makeOutput(operands.shape, "float32");
  const kernels = simdModule<ElementwiseKernels>(backend, "elementwise");
  kernels.maximumZero(heapOffset(backend, operands.x), tf.util.sizeFromShape(operands.shape), heapOffset(backend, out));
  return out;
}

/** x >= c or c >= x for a scalar c. */
function greaterEqualScalar(args: KernelArgs): tf.TensorInfo | null {
  const operands = withScalar(args);
  if (!operands) return null;
  const backend = wasmBackend(args);
  const out = backend.makeOutput(operands.shape, "bool");
  simdModule<ElementwiseKernels>(backend, "elementwise").greaterEqualScalar(
    heapOffset(backend, operands.x),
    tf.util.sizeFromShape(operands.shape),
    operands.value,
    operands.scalarFirst,
    heapOffset(backend, out),
  );
  return out;
}

function sliceColumns(args: KernelArgs): tf.TensorInfo | null {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size: extent } = args.attrs as unknown as { begin: number[]; size: number[] };
  if (!COPYABLE.includes(x.dtype) || x.shape.length === 0 || tf.util.sizeFromShape(x.shape) === 0) return null;
  const [begins, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, extent);
  const last = x.shape.length - 1;
  if (!x.shape.slice(0, last).every((dim, i) => begins[i] === 0 && sizes[i] === dim) || sizes[last] === 0) return null;
  const backend = wasmBackend(args);
  const out = backend.makeOutput(sizes, x.dtype);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, last));
  simdModule<ElementwiseKernels>(backend, "elementwise")
    .copyColumns(heapOffset(backend, x), rows, x.shape[last], begins[last], sizes[last], heapOffset(backend, out));
  return out;
}

/** Identity without a copy. */
export const fastIdentity: tf.KernelConfig = overrideKernel("Identity", identityShared);
/** Slice of a block of columns by one strided copy. */
export const fastSlice: tf.KernelConfig = overrideKernel("Slice", sliceColumns);
/** Cast to the same dtype without a copy; bool to float32 in one pass. */
export const fastCast: tf.KernelConfig = overrideKernel("Cast", castFast);
/** GatherV2 by row copies on the heap. */
export const fastGatherV2: tf.KernelConfig = overrideKernel("GatherV2", gatherFast);
/** Sum over leading axes in one pass. */
export const fastSum: tf.KernelConfig = overrideKernel("Sum", sumFast);
/** Maximum against a scalar 0 in one pass. */
export const fastMaximum: tf.KernelConfig = overrideKernel("Maximum", maximumZero);
/** GreaterEqual against a scalar in one pass. */
export const fastGreaterEqual: tf.KernelConfig = overrideKernel("GreaterEqual", greaterEqualScalar);
/** Transpose of tall matrices, cache-blocked; one that moves only unit axes shares the buffer. */
export const fastTranspose: tf.KernelConfig = overrideKernel("Transpose", transposeFast);
