/**
 * Tiled causal attention on the wasm heap (flash-style: Dao et al. 2022, "FlashAttention"), forward and backward as
 * two wasm kernels, for the safe mask (src/models/attention.ts): query t of sequence b may attend key s when
 * s <= positions[b, t] and key s is an item (items[b, s] = 1). Per slice (batch · head) the query rows go in tiles
 * of `TILE_ROWS`; a tile attends only keys from the sequence's first item to its last visible key, so tiles above
 * the diagonal and keys in the padding cost nothing. A tile's scores are one XNNPACK product (`heapMatMul`) into
 * scratch memory, its softmax one JS pass (the mask evaluated per element, dropout multipliers drawn per element from
 * the same counter-based hash as `bernoulliMultipliers`, so the masks equal the materialised ones), and its output
 * one more product. Only the per-row logsumexp is kept for backward, which recomputes each tile's probabilities:
 * dV = P̃ᵀ dO, dP = (dO Vᵀ) ⊙ keep, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS K, dK = dSᵀ Q (P̃ = P ⊙ keep).
 * Rows without a visible key give output 0 and gradient 0 (lse −Infinity), as the safe mode's row mask does.
 */
import type * as tf from "@tensorflow/tfjs";
import { heapMatMul } from "./batch_matmul.ts";
import { keepThreshold, uniform16 } from "./dropout_hash.ts";
import { heapIndex, type KernelArgs, type WasmBackend, wasmBackend } from "./override.ts";

/** Name of the forward kernel: inputs q [BH, Tq, dk] (already scaled), k, v [BH, T, dk]; outputs out [BH, Tq, dk],
 * lse [BH, Tq]. */
export const CAUSAL_ATTENTION = "Ur4recCausalAttention";
/** Name of the backward kernel: inputs q, k, v, out, lse, dy (dL/dout); outputs dq, dk, dv. */
export const CAUSAL_ATTENTION_GRAD = "Ur4recCausalAttentionGrad";

/** Query rows per tile (measured in README "Performance", "Tiled causal attention"). */
export const TILE_ROWS = 32;

/**
 * The attributes of both kernels. `positions` [B·Tq]: the sequence position of each query row; `items` [B·T]: 1
 * where the key is an item, 0 on pads; `heads`: H (slice i belongs to sequence floor(i / H)); dropout multipliers
 * are those of `bernoulliMultipliers(seed, B·H·Tq·T, keep)` read at [slice, row, key]; `keep` 1 means no dropout.
 */
export interface CausalAttentionAttrs {
  positions: Int32Array;
  items: Int32Array;
  heads: number;
  seed: number;
  keep: number;
}

/** Byte offset of a tensor's data in the heap. */
function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** The geometry shared by the two kernels, each (slice, tile)'s key range and each row's mask and dropout. */
class Tiling {
  readonly slices: number;
  readonly rows: number;
  readonly keys: number;
  readonly dk: number;
  readonly tiles: number;
  private readonly threshold: number;
  /** Per sequence: first item position (keys before it are pads) and one past the last item. */
  private readonly first: Int32Array;
  private readonly end: Int32Array;

  constructor(q: tf.TensorInfo, k: tf.TensorInfo, readonly attrs: CausalAttentionAttrs) {
    [this.slices, this.rows, this.dk] = q.shape;
    this.keys = k.shape[1];
    this.tiles = Math.ceil(this.rows / TILE_ROWS);
    this.threshold = keepThreshold(attrs.keep);
    const sequences = this.slices / attrs.heads;
    this.first = new Int32Array(sequences).fill(this.keys);
    this.end = new Int32Array(sequences);
    for (let b = 0; b < sequences; b++) {
      for (let s = 0; s < this.keys; s++) {
        if (!attrs.items[b * this.keys + s]) continue;
        this.first[b] = Math.min(this.first[b], s);
        this.end[b] = s + 1;
      }
    }
  }

  /** Rows [r0, r1) of tile `tile` and the keys [lo, hi) they may see in slice `slice` (hi <= lo: none). */
  tile(slice: number, tile: number): { r0: number; r1: number; lo: number; hi: number } {
    const b = Math.floor(slice / this.attrs.heads);
    const r0 = tile * TILE_ROWS, r1 = Math.min(r0 + TILE_ROWS, this.rows);
    let last = -1;
    for (let r = r0; r < r1; r++) last = Math.max(last, this.attrs.positions[b * this.rows + r]);
    return { r0, r1, lo: this.first[b], hi: Math.min(this.end[b], last + 1) };
  }

  /**
   * Writes into `heap[at + j]` (j < hi - lo) the mask of row `row` of slice `slice` over keys lo + j: 1 where
   * visible, else 0; returns how many leading keys can be visible (the rest are past the row's position).
   */
  mask(slice: number, row: number, lo: number, hi: number, heap: Float32Array, at: number): number {
    const b = Math.floor(slice / this.attrs.heads);
    const count = Math.max(0, Math.min(hi, this.attrs.positions[b * this.rows + row] + 1) - lo);
    const items = this.attrs.items, base = b * this.keys + lo;
    for (let j = 0; j < count; j++) heap[at + j] = items[base + j] ? 1 : 0;
    heap.fill(0, at + count, at + hi - lo);
    return count;
  }

