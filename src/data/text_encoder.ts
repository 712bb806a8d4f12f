/**
 * Text vectors for users and items (`TextVectors`), rows L2-normalised:
 * - `text_encoder: tfidf`: the built-in offline encoder, TF-IDF over all user and item texts then a seeded truncated
 *   SVD (LSA) to `text_embedding_dim`; cached under `<data_dir>/.cache/text/<sha256 of method, dim, texts>.npy`;
 * - `text_encoder: precomputed`: vectors from `text_embeddings_path` (see precomputed.ts).
 * Empty texts (`user_text: none`, padding, ids that are not items) give zero rows.
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { lsaVectors } from "./lsa.ts";
import { decodeNpy, encodeNpy } from "./npy.ts";
import { loadPrecomputedVectors } from "./precomputed.ts";
import { loadTexts } from "./texts.ts";
import { tfidfMatrix } from "./tfidf.ts";
import type { Dataset, TextVectors } from "./types.ts";
import { countWarnings, printWarnings } from "./warnings.ts";

/** Names the encoder in cache keys; change it when the encoder's output changes. */
export const TFIDF_METHOD = "tfidf-lsa-v1";
/** Seed of the randomized SVD (fixed: the vectors depend only on the texts and the dimension). */
const LSA_SEED = 0x15a;

/** LSA vectors [texts.length, dim] of `texts` (TF-IDF fitted on these texts), rows L2-normalised. */
export function encodeTexts(texts: string[], dim: number): Float32Array {
  const { matrix } = tfidfMatrix(texts);
  const vectors = Float32Array.from(lsaVectors(matrix, dim, LSA_SEED));
  normalizeRows(vectors, dim);
  return vectors;
}

/** Scales each row of a [rows, dim] matrix to unit L2 norm in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dim: number): void {
  for (let o = 0; o < data.length; o += dim) {
    let sum = 0;
    for (let c = 0; c < dim; c++) sum += data[o + c] ** 2;
    if (sum === 0) continue;
    const scale = 1 / Math.sqrt(sum);
    for (let c = 0; c < dim; c++) data[o + c] *= scale;
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Encodes `texts` with the TF-IDF/LSA encoder, reading or writing the on-disk cache in `cacheDir`. */
export async function encodeTextsCached(texts: string[], dim: number, cacheDir: string): Promise<Float32Array> {
  const key = await sha256Hex(JSON.stringify({ method: TFIDF_METHOD, dim, texts }));
  const path = join(cacheDir, `${key}.npy`);
  try {
    const cached = decodeNpy(await Deno.readFile(path), path);
    if (cached.rows === texts.length && cached.cols === dim) return cached.data;
  } catch (err) {
    // absent or unreadable (e.g. truncated by a crash): recompute
    if (!(err instanceof Deno.errors.NotFound || err instanceof UserError)) throw err;
  }
  const vectors = encodeTexts(texts, dim);
  await writeFileAtomic(path, encodeNpy({ rows: texts.length, cols: dim, data: vectors }));
  return vectors;
}

/**
 * The text vectors of `ds` under `config` (users in `ds.userIds` order, items by id), with the warnings for
 * their substitutions (missing texts, placeholders, zero rows), printed once.
 */
export async function loadTextVectors(ds: Dataset, config: Config): Promise<TextVectors> {
  const vectors = await encode(ds, config);
  const warnings = countWarnings(vectors.report ?? {}, { users: ds.userIds.length, items: ds.items.size });
  printWarnings(warnings);
  return { ...vectors, warnings };
}

async function encode(ds: Dataset, config: Config): Promise<TextVectors> {
  const dim = config.text_embedding_dim;
  if (config.text_encoder === "precomputed") {
    const vectors = await loadPrecomputedVectors(ds, config);
    normalizeRows(vectors.user, dim);
    normalizeRows(vectors.item, dim);
    return vectors;
  }
  const texts = await loadTexts(ds, config);
  const all = await encodeTextsCached([...texts.user, ...texts.item], dim, join(config.data_dir, ".cache", "text"));
  const split = texts.user.length * dim;
  return { dim, user: all.slice(0, split), item: all.slice(split), report: texts.report };
}
