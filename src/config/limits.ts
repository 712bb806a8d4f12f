/**
 * Resource limits of a config (configs/README.md, "Bounds"), kept where both the key bounds (schema.ts) and the
 * cross-key rules (rules.ts) read them.
 */

/**
 * Why the bounds are where they are: the wasm backend has a 4 GiB heap, and the step tensors below grow with the
 * batch, T², K and the widths; the widths, heads and blocks beyond these never fit a run on this kit either.
 */
export const LIMITS = {
  /**
   * Floats in SASRec's attention scores [batch, heads, T, T] (128 MiB). Measured on wasm (one step, several
   * such tensors alive): 32 × 1 × 1024² runs, 64 × 1 × 1024² ends in "memory access out of bounds".
   */
  attentionFloats: 2 ** 25,
  /**
   * Floats in the item embeddings of a training batch's positives and negatives [batch, T, 1 + K, d] (256 MiB).
   * Measured on wasm: 64 × 50 × 321 × 64 runs, 64 × 50 × 1001 × 64 ends in "null function" (an abort).
   */
  embeddingFloats: 2 ** 26,
  maxSeqLen: 1024,
  numNegatives: 1000,
  width: 4096,
  heads: 64,
  blocks: 16,
  batch: 8192,
  syntheticUsers: 100_000,
  /** The synthetic generator's minimum catalogue (src/data/synthetic.ts). */
  minSyntheticItems: 20,
  /** The synthetic generator's title pool (src/data/synthetic.ts MAX_SYNTHETIC_ITEMS). */
  syntheticItems: 4096,
  candidates: 10_000,
  /** Largest `history_buckets` cut (ML-1M's longest user has about 2,300 ratings) and most cuts. */
  historyCut: 100_000,
  historyBuckets: 16,
  /** Init std: the configs use 0.02-0.5; far above that scores overflow float32 (1e39 is Infinity there). */
  initStd: 1,
  /** Temperatures below this make logits overflow float32 (score / τ). */
  minTemperature: 1e-3,
  maxTemperature: 100,
  lossWeight: 100,
  steps: 10_000_000,
} as const;