  /** Multiplies `heap[at + j]` (j < count) by the dropout multiplier of (slice, row, lo + j); no-op without dropout. */
  dropout(slice: number, row: number, lo: number, count: number, heap: Float32Array, at: number): void {
    const { seed, keep } = this.attrs;
    if (keep === 1) return;
    const index = (slice * this.rows + row) * this.keys + lo, scale = 1 / keep;
    for (let j = 0; j < count; j++) heap[at + j] *= uniform16(seed, index + j) < this.threshold ? scale : 0;
  }
}

/** Copies rows [r0, r1) of the [rows, dk] matrix at float index `src` transposed into [dk, r1 - r0] at `dst`. */
function transposeRows(heap: Float32Array, src: number, dst: number, r0: number, r1: number, dk: number): void {
  const m = r1 - r0;
  for (let r = r0; r < r1; r++) {
    const row = src + r * dk;
    for (let d = 0; d < dk; d++) heap[dst + d * m + r - r0] = heap[row + d];
  }
}

/** Scratch memory of one kernel call: `count` regions of `floats` floats each, as byte offsets. */
function scratch(backend: WasmBackend, count: number, floats: number): { regions: number[]; free: () => void } {
  const base = backend.wasm._malloc(count * floats * 4);
  return {
    regions: Array.from({ length: count }, (_, i) => base + i * floats * 4),
    free: () => backend.wasm._free(base),
  };
}

/**
 * Softmax of row `r` of a tile whose scores are stored transposed (`sT`, float index, [n, m]) into `heap[p..p+n)`,
 * where it first finds its mask; returns the row's logsumexp (−Infinity when no key is visible: the row is zeros).
 */
function softmaxRow(heap: Float32Array, sT: number, m: number, r: number, p: number, count: number): number {
  let max = -Infinity;
  for (let j = 0; j < count; j++) if (heap[p + j] !== 0) max = Math.max(max, heap[sT + j * m + r]);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let j = 0; j < count; j++) {
    const e = heap[p + j] === 0 ? 0 : Math.exp(heap[sT + j * m + r] - max);
    heap[p + j] = e;
    sum += e;
  }
  const scale = 1 / sum;
  for (let j = 0; j < count; j++) heap[p + j] *= scale;
  return max + Math.log(sum);
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { q, k, v } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
  const backend = wasmBackend(args);
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const out = backend.makeOutput([g.slices, g.rows, g.dk], "float32");
  const lse = backend.makeOutput([g.slices, g.rows], "float32");
  const { regions: [qT, sT, p], free } = scratch(backend, 3, Math.max(g.dk, g.keys) * TILE_ROWS);
  const outAt = heapIndex(backend, out), lseAt = heapIndex(backend, lse);
  backend.wasm.HEAPF32.fill(0, outAt, outAt + g.slices * g.rows * g.dk);
  for (let slice = 0; slice < g.slices; slice++) {
    const sliceQ = offsetOf(backend, q) + slice * g.rows * g.dk * 4, sliceKV = slice * g.keys * g.dk * 4;
    for (let tile = 0; tile < g.tiles; tile++) {
      const { r0, r1, lo, hi } = g.tile(slice, tile);
      const lseRow = lseAt + slice * g.rows;
      if (hi <= lo) {
        backend.wasm.HEAPF32.fill(-Infinity, lseRow + r0, lseRow + r1);
        continue;
      }
      const m = r1 - r0, n = hi - lo;
      transposeRows(backend.wasm.HEAPF32, sliceQ >> 2, qT >> 2, r0, r1, g.dk);
      heapMatMul(backend, offsetOf(backend, k) + sliceKV + lo * g.dk * 4, qT, sT, n, g.dk, m); // Sᵀ [n, m]
      const heap = backend.wasm.HEAPF32; // after the product: the heap may have grown
      for (let r = 0; r < m; r++) {
        const row = (p >> 2) + r * n;
        const count = g.mask(slice, r0 + r, lo, hi, heap, row);
        heap[lseRow + r0 + r] = softmaxRow(heap, sT >> 2, m, r, row, count);
        g.dropout(slice, r0 + r, lo, count, heap, row);
      }
      const outTile = offsetOf(backend, out) + (slice * g.rows + r0) * g.dk * 4;
      heapMatMul(backend, p, offsetOf(backend, v) + sliceKV + lo * g.dk * 4, outTile, m, n, g.dk); // P̃ V
    }
  }
  free();
  return [out, lse];
}

