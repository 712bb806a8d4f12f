/**
 * Tiled causal attention on the wasm heap (flash-style: Dao et al. 2022, "FlashAttention"), forward and backward as
 * two wasm kernels, for the safe mask (src/models/attention.ts): query t of sequence b may attend key s when
 * s <= positions[b, t] and key s is an item (items[b, s] = 1). Per slice (batch · head) the query rows go in tiles
 * of `TILE_ROWS`, from the first row that sees any key; a tile attends only keys from the sequence's first item to
 * its rows' last position, so tiles above the diagonal, pad query rows before the first item and pad keys cost
 * nothing. Kᵀ (and, for the backward, Vᵀ) is transposed once per slice; per tile, in scratch memory: the scores
 * S = Q Kᵀ by one product of the project's SIMD product (`heapGemm`), the mask (−Infinity for pads and past each
 * row's position) and the dropout by the tile passes of `simd/attention.wasm`, the probabilities by one XNNPACK
 * softmax over the tile's rows, and the output P̃ V by one more product. The dropout multipliers come from the same
 * counter-based hash as `bernoulliMultipliers`, evaluated per element, so the masks equal the materialised ones.
 * Nothing of size [T, T] outlives a tile: the backward recomputes each tile's softmax from q and k (XNNPACK's softmax
 * measured faster than a scalar exp(S − logsumexp) pass from a saved logsumexp) and runs dP = dO Vᵀ,
 * dS = P ⊙ (dP ⊙ keep − rowsum(dO ⊙ O)), dV += P̃ᵀ dO, dK += dSᵀ Q, dQ = dS K (P̃ = P ⊙ keep): four products per tile,
 * the transposed operands read through strides and the sums accumulated in place. Rows without a visible key give
 * output 0 and gradient 0, as the safe mode's row mask does.
 */
import type * as tf from "@tensorflow/tfjs";
import { keepThreshold } from "./dropout_hash.ts";
import { heapGemm } from "./gemm.ts";
import {
  heapAlloc,
  heapIndex,
  heapOffset,
  heapView,
  type KernelArgs,
  type WasmBackend,
  wasmBackend,
  wasmKernel,
} from "./override.ts";
import { simdModule } from "./simd.ts";

/** Name of the forward kernel: inputs q [B, Tq, H·dk] (already scaled), k, v [B, T, H·dk], heads packed along the
 * last axis as the projections make them (no split into [B·H, T, dk]); output [B, Tq, H·dk]. */
export const CAUSAL_ATTENTION = "Ur4recCausalAttention";
/** Name of the backward kernel: inputs q, k, v, out (the forward's output), dy (dL/dout); outputs dq, dk, dv. */
export const CAUSAL_ATTENTION_GRAD = "Ur4recCausalAttentionGrad";

/** Query rows per tile (32, 48, 64 and 96 measured: docs/performance.md, "Tiled causal attention" and "Own SIMD
 * kernels"). */
export const TILE_ROWS = 32;

/**
 * Shorter sequences stay on the tfjs attention path: one layer's forward + backward at B128, dropout 0.2, a quarter
 * of pads, process CPU ms, tfjs path vs tiled, alternated (docs/performance.md "Own SIMD kernels"): T10/H2/dk32 3 vs
 * 5, T20/H2/dk32 6 vs 4, T30/H1/dk50 7 vs 7, T50/H1/dk50 13 vs 9, T50/H2/dk32 16 vs 12, T100/H2/dk32 74 vs 45.
 */
export const MIN_TILED_KEYS = 32;

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

/** The geometry shared by the two kernels, each (slice, tile)'s key range and each row's mask and dropout. */
class Tiling {
  readonly slices: number;
  readonly rows: number;
  readonly keys: number;
  readonly dk: number;
  /** H·dk: the floats between consecutive positions of one head in the packed [B, T, H·dk] layout. */
  readonly width: number;
  private readonly threshold: number;
  /** Per sequence: first item position (keys before it are pads), one past the last item, and the number of
   * leading query rows that see no key (their position is before the first item). */
  private readonly first: Int32Array;
  private readonly end: Int32Array;
  private readonly skip: Int32Array;
  /** Per sequence b: at [b·(keys + 1) + s], how many of its keys before s are items. */
  private readonly itemsBefore: Int32Array;

