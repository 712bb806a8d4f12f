/**
 * Tiled causal attention on the wasm heap (flash-style: Dao et al. 2022, "FlashAttention"), forward and backward as
 * two wasm kernels, for the safe mask (src/models/attention.ts): query t of sequence b may attend key s when
 * s <= positions[b, t] and key s is an item (items[b, s] = 1). Per slice (batch · head) the query rows go in tiles
 * of `TILE_ROWS`, from the first row that sees any key; a tile attends only keys from the sequence's first item to
 * its rows' last position, so tiles above the diagonal, pad query rows before the first item and pad keys cost
 * nothing. Per tile, in scratch memory: the transposed scores Sᵀ = K Qᵀ by one XNNPACK product (`heapMatMul`), the
 * masked scores (−Infinity where masked) by one JS pass, the probabilities by one XNNPACK softmax over the tile's
 * rows, the dropout multipliers drawn per element from the same counter-based hash as `bernoulliMultipliers` (so the
 * masks equal the materialised ones; two elements per hash), and the output P̃ V by one more product. Nothing of
 * size [T, T] outlives a tile: the backward recomputes each tile's softmax from q and k (the row statistics are
 * recomputed inside XNNPACK's softmax, which measured faster than a scalar exp(S − logsumexp) pass from a saved
 * logsumexp) and runs dV = P̃ᵀ dO, dP = (dO Vᵀ) ⊙ keep, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS K, dK = dSᵀ Q
 * (P̃ = P ⊙ keep) as five products per tile. Rows without a visible key give output 0 and gradient 0, as the safe
 * mode's row mask does.
 */
import type * as tf from "@tensorflow/tfjs";
import { heapMatMul } from "./batch_matmul.ts";
import { keepThreshold, pairHash, uniform16 } from "./dropout_hash.ts";
import { heapIndex, heapView, type KernelArgs, type WasmBackend, wasmBackend } from "./override.ts";

/** Name of the forward kernel: inputs q [BH, Tq, dk] (already scaled), k, v [BH, T, dk]; output [BH, Tq, dk]. */
export const CAUSAL_ATTENTION = "Ur4recCausalAttention";
/** Name of the backward kernel: inputs q, k, v, out (the forward's output), dy (dL/dout); outputs dq, dk, dv. */
export const CAUSAL_ATTENTION_GRAD = "Ur4recCausalAttentionGrad";

/** Query rows per tile (measured in README "Performance", "Tiled causal attention"). */
export const TILE_ROWS = 32;

/**
 * Shorter sequences stay on the tfjs attention path: one layer's forward + backward at B128 with 1/4 padding, CPU ms,
 * tfjs path vs tiled (README "Tiled causal attention"): T50/H2/dk32 36.8 vs 40.5, T100/H2/dk32 97 vs 107,
 * T100/H1/dk50 75 vs 70, T200/H1/dk50 222 vs 159, T200/H2/dk32 319 vs 239.
 */