/** heap[dst + i] += heap[src + i] for i < count. */
function addInto(heap: Float32Array, dst: number, src: number, count: number): void {
  for (let i = 0; i < count; i++) heap[dst + i] += heap[src + i];
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { q, k, v, out, lse, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = wasmBackend(args);
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const dq = backend.makeOutput(q.shape, "float32");
  const dk = backend.makeOutput(k.shape, "float32");
  const dv = backend.makeOutput(v.shape, "float32");
  const tileFloats = Math.max(g.dk, g.keys) * TILE_ROWS;
  const { regions: [qT, dyT, sT, dpT, ds, mask, drop, part], free } = scratch(backend, 8, tileFloats);
  for (const t of [dq, dk, dv]) {
    backend.wasm.HEAPF32.fill(0, heapIndex(backend, t), heapIndex(backend, t) + g.slices * t.shape[1] * g.dk);
  }
  const delta = new Float64Array(TILE_ROWS);
  for (let slice = 0; slice < g.slices; slice++) {
    const sliceQ = slice * g.rows * g.dk * 4, sliceKV = slice * g.keys * g.dk * 4;
    for (let tile = 0; tile < g.tiles; tile++) {
      const { r0, r1, lo, hi } = g.tile(slice, tile);
      if (hi <= lo) continue;
      const m = r1 - r0, n = hi - lo, rowsAt = sliceQ + r0 * g.dk * 4, keysAt = sliceKV + lo * g.dk * 4;
      let heap = backend.wasm.HEAPF32;
      transposeRows(heap, (offsetOf(backend, q) + sliceQ) >> 2, qT >> 2, r0, r1, g.dk);
      transposeRows(heap, (offsetOf(backend, dy) + sliceQ) >> 2, dyT >> 2, r0, r1, g.dk);
      for (let r = 0; r < m; r++) {
        const o = (offsetOf(backend, out) + rowsAt) / 4 + r * g.dk, d = (offsetOf(backend, dy) + rowsAt) / 4 + r * g.dk;
        let sum = 0;
        for (let c = 0; c < g.dk; c++) sum += heap[o + c] * heap[d + c];
        delta[r] = sum; // rowsum(dO ⊙ O) = Σ_s P dP, dropout included
      }
      heapMatMul(backend, offsetOf(backend, k) + keysAt, qT, sT, n, g.dk, m); // Sᵀ [n, m]
      heapMatMul(backend, offsetOf(backend, v) + keysAt, dyT, dpT, n, g.dk, m); // (dO Vᵀ)ᵀ [n, m]
      heap = backend.wasm.HEAPF32;
      const lseRow = heapIndex(backend, lse) + slice * g.rows + r0;
      for (let r = 0; r < m; r++) {
        const visible = (mask >> 2) + r * n,
          keep = (drop >> 2) + r * n,
          dsRow = (ds >> 2) + r * n,
          l = heap[lseRow + r];
        const count = l === -Infinity ? 0 : g.mask(slice, r0 + r, lo, hi, heap, visible);
        heap.fill(1, keep, keep + count);
        g.dropout(slice, r0 + r, lo, count, heap, keep);
        for (let j = 0; j < n; j++) {
          const at = j * m + r, pAt = (sT >> 2) + at, dpAt = (dpT >> 2) + at;
          const shown = j < count && heap[visible + j] !== 0;
          const prob = shown ? Math.exp(heap[pAt] - l) : 0, multiplier = shown ? heap[keep + j] : 0;
          const grad = prob * (heap[dpAt] * multiplier - delta[r]);
          heap[pAt] = prob * multiplier; // P̃ᵀ
          heap[dpAt] = grad; // dSᵀ
          heap[dsRow + j] = grad; // dS
        }
      }
      const dyTile = offsetOf(backend, dy) + rowsAt, qTile = offsetOf(backend, q) + rowsAt;
      heapMatMul(backend, sT, dyTile, part, n, m, g.dk); // P̃ᵀ dO
      addInto(backend.wasm.HEAPF32, (offsetOf(backend, dv) + keysAt) >> 2, part >> 2, n * g.dk);
      heapMatMul(backend, dpT, qTile, part, n, m, g.dk); // dSᵀ Q
      addInto(backend.wasm.HEAPF32, (offsetOf(backend, dk) + keysAt) >> 2, part >> 2, n * g.dk);
      heapMatMul(backend, ds, offsetOf(backend, k) + keysAt, offsetOf(backend, dq) + rowsAt, m, n, g.dk); // dS K
    }
  }
  free();
  return [dq, dk, dv];
}

/** The forward kernel on wasm (see the module comment). */
export const causalAttentionKernel: tf.KernelConfig = {
  kernelName: CAUSAL_ATTENTION,
  backendName: "wasm",
  kernelFunc: forward as unknown as tf.KernelFunc,
};
/** The backward kernel on wasm. */
export const causalAttentionGradKernel: tf.KernelConfig = {
  kernelName: CAUSAL_ATTENTION_GRAD,
  backendName: "wasm",
  kernelFunc: backward as unknown as tf.KernelFunc,
};
