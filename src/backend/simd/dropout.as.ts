// AssemblyScript source of src/backend/simd/dropout.wasm (build: `bash scripts/build_simd.sh`): the counter-based
// dropout hash of src/backend/dropout_hash.ts in SIMD, four mask elements at a time, and the mask kernel of
// src/backend/dropout_mask.ts; attention.as.ts imports the hash from here. On tfjs-backend-wasm's memory like
// gemm.wasm (offsets in bytes). Element e of a mask drawn with `seed` is kept when 16 bits of the hash of pair
// e >> 1 (the low half for even e, the high half for odd e) are below `threshold` (keep probability · 65536).

/** The splitmix32 finaliser of seed + (pair + 1)·golden ratio (mod 2^32): `pairHash` of dropout_hash.ts. */
@inline export function pairHash(seed: u32, pair: u32): u32 {
  const state = seed + (pair + 1) * 0x9e3779b9;
  let z = (state ^ (state >>> 16)) * 0x85ebca6b;
  z = (z ^ (z >>> 13)) * 0xc2b2ae35;
  return z ^ (z >>> 16);
}

/** The dropout multiplier (`scale` or 0) of mask element e; `scale` when nothing is dropped (threshold 65536). */
@inline export function multiplier(seed: u32, e: u32, threshold: u32, scale: f32): f32 {
  if (threshold >= 65536) return scale;
  const z = pairHash(seed, e >>> 1);
  return ((e & 1 ? z >>> 16 : z & 0xffff) < threshold) ? scale : 0;
}

/** `pairHash` of four pairs at once, one per lane. */
@inline function pairHash4(seed: u32, pairs: v128): v128 {
  const state = i32x4.add(i32x4.splat(seed), i32x4.mul(i32x4.add(pairs, i32x4.splat(1)), i32x4.splat(0x9e3779b9)));
  let z = i32x4.mul(v128.xor(state, i32x4.shr_u(state, 16)), i32x4.splat(0x85ebca6b));
  z = i32x4.mul(v128.xor(z, i32x4.shr_u(z, 13)), i32x4.splat(0xc2b2ae35));
  return v128.xor(z, i32x4.shr_u(z, 16));
}

/**
 * The dropout multipliers (`scale` or 0) of mask elements e, e + 1, e + 2, e + 3: four lanes of `pairHash` (each
 * lane hashes its own pair, so a pair is hashed twice) and the low or high 16 bits by the lane's parity.
 */
@inline export function multipliers4(seed: u32, e: u32, threshold: u32, scale: f32): v128 {
  const index = i32x4.add(i32x4.splat(e), i32x4(0, 1, 2, 3));
  const z = pairHash4(seed, i32x4.shr_u(index, 1));
  const odd = i32x4.eq(v128.and(index, i32x4.splat(1)), i32x4.splat(1));
  const uniform = v128.bitselect(i32x4.shr_u(z, 16), v128.and(z, i32x4.splat(0xffff)), odd);
  return v128.and(i32x4.lt_s(uniform, i32x4.splat(threshold)), f32x4.splat(scale));
}

/** The multipliers of a row's elements j.. (j + 4 <= count: all visible): `multipliers4`, or `scale` everywhere
 * without dropout (threshold 65536). */
@inline export function rowMultipliers4(seed: u32, e: u32, threshold: u32, scale: f32): v128 {
  return threshold >= 65536 ? f32x4.splat(scale) : multipliers4(seed, e, threshold, scale);
}

/**
 * The multipliers of mask elements 2q .. 2q + 7 (four whole pairs from pair q): each pair hashed once, its low and
 * high halves interleaved into elements 2q + 2i and 2q + 2i + 1.
 */
@inline function pairMultipliers8(seed: u32, q: u32, threshold: u32, scale: f32, out: usize): void {
  const z = pairHash4(seed, i32x4.add(i32x4.splat(q), i32x4(0, 1, 2, 3)));
  const limit = i32x4.splat(threshold), value = f32x4.splat(scale);
  const low = v128.and(i32x4.lt_s(v128.and(z, i32x4.splat(0xffff)), limit), value);
  const high = v128.and(i32x4.lt_s(i32x4.shr_u(z, 16), limit), value);
  v128.store(out, i32x4.shuffle(low, high, 0, 4, 1, 5));
  v128.store(out, i32x4.shuffle(low, high, 2, 6, 3, 7), 16);
}

/** out[i] = the multiplier (`scale` or 0) of mask element i, for i < count: `bernoulliMultipliers` of layers.ts. */
export function fillMultipliers(out: usize, count: i32, seed: u32, threshold: u32, scale: f32): void {
  let i = 0;
  if (threshold < 65536) {
    for (; i + 8 <= count; i += 8) pairMultipliers8(seed, <u32>i >>> 1, threshold, scale, out + (<usize>i << 2));
  }
  for (; i < count; i++) store<f32>(out + (<usize>i << 2), multiplier(seed, <u32>i, threshold, scale));
}