export const MIN_TILED_KEYS = 128;

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
  private readonly threshold: number;
  /** Per sequence: first item position (keys before it are pads), one past the last item, and the number of
   * leading query rows that see no key (their position is before the first item). */
  private readonly first: Int32Array;
  private readonly end: Int32Array;
  private readonly skip: Int32Array;

  constructor(q: tf.TensorInfo, k: tf.TensorInfo, readonly attrs: CausalAttentionAttrs) {
    [this.slices, this.rows, this.dk] = q.shape;
    this.keys = k.shape[1];
    this.threshold = keepThreshold(attrs.keep);
    const sequences = this.slices / attrs.heads;
    this.first = new Int32Array(sequences).fill(this.keys);
    this.end = new Int32Array(sequences);
    this.skip = new Int32Array(sequences);
    for (let b = 0; b < sequences; b++) {
      for (let s = 0; s < this.keys; s++) {
        if (!attrs.items[b * this.keys + s]) continue;
        this.first[b] = Math.min(this.first[b], s);
        this.end[b] = s + 1;
      }
      while (this.skip[b] < this.rows && attrs.positions[b * this.rows + this.skip[b]] < this.first[b]) this.skip[b]++;
    }
  }

  /**
   * The tiles of slice `slice`: rows [r0, r1) (`TILE_ROWS` at a time from the first row that sees a key) and the
   * keys [lo, hi) they may see (from the first item to the last position of the tile's rows, within the items).
   */
  tilesOf(slice: number): { r0: number; r1: number; lo: number; hi: number }[] {
    const b = Math.floor(slice / this.attrs.heads), tiles = [];
    for (let r0 = this.skip[b]; r0 < this.rows; r0 += TILE_ROWS) {
      const r1 = Math.min(r0 + TILE_ROWS, this.rows);
      let last = -1;
      for (let r = r0; r < r1; r++) last = Math.max(last, this.attrs.positions[b * this.rows + r]);
      const hi = Math.min(this.end[b], last + 1);
      if (hi > this.first[b]) tiles.push({ r0, r1, lo: this.first[b], hi });
    }
    return tiles;
  }

  /** How many of the keys lo, lo + 1, ... row `row` of slice `slice` can see (not past its position), at most n. */
  reach(slice: number, row: number, lo: number, n: number): number {
    const position = this.attrs.positions[Math.floor(slice / this.attrs.heads) * this.rows + row];
    return Math.max(0, Math.min(n, position + 1 - lo));
  }

  /**
   * Copies row r of the tile's transposed scores (`sT`, float index, [n, m]) into `heap[at..at+n)` with masked keys
   * at −Infinity; returns whether any key is visible.
   */
  maskedScores(slice: number, row: number, lo: number, n: number, src: Source, at: number): boolean {
    const { heap, sT, m, r } = src;
    const count = this.reach(slice, row, lo, n);
    const items = this.attrs.items, base = Math.floor(slice / this.attrs.heads) * this.keys + lo;
    let any = false;
    for (let j = 0; j < count; j++) {
      const item = items[base + j] !== 0;
      heap[at + j] = item ? heap[sT + j * m + r] : -Infinity;
      any ||= item;
    }
    heap.fill(-Infinity, at + count, at + n);
    return any;
  }

  /**
   * Writes into `heap[at..at+n)` the dropout multipliers (1/keep or 0; 1 without dropout) of row `row` of slice
   * `slice` over keys lo, lo + 1, ..., and 0 past the row's position. Hashes two keys at a time, as
   * `bernoulliMultipliers` does.
   */
  multipliers(slice: number, row: number, lo: number, n: number, heap: Float32Array, at: number): void {
    const { seed, keep } = this.attrs;
    const count = this.reach(slice, row, lo, n);
    heap.fill(0, at + count, at + n);
    if (keep === 1) {
      heap.fill(1, at, at + count);
      return;
    }
    const scale = 1 / keep, threshold = this.threshold;
    const start = (slice * this.rows + row) * this.keys + lo, stop = start + count;
    let i = start;
    if (i & 1 && i < stop) heap[at + i++ - start] = uniform16(seed, start) < threshold ? scale : 0;
    for (; i + 1 < stop; i += 2) {
      const z = pairHash(seed, i >>> 1);
      heap[at + i - start] = (z & 0xffff) < threshold ? scale : 0;
      heap[at + i + 1 - start] = z >>> 16 < threshold ? scale : 0;
    }
    if (i < stop) heap[at + i - start] = uniform16(seed, i) < threshold ? scale : 0;
  }
}