  constructor(q: tf.TensorInfo, k: tf.TensorInfo, readonly attrs: CausalAttentionAttrs) {
    const [batch, rows, width] = q.shape;
    [this.slices, this.rows, this.dk, this.width] = [batch * attrs.heads, rows, width / attrs.heads, width];
    this.keys = k.shape[1];
    this.threshold = keepThreshold(attrs.keep);
    const sequences = this.slices / attrs.heads;
    this.first = new Int32Array(sequences).fill(this.keys);
    this.end = new Int32Array(sequences);
    this.skip = new Int32Array(sequences);
    this.itemsBefore = new Int32Array(sequences * (this.keys + 1));
    for (let b = 0; b < sequences; b++) {
      for (let s = 0; s < this.keys; s++) {
        const before = b * (this.keys + 1) + s;
        this.itemsBefore[before + 1] = this.itemsBefore[before] + (attrs.items[b * this.keys + s] ? 1 : 0);
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

  /** Byte offset, from a packed [B, count, H·dk] tensor's start, of position `t` of slice `slice`'s head. */
  at(slice: number, t: number, count: number): number {
    const b = Math.floor(slice / this.attrs.heads), h = slice % this.attrs.heads;
    return ((b * count + t) * this.width + h * this.dk) * 4;
  }

  /**
   * Per sequence b, the keys' additive mask (0 for items, −Infinity for pads) as floats at `heap[at..at+keys)`.
   */
  keyMask(b: number, heap: Float32Array, at: number): void {
    for (let s = 0; s < this.keys; s++) heap[at + s] = this.attrs.items[b * this.keys + s] ? 0 : -Infinity;
  }

  /**
   * Writes each tile row's reach (how many of keys lo.. it may see) as int32 at `heap[at..at+m)`; returns the tile
   * rows that see no item (their probabilities and gradients are 0).
   */
  tileRows(slice: number, r0: number, m: number, lo: number, n: number, heap: Int32Array, at: number): number[] {
    const b = Math.floor(slice / this.attrs.heads), empty = [];
    for (let r = 0; r < m; r++) {
      const count = this.reach(slice, r0 + r, lo, n);
      heap[at + r] = count;
      if (this.itemsBefore[b * (this.keys + 1) + lo + count] === this.itemsBefore[b * (this.keys + 1) + lo]) {
        empty.push(r);
      }
    }
    return empty;
  }

  /** The dropout arguments of `simd/attention.wasm` for tile rows r0.. of `slice` over keys lo..: base, row stride,
   * seed, threshold and scale (threshold 65536 and scale 1 without dropout). */
  dropout(slice: number, r0: number, lo: number): [number, number, number, number, number] {
    const base = (slice * this.rows + r0) * this.keys + lo;
    return [base >>> 0, this.keys, this.attrs.seed >>> 0, this.threshold, 1 / this.attrs.keep];
  }
}

/** The exports of `simd/attention.wasm` (see its source, `simd/attention.as.ts`); offsets in bytes. */
interface TileKernels {
  transpose(src: number, rows: number, cols: number, srcStride: number, dst: number): void;
  rowDots(a: number, b: number, m: number, d: number, stride: number, out: number): void;
  maskScores(s: number, m: number, n: number, reach: number, keyMask: number): void;
  dropoutRows(
    p: number,
    m: number,
    n: number,
    reach: number,
    base: number,
    rowStride: number,
    seed: number,
    threshold: number,
    scale: number,
  ): void;
  gradRows(
    p: number,
    dp: number,
    pDropped: number,
    m: number,
    n: number,
    reach: number,
    delta: number,
    base: number,
    rowStride: number,
    seed: number,
    threshold: number,
    scale: number,
  ): void;
}

/** Scratch memory of one kernel call: `count` regions of `floats` floats each, as byte offsets. */
function scratch(backend: WasmBackend, count: number, floats: number): { regions: number[]; free: () => void } {
  const base = heapAlloc(backend, count * floats * 4);
  return {
    regions: Array.from({ length: count }, (_, i) => base + i * floats * 4),
    free: () => backend.wasm._free(base),
  };
}

/**
 * The probabilities P [m, n] (row-major at byte offset `p`) of a tile from its scores there: the mask (`reach` and
 * the key mask at `mask`, byte offsets), then one XNNPACK softmax over the tile's rows, in place; `empty` rows are 0.
 */
function tileProbabilities(
  backend: WasmBackend,
  tiles: TileKernels,
  at: { p: number; reach: number; mask: number },
  m: number,
  n: number,
  empty: number[],
): void {
  tiles.maskScores(at.p, m, n, at.reach, at.mask);
  const zero = () => {
    for (const r of empty) backend.wasm.HEAPF32.fill(0, (at.p >> 2) + r * n, (at.p >> 2) + (r + 1) * n);
  };
  zero(); // softmax of −Infinity everywhere would be NaN
  const id = heapView(backend, at.p, m * n);
  backend.wasm._Softmax(id, id, n, m);
  backend.wasm.tfjs.disposeData(id);
  zero();
}

function forward(args: KernelArgs): tf.TensorInfo {
  const { q, k, v } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
  const backend = wasmBackend(args);
  const tiles = simdModule<TileKernels>(backend, "attention");
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const out = backend.makeOutput(q.shape, "float32");
  const { regions: [p, kT, mask, reach], free } = scratch(backend, 4, g.keys * Math.max(g.dk, TILE_ROWS));
  const [qAt, kAt, vAt, outAt] = [q, k, v, out].map((t) => heapOffset(backend, t));
  backend.wasm.HEAPF32.fill(0, outAt >> 2, (outAt >> 2) + g.slices * g.rows * g.dk);
  for (let slice = 0; slice < g.slices; slice++) {
    if (slice % g.attrs.heads === 0) g.keyMask(slice / g.attrs.heads, backend.wasm.HEAPF32, mask >> 2);
    tiles.transpose(kAt + g.at(slice, 0, g.keys), g.keys, g.dk, g.width, kT); // Kᵀ [dk, keys]
    for (const { r0, r1, lo, hi } of g.tilesOf(slice)) {
      const m = r1 - r0, n = hi - lo, rowsAt = g.at(slice, r0, g.rows);
      const empty = g.tileRows(slice, r0, m, lo, n, backend.wasm.HEAP32, reach >> 2);
      const qRows = { at: qAt + rowsAt, rowStride: g.width };
      heapGemm(backend, m, n, g.dk, qRows, { at: kT + lo * 4, rowStride: g.keys }, { at: p, rowStride: n }); // S = Q Kᵀ
      tileProbabilities(backend, tiles, { p, reach, mask: mask + lo * 4 }, m, n, empty);
      if (g.attrs.keep !== 1) tiles.dropoutRows(p, m, n, reach, ...g.dropout(slice, r0, lo));
      const vKeys = { at: vAt + g.at(slice, lo, g.keys), rowStride: g.width };
      heapGemm(backend, m, g.dk, n, { at: p, rowStride: n }, vKeys, { at: outAt + rowsAt, rowStride: g.width }); // P̃ V
    }
  }
  free();
  return out;
}

function backward(args: KernelArgs): tf.TensorInfo[] {
  const { q, k, v, out, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const backend = wasmBackend(args);
  const tiles = simdModule<TileKernels>(backend, "attention");
  const g = new Tiling(q, k, args.attrs as unknown as CausalAttentionAttrs);
  const grads = [q, k, v].map((x) => backend.makeOutput(x.shape, "float32"));
  const { regions: [p, dp, pDropped, kT, vT, mask, reach, delta], free } = scratch(
    backend,
    8,
    g.keys * Math.max(g.dk, TILE_ROWS),
  );
  for (const t of grads) {
    backend.wasm.HEAPF32.fill(0, heapIndex(backend, t), heapIndex(backend, t) + g.slices * t.shape[1] * g.dk);
  }
  const [at, dAt] = [[q, k, v, out, dy], grads].map((ts) => ts.map((t) => heapOffset(backend, t)));
  const [qAt, kAt, vAt, outAt, dyAt] = at, [dqAt, dkAt, dvAt] = dAt;
  for (let slice = 0; slice < g.slices; slice++) {
    if (slice % g.attrs.heads === 0) g.keyMask(slice / g.attrs.heads, backend.wasm.HEAPF32, mask >> 2);
    tiles.transpose(kAt + g.at(slice, 0, g.keys), g.keys, g.dk, g.width, kT);
    tiles.transpose(vAt + g.at(slice, 0, g.keys), g.keys, g.dk, g.width, vT);
    for (const { r0, r1, lo, hi } of g.tilesOf(slice)) {
      const m = r1 - r0, n = hi - lo, rowsAt = g.at(slice, r0, g.rows), keysAt = g.at(slice, lo, g.keys);
      const empty = g.tileRows(slice, r0, m, lo, n, backend.wasm.HEAP32, reach >> 2);
      const rows = (base: number) => ({ at: base + rowsAt, rowStride: g.width }); // a tile's rows of q, dy, dq
      const keys = (base: number) => ({ at: base + keysAt, rowStride: g.width }); // its keys' rows of k, v, dk, dv
      const transposed = (base: number) => ({ at: base + lo * 4, rowStride: g.keys }); // Kᵀ, Vᵀ from key lo
      tiles.rowDots(outAt + rowsAt, dyAt + rowsAt, m, g.dk, g.width, delta); // rowsum(dO ⊙ O) = Σ_s P dP
      heapGemm(backend, m, n, g.dk, rows(qAt), transposed(kT), { at: p, rowStride: n }); // S = Q Kᵀ
      heapGemm(backend, m, n, g.dk, rows(dyAt), transposed(vT), { at: dp, rowStride: n }); // dP = dO Vᵀ
      tileProbabilities(backend, tiles, { p, reach, mask: mask + lo * 4 }, m, n, empty);
      tiles.gradRows(p, dp, pDropped, m, n, reach, delta, ...g.dropout(slice, r0, lo)); // P̃, and dS in dp
      const byColumns = (base: number) => ({ at: base, rowStride: 1, colStride: n }); // [m, n] read as [n, m]
      heapGemm(backend, n, g.dk, m, byColumns(pDropped), rows(dyAt), keys(dvAt), { accumulate: true }); // dV += P̃ᵀ dO
      heapGemm(backend, n, g.dk, m, byColumns(dp), rows(qAt), keys(dkAt), { accumulate: true }); // dK += dSᵀ Q
      heapGemm(backend, m, g.dk, n, { at: dp, rowStride: n }, keys(kAt), rows(dqAt)); // dQ = dS K
    }
  }
  free();
  return grads;
}

/** The forward kernel on wasm (see the module comment). */
export const causalAttentionKernel: tf.KernelConfig = wasmKernel(CAUSAL_ATTENTION, forward);
/** The backward kernel on wasm. */
export const causalAttentionGradKernel: tf.KernelConfig = wasmKernel(CAUSAL_ATTENTION_GRAD, backward);
