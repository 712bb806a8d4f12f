/**
 * The ways a sequential recommender uses item texts (`text_use`), as the field names them:
 * - `retriever_fusion`: UR4Rec's MoE text retriever fused with SASRec at the score level (ur4rec.ts);
 * - `embedding_init`: text-initialised ID embeddings (Harte et al., "Leveraging Large Language Models for Sequential
 *   Recommendation", RecSys 2023, their LLM2Sequential scheme, e.g. LLM2BERT4Rec): SASRec's item embedding table
 *   starts from the item-text vectors, then trains as usual. They reduce the LLM embeddings to d with PCA; this kit
 *   uses a fixed seeded random projection when the dimensions differ, and none when they match;
 * - `side_feature`: the text vector of each input item, projected by a learned linear map, is added to its ID
 *   embedding at the input of the sequence encoder. This is the additive ("invasive") side-information fusion that
 *   NOVA (Liu et al., "Noninvasive Self-attention for Side Information Fusion in Sequential Recommendation", AAAI 2021)
 *   defines and compares against, not NOVA's non-invasive attention and not FDSA's separate feature stream (Zhang et
 *   al., IJCAI 2019). The projected text enters the input only; scores use the ID (output) embeddings as before.
 * - `none`: IDs only.
 * `text_use: null` (default) keeps each model's own behaviour: `retriever_fusion` for `ur4rec`, `none` otherwise.
 */
import * as tf from "@tensorflow/tfjs";
import type { Config } from "../config/schema.ts";
import type { TextVectors } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";
import { normal } from "./init.ts";
import type { ParamStore } from "./params.ts";

/** How a model uses item texts. */
export type TextUse = NonNullable<Config["text_use"]>;

/** The text use a config asks for: `text_use`, or the model's own when it is null. */
export function effectiveTextUse(config: Pick<Config, "model" | "text_use">): TextUse {
  return config.text_use ?? (config.model === "ur4rec" ? "retriever_fusion" : "none");
}

/** The item side of the text vectors: `item` is [rows, dim], row = item id, row 0 = padding. */
export type ItemTexts = Pick<TextVectors, "dim" | "item">;

/**
 * Text-initialised item embeddings [rows, d]: the item-text vectors, projected to d by a fixed random Gaussian map
 * (entries Normal(0, 1) drawn from `rng`, not trained) when their dimension differs from d, then scaled by one factor
 * so that the root-mean-square of the non-padding entries equals `std` (the `sasrec_init_std` a random init would
 * have); padding row 0 is 0. Computed in float64 JS, so every backend starts from the same values.
 * A `UserError` when every item vector is zero (nothing to initialise from).
 */
export function textInitEmbedding(texts: ItemTexts, rows: number, d: number, std: number, rng: Rng): tf.Tensor2D {
  const e = texts.dim;
  if (texts.item.length !== rows * e) {
    throw new Error(`item text vectors hold ${texts.item.length / e} rows, expected ${rows}`);
  }
  const projection = e === d ? null : Float64Array.from({ length: e * d }, () => rng.normal());
  const out = new Float64Array(rows * d);
  for (let r = 1; r < rows; r++) {
    const text = texts.item.subarray(r * e, (r + 1) * e);
    for (let j = 0; j < d; j++) {
      if (!projection) {
        out[r * d + j] = text[j];
        continue;
      }
      let sum = 0;
      for (let k = 0; k < e; k++) sum += text[k] * projection[k * d + j];
      out[r * d + j] = sum;
    }
  }
  let squares = 0;
  for (let i = d; i < out.length; i++) squares += out[i] * out[i];
  const rms = Math.sqrt(squares / Math.max(1, out.length - d));
  if (rms === 0) {
    throw new UserError("text_use=embedding_init: every item text vector is zero, nothing to initialise from");
  }
  return tf.tensor2d(Float32Array.from(out, (x) => x * std / rms), [rows, d]);
}

/**
 * The `side_feature` input term: t_i W for the text vector t_i of each input id, W [E, d] a trainable variable
 * `${path}/w` drawn from Normal(0, std) (for unit-norm text vectors t W then has the ID embeddings' scale). No bias, so
 * the padding id (text row 0 = 0) adds 0. The text table is uploaded once and freed by `dispose`.
 */
export class TextSideFeature {
  private readonly texts: tf.Tensor2D;
  private readonly w: tf.Variable;

  constructor(store: ParamStore, path: string, texts: ItemTexts, d: number, std: number) {
    this.texts = tf.tensor2d(texts.item, [texts.item.length / texts.dim, texts.dim]);
    this.w = store.create(`${path}/w`, (r) => normal(r, [texts.dim, d], std));
  }

  /** The projected texts [B, T, d] of ids [B, T]. */
  apply(ids: tf.Tensor2D): tf.Tensor3D {
    const [b, t] = ids.shape;
    const rows = tf.gather(this.texts, ids.reshape([-1]));
    return tf.matMul(rows, this.w).reshape([b, t, -1]) as tf.Tensor3D;
  }

  /** Frees the text table (the variable belongs to the store). */
  dispose(): void {
    this.texts.dispose();
  }
}