/** Where `maskedScores` reads row r of a tile's transposed scores: float index `sT` of an [n, m] matrix. */
interface Source {
  heap: Float32Array;
  sT: number;
  m: number;
  r: number;
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
 * The probabilities P [m, n] (row-major at byte offset `p`) of tile rows r0.. over keys lo.. of slice `slice`, from
 * its transposed scores at byte offset `sT` ([n, m], from one product Sᵀ = K Qᵀ): masked scores, then one XNNPACK
 * softmax over the tile's rows (in place); rows without a visible key are 0.
 */
function tileProbabilities(
  backend: WasmBackend,
  g: Tiling,
  slice: number,
  r0: number,
  m: number,
  lo: number,
  n: number,
  sT: number,
  p: number,
): void {
  const heap = backend.wasm.HEAPF32;
  const empty: number[] = [];
  for (let r = 0; r < m; r++) {
    const row = (p >> 2) + r * n;
    if (!g.maskedScores(slice, r0 + r, lo, n, { heap, sT: sT >> 2, m, r }, row)) empty.push(row);
  }
  for (const row of empty) heap.fill(0, row, row + n); // softmax of −Infinity everywhere would be NaN
  const id = heapView(backend, p, m * n);
  backend.wasm._Softmax(id, id, n, m);
  backend.wasm.tfjs.disposeData(id);
  for (const row of empty) backend.wasm.HEAPF32.fill(0, row, row + n);
}

function forward(args: KernelArgs): tf.TensorInfo {
  const { q, k, v } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
  const backend = wasmBackend(args);
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const out = backend.makeOutput([g.slices, g.rows, g.dk], "float32");
  const { regions: [qT, sT, p, drop], free } = scratch(backend, 4, Math.max(g.dk, g.keys) * TILE_ROWS);
  const [qAt, kAt, vAt, outAt] = [q, k, v, out].map((t) => offsetOf(backend, t));
  backend.wasm.HEAPF32.fill(0, outAt >> 2, (outAt >> 2) + g.slices * g.rows * g.dk);
  for (let slice = 0; slice < g.slices; slice++) {
    const sliceQ = slice * g.rows * g.dk * 4, sliceKV = slice * g.keys * g.dk * 4;
    for (const { r0, r1, lo, hi } of g.tilesOf(slice)) {
      const m = r1 - r0, n = hi - lo, keysAt = sliceKV + lo * g.dk * 4;
      transposeRows(backend.wasm.HEAPF32, (qAt + sliceQ) >> 2, qT >> 2, r0, r1, g.dk);
      heapMatMul(backend, kAt + keysAt, qT, sT, n, g.dk, m); // Sᵀ [n, m]
      tileProbabilities(backend, g, slice, r0, m, lo, n, sT, p);
      if (g.attrs.keep !== 1) {
        const heap = backend.wasm.HEAPF32, keep = drop >> 2;
        for (let r = 0; r < m; r++) {
          const row = (p >> 2) + r * n;
          g.multipliers(slice, r0 + r, lo, n, heap, keep);
          for (let j = 0; j < n; j++) heap[row + j] *= heap[keep + j];
        }
      }
      heapMatMul(backend, p, vAt + keysAt, outAt + sliceQ + r0 * g.dk * 4, m, n, g.dk); // P̃ V
    }
  }
  free();
  return out;
}

/** heap[dst + i] += heap[src + i] for i < count. */
function addInto(heap: Float32Array, dst: number, src: number, count: number): void {
  for (let i = 0; i < count; i++) heap[dst + i] += heap[src + i];
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { q, k, v, out, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = wasmBackend(args);
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const grads = [q, k, v].map((x) => backend.makeOutput(x.shape, "float32"));
  const tileFloats = Math.max(g.dk, g.keys) * Math.max(TILE_ROWS, g.dk); // [dk, m], [n, m] and [n, dk]
  const { regions: [qT, dyT, sT, dpT, p, ds, drop, part], free } = scratch(backend, 8, tileFloats);
  for (const t of grads) {
    backend.wasm.HEAPF32.fill(0, heapIndex(backend, t), heapIndex(backend, t) + g.slices * t.shape[1] * g.dk);
  }
  const [at, dAt] = [[q, k, v, out, dy], grads].map((ts) => ts.map((t) => offsetOf(backend, t)));
  const [qAt, kAt, vAt, outAt, dyAt] = at, [dqAt, dkAt, dvAt] = dAt;
  const delta = new Float64Array(TILE_ROWS);
  for (let slice = 0; slice < g.slices; slice++) {
    const sliceQ = slice * g.rows * g.dk * 4, sliceKV = slice * g.keys * g.dk * 4;
    for (const { r0, r1, lo, hi } of g.tilesOf(slice)) {
      const m = r1 - r0, n = hi - lo, rowsAt = sliceQ + r0 * g.dk * 4, keysAt = sliceKV + lo * g.dk * 4;
      let heap = backend.wasm.HEAPF32;
      transposeRows(heap, (qAt + sliceQ) >> 2, qT >> 2, r0, r1, g.dk);
      transposeRows(heap, (dyAt + sliceQ) >> 2, dyT >> 2, r0, r1, g.dk);
      for (let r = 0, o = (outAt + rowsAt) >> 2, d = (dyAt + rowsAt) >> 2; r < m; r++, o += g.dk, d += g.dk) {
        let sum = 0;
        for (let c = 0; c < g.dk; c++) sum += heap[o + c] * heap[d + c];
        delta[r] = sum; // rowsum(dO ⊙ O) = Σ_s P dP, dropout included
      }
      heapMatMul(backend, kAt + keysAt, qT, sT, n, g.dk, m); // Sᵀ [n, m]
      heapMatMul(backend, vAt + keysAt, dyT, dpT, n, g.dk, m); // (dO Vᵀ)ᵀ [n, m]
      tileProbabilities(backend, g, slice, r0, m, lo, n, sT, p);
      heap = backend.wasm.HEAPF32;
      const [pT, gT, keep] = [sT >> 2, dpT >> 2, drop >> 2];
      for (let r = 0; r < m; r++) {
        const pRow = (p >> 2) + r * n, dsRow = (ds >> 2) + r * n;
        g.multipliers(slice, r0 + r, lo, n, heap, keep);
        for (let j = 0, t = r; j < n; j++, t += m) {
          const prob = heap[pRow + j], multiplier = heap[keep + j];
          const grad = prob * (heap[gT + t] * multiplier - delta[r]);
          heap[pT + t] = prob * multiplier; // P̃ᵀ
          heap[gT + t] = grad; // dSᵀ
          heap[dsRow + j] = grad; // dS
        }
      }
      heapMatMul(backend, sT, dyAt + rowsAt, part, n, m, g.dk); // P̃ᵀ dO
      addInto(backend.wasm.HEAPF32, (dvAt + keysAt) >> 2, part >> 2, n * g.dk);
      heapMatMul(backend, dpT, qAt + rowsAt, part, n, m, g.dk); // dSᵀ Q
      addInto(backend.wasm.HEAPF32, (dkAt + keysAt) >> 2, part >> 2, n * g.dk);
      heapMatMul(backend, ds, kAt + keysAt, dqAt + rowsAt, m, n, g.dk); // dS K
    }
  }
  free();
  return grads;
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
