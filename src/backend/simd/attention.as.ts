// AssemblyScript source of src/backend/simd/attention.wasm (build: `bash scripts/build_simd.sh`): the element-wise
// passes of one tile of the tiled causal attention (src/backend/causal_attention.ts), on tfjs-backend-wasm's memory
// like gemm.wasm. A tile is m query rows × n keys, row-major, at byte offsets; `reach` (int32 per row) is how many of
// the tile's keys the row may see (causality), `keyMask` (float per key) is 0 for items and −Infinity for pads. Dropout
// multipliers are those of `bernoulliMultipliers` (src/models/layers.ts, src/backend/dropout_hash.ts): element e of a
// mask drawn with `seed` is kept when 16 bits of the splitmix32 hash of pair e >> 1 (the low half for even e, the high
// half for odd e) are below `threshold`; element [r, j] of a tile is e = base + r·rowStride + j.

import { multiplier, rowMultipliers4 } from "./dropout.as";

/**
 * dst[c·rows + r] = src[r·srcStride + c]: a [rows, cols] float matrix (rows `srcStride` floats apart) transposed into
 * a dense [cols, rows], in 4 × 4 blocks of shuffles.
 */
export function transpose(src: usize, rows: i32, cols: i32, srcStride: i32, dst: usize): void {
  const rows4 = rows & ~3, cols4 = cols & ~3, rowBytes = <usize>srcStride << 2, colBytes = <usize>rows << 2;
  for (let r = 0; r < rows4; r += 4) {
    const from = src + <usize>r * rowBytes;
    for (let c = 0; c < cols4; c += 4) {
      const at = from + (<usize>c << 2);
      const a = v128.load(at), b = v128.load(at + rowBytes), x = v128.load(at + 2 * rowBytes);
      const y = v128.load(at + 3 * rowBytes);
      const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const xy0 = i32x4.shuffle(x, y, 0, 4, 1, 5), xy1 = i32x4.shuffle(x, y, 2, 6, 3, 7);
      const to = dst + <usize>c * colBytes + (<usize>r << 2);
      v128.store(to, i64x2.shuffle(ab0, xy0, 0, 2));
      v128.store(to + colBytes, i64x2.shuffle(ab0, xy0, 1, 3));
      v128.store(to + 2 * colBytes, i64x2.shuffle(ab1, xy1, 0, 2));
      v128.store(to + 3 * colBytes, i64x2.shuffle(ab1, xy1, 1, 3));
    }
    for (let c = cols4; c < cols; c++) {
      for (let i = r; i < r + 4; i++) store<f32>(dst + <usize>c * colBytes + (<usize>i << 2), load<f32>(src + <usize>i * rowBytes + (<usize>c << 2)));
    }
  }
  for (let r = rows4; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * colBytes + (<usize>r << 2), load<f32>(src + <usize>r * rowBytes + (<usize>c << 2)));
  }
}

/** out[r] = Σ_c a[r, c] · b[r, c] for r < m, over d columns (rows `stride` floats apart): the row sums of O ⊙ dO. */
export function rowDots(a: usize, b: usize, m: i32, d: i32, stride: i32, out: usize): void {
  for (let r = 0; r < m; r++) {
    const pa = a + (<usize>(r * stride) << 2), pb = b + (<usize>(r * stride) << 2);
    let sum = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= d; c += 4) sum = f32x4.relaxed_madd(v128.load(pa + (<usize>c << 2)), v128.load(pb + (<usize>c << 2)), sum);
    let total = f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
    for (; c < d; c++) total += load<f32>(pa + (<usize>c << 2)) * load<f32>(pb + (<usize>c << 2));
    store<f32>(out + (<usize>r << 2), total);
  }
}

/** The masked scores, in place: s[r, j] + keyMask[j] where j < reach[r], −Infinity past it. */
export function maskScores(s: usize, m: i32, n: i32, reach: usize, keyMask: usize): void {
  const minusInf = f32x4.splat(-Infinity);
  for (let r = 0; r < m; r++) {
    const row = s + (<usize>(r * n) << 2), count = load<i32>(reach + (<usize>r << 2));
    let j = 0;
    for (; j + 4 <= count; j += 4) {
      const at = row + (<usize>j << 2);
      v128.store(at, f32x4.add(v128.load(at), v128.load(keyMask + (<usize>j << 2))));
    }
    for (; j < count; j++) {
      const at = row + (<usize>j << 2);
      store<f32>(at, load<f32>(at) + load<f32>(keyMask + (<usize>j << 2)));
    }
    for (; j + 4 <= n; j += 4) v128.store(row + (<usize>j << 2), minusInf);
    for (; j < n; j++) store<f32>(row + (<usize>j << 2), -Infinity);
  }
}

/** P̃ = P ⊙ multipliers in place (0 past each row's reach): the forward's dropout on a tile's probabilities. */
export function dropoutRows(p: usize, m: i32, n: i32, reach: usize, base: u32, rowStride: u32, seed: u32, threshold: u32, scale: f32): void {
  for (let r = 0; r < m; r++) {
    const row = p + (<usize>(r * n) << 2), count = load<i32>(reach + (<usize>r << 2));
    const e0 = base + <u32>r * rowStride;
    let j = 0;
    for (; j + 4 <= count; j += 4) {
      const at = row + (<usize>j << 2);
      v128.store(at, f32x4.mul(v128.load(at), rowMultipliers4(seed, e0 + <u32>j, threshold, scale)));
    }
    for (; j < n; j++) {
      const at = row + (<usize>j << 2);
      store<f32>(at, load<f32>(at) * (j < count ? multiplier(seed, e0 + <u32>j, threshold, scale) : 0));
    }
  }
}

/**
 * The backward's element-wise step of a tile, with K̃ the dropout multipliers (0 past each row's reach):
 * pDropped = P ⊙ K̃ and, in place of dP, dS = P ⊙ (dP ⊙ K̃ − delta[r]) (delta: float per row, rowsum(dO ⊙ O)).
 */
export function gradRows(p: usize, dp: usize, pDropped: usize, m: i32, n: i32, reach: usize, delta: usize, base: u32, rowStride: u32, seed: u32, threshold: u32, scale: f32): void {
  for (let r = 0; r < m; r++) {
    const offset = <usize>(r * n) << 2, count = load<i32>(reach + (<usize>r << 2));
    const d = load<f32>(delta + (<usize>r << 2)), e0 = base + <u32>r * rowStride, vd = f32x4.splat(d);
    let j = 0;
    for (; j + 4 <= count; j += 4) {
      const at = offset + (<usize>j << 2), keep = rowMultipliers4(seed, e0 + <u32>j, threshold, scale);
      const prob = v128.load(p + at);
      v128.store(pDropped + at, f32x4.mul(prob, keep));
      v128.store(dp + at, f32x4.mul(prob, f32x4.sub(f32x4.mul(v128.load(dp + at), keep), vd)));
    }
    for (; j < n; j++) {
      const at = offset + (<usize>j << 2);
      const keep = j < count ? multiplier(seed, e0 + <u32>j, threshold, scale) : <f32>0;
      const prob = load<f32>(p + at);
      store<f32>(pDropped + at, prob * keep);
      store<f32>(dp + at, prob * (load<f32>(dp + at) * keep - d));
    }
  }
}
