/**
 * The counter-based hash behind the models' dropout masks (`bernoulliMultipliers` in src/models/layers.ts): element
 * i of a mask drawn with `seed` uses 16 bits of the hash of pair i >> 1 (the low half for even i, the high half for
 * odd i), so any element can be evaluated on its own (the tiled attention kernel draws its masks per tile).
 */

/** The splitmix32 finaliser of seed + (pair + 1)·golden ratio (mod 2^32), as an int32. */
export function pairHash(seed: number, pair: number): number {
  const state = (seed + Math.imul(pair + 1, 0x9e3779b9)) | 0;
  let z = Math.imul(state ^ (state >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return z ^ (z >>> 16);
}

/** The 16-bit uniform (0..65535) of mask element `index` (< 2^32) under `seed`. */
export function uniform16(seed: number, index: number): number {
  const z = pairHash(seed, index >>> 1);
  return index & 1 ? z >>> 16 : z & 0xffff;
}

/** An element is kept when its 16-bit uniform is below this (keep probability exact to 1/65536). */
export function keepThreshold(keep: number): number {
  return Math.round(keep * 65536);
}
