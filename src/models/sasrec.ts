/**
 * SASRec (Kang & McAuley 2018) as the original UR4Rec built it (docs/original.md#sasrec), with switches for the paper's
 * choices: item + learned positional embeddings (optionally scaled by sqrt(d)), N blocks of causal multi-head
 * self-attention and a point-wise FFN (Linear -> Dropout -> ReLU -> Linear -> Dropout, inner width `sasrec_ffn_dim ??
 * d`), a final LayerNorm, and scores by dot product with the same (tied) item embeddings.
 *
 * `norm: post` (original): x = LN1(x + Drop(MHA(x))); x = LN2(x + Drop(FFN(x))) — the FFN branch is dropped twice.
 * `norm: pre` (paper): x = x + Drop(MHA(LN1(x))); x = x + FFN(LN2(x)).
 * `attention_mask: safe` also zeroes pad positions after the embedding and after every block (the paper's timeline
 * mask); `torch` reproduces the original's NaN (docs/original.md#nan-mechanism), and `nan_to_zero` its NaN -> 0 patches
 * after attention, LN1, FFN, LN2 and the final LN. Init: embeddings Normal(0, sasrec_init_std) with pad row 0 zero,
 * attention projections Xavier-uniform with zero bias, FFN PyTorch's Conv1d default (±1/sqrt(fan_in)), LN gamma 1 /
 * beta 0. Item texts (`text_use`, text_features.ts): `embedding_init` starts the item embeddings from the item-text
 * vectors; `side_feature` adds the learned projection of each input item's text to its ID embedding (input only).
 */
import * as tf from "@tensorflow/tfjs";
import type { SasRecOptions } from "../config/resolve.ts";
import type { EvalBatch, SequenceBatch, TrainBatch } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";
import { MultiHeadSelfAttention, type SequenceMasks, sequenceMasks, usesTiledAttention } from "./attention.ts";
import { normal, paddedEmbedding } from "./init.ts";
import { lengthGroups } from "./length_groups.ts";
import { type ItemTexts, textInitEmbedding, TextSideFeature } from "./text_features.ts";
import {
  type ContextOptions,
  Dense,
  dropout,
  emit,
  type ForwardContext,
  forwardContext,
  LayerNorm,
  type ProbeName,
  tidyObject,
} from "./layers.ts";
import { countParameters, ParamStore } from "./params.ts";
import { tap } from "./probe.ts";
import { positionScores, requireCandidates, scoreIds, scoreTable, tableScorer } from "./scoring.ts";
import { checkIds, flatIndices, statePositions } from "./sequence.ts";
import type { ItemScorer, Recommender, ScoreOptions, TrainScoreOptions, TrainScores } from "./types.ts";

/**
 * Point-wise feed-forward: Linear -> Dropout -> ReLU -> Linear -> Dropout (the original's 1x1 Conv1d pair); its
 * output goes through `emit` as `probeName`.
 */
class FeedForward {
  private readonly inner: Dense;
  private readonly outer: Dense;

  constructor(
    store: ParamStore,
    path: string,
    dim: number,
    innerDim: number,
    private readonly rate: number,
    private readonly probeName: ProbeName,
  ) {
    const convInit = { weight: "fan_in", bias: "fan_in" } as const;
    this.inner = new Dense(store, `${path}/inner`, dim, innerDim, convInit);
    this.outer = new Dense(store, `${path}/outer`, innerDim, dim, convInit);
  }

  apply<T extends tf.Tensor>(ctx: ForwardContext, x: T): T {
    // max(x, 0), not tf.relu: wasm's Relu turns sign-negative NaN into 0, PyTorch (and this) keep NaN
    const hidden = tf.maximum(dropout(ctx, this.inner.apply(x), this.rate), 0);
    return emit(ctx, this.probeName, dropout(ctx, this.outer.apply(hidden), this.rate) as T);
  }
}

/** Query rows of the last block in evaluation: one position per sequence (flat [B·T] indices) and their masks. */
interface StateRows {
  index: tf.Tensor1D;
  masks: SequenceMasks;
}

/** Rows of x [B, T, d] at flat indices [B] -> [B, 1, d]. */
function pickRows(x: tf.Tensor3D, index: tf.Tensor1D): tf.Tensor3D {
  const [batchSize, seqLen, d] = x.shape;
  return tf.gather(x.reshape([batchSize * seqLen, d]), index).reshape([batchSize, 1, d]);
}

/**
 * One Transformer block in post- or pre-LayerNorm arrangement. Its sublayers report themselves to the probe under
 * the block's name (`attn` as `${name}.attn`, then `ln1`, `ffn`, `ln2`) and pass the context's `nan_to_zero` hook.
 */
class Block {
  private readonly attn: MultiHeadSelfAttention;
  private readonly ln1: LayerNorm;
  private readonly ffn: FeedForward;
  private readonly ln2: LayerNorm;

  constructor(store: ParamStore, private readonly name: string, private readonly options: SasRecOptions) {
    const d = options.hiddenDim, heads = options.numHeads, rate = options.dropout;
    const path = `sasrec/${name}`;
    this.attn = new MultiHeadSelfAttention(store, `${path}/attn`, d, heads, rate, `${name}.attn`);
    this.ln1 = new LayerNorm(store, `${path}/ln1`, d, { layer: name, op: "ln1" });
    this.ffn = new FeedForward(store, `${path}/ffn`, d, options.ffnDim, rate, { layer: name, op: "ffn" });
    this.ln2 = new LayerNorm(store, `${path}/ln2`, d, { layer: name, op: "ln2" });
  }

  /**
   * The block on x [B, T, d] -> [B, T, d]; with `rows`, only those query rows are computed (keys and values still
   * come from every position) -> [B, 1, d]. Every op after attention is row-wise, so those rows are unchanged.
   */
  apply(ctx: ForwardContext, x: tf.Tensor3D, masks: SequenceMasks, rows?: StateRows): tf.Tensor3D {
    const rate = this.options.dropout;
    const queryMasks = rows?.masks ?? masks;
    const pick = (t: tf.Tensor3D) => rows ? pickRows(t, rows.index) : t;
    const attn = (h: tf.Tensor3D, queries: tf.Tensor3D) => this.attn.apply(ctx, h, queryMasks, queries);
    if (this.options.norm === "post") {
      const q = pick(x);
      x = this.ln1.apply(ctx, q.add(dropout(ctx, attn(x, q), rate)));
      x = this.ln2.apply(ctx, x.add(dropout(ctx, this.ffn.apply(ctx, x), rate)));
    } else {
      const h = this.ln1.apply(ctx, x);
      x = pick(x).add(dropout(ctx, attn(h, pick(h)), rate));
      x = x.add(this.ffn.apply(ctx, this.ln2.apply(ctx, x)));
    }
    if (queryMasks.timeline) x = x.mul(queryMasks.timeline);
    return tap(ctx.probe, this.name, "out", x);
  }
}

/** What `SasRec.encode` computes besides the full pass. */
export interface EncodeOptions {
  /** One position per row ([B]): the last block computes only those query rows -> [B, 1, d]. */
  queries?: Int32Array;
  /** The position (index into the positional embeddings) of the batch's column 0, default 0: a batch cut from a
   * wider one (`lengthGroups`) keeps its items' positions. */
  firstPosition?: number;
}

/**
 * Rows per length group in evaluation (`lengthGroups`): smaller groups skip more pad columns, each adds a forward
 * pass's fixed cost; at the ML-1M shape 16 and 32 measured alike, 64 4 % and 128 6 % slower (docs/performance.md,
 * "Cost growth").
 */
export const LENGTH_GROUP_ROWS = 32;

/** SASRec next-item recommender. Variables live under `sasrec/`. */
export class SasRec implements Recommender {
  readonly name = "sasrec";
  /** Item embeddings [numItems + 1, d], row 0 = padding; also the output embeddings. */
  readonly itemEmb: tf.Variable<tf.Rank.R2>;
  private readonly posEmb: tf.Variable;
  private readonly blocks: Block[];
  private readonly finalLn: LayerNorm;
  private readonly store: ParamStore;
  /** The `side_feature` input term, when `text_use` asks for it. */
  private readonly textSide: TextSideFeature | null = null;

  /**
   * `texts` (the item-text vectors, [numItems + 1, E]) are needed for `text_use` `embedding_init` and `side_feature`,
   * and ignored otherwise.
   */
  constructor(readonly options: SasRecOptions, readonly numItems: number, rng: Rng, texts?: ItemTexts) {
    const d = options.hiddenDim;
    if (d % options.numHeads !== 0) {
      throw new UserError(`sasrec_num_heads=${options.numHeads} must divide sasrec_hidden_dim=${d}`);
    }
    this.store = new ParamStore(rng.fork("sasrec/params"));
    const std = options.initStd;
    const use = options.textUse;
    if ((use === "embedding_init" || use === "side_feature") && !texts) {
      throw new UserError(`text_use=${use} needs the item text vectors, but none were given`);
    }
    this.itemEmb = this.store.create(
      "sasrec/item_emb",
      (r) =>
        use === "embedding_init" && texts
          ? textInitEmbedding(texts, numItems + 1, d, std, r)
          : paddedEmbedding(r, numItems + 1, d, std),
    );
    if (use === "side_feature" && texts) {
      this.textSide = new TextSideFeature(this.store, "sasrec/text_side", texts, d, std);
    }
    this.posEmb = this.store.create("sasrec/pos_emb", (r) => normal(r, [options.maxSeqLen, d], std));
    this.blocks = Array.from(
      { length: options.numBlocks },
      (_, i) => new Block(this.store, `block${i}`, options),
    );
    this.finalLn = new LayerNorm(this.store, "sasrec/final_ln", d, { layer: "final_ln", op: "out" });
  }

  /** A forward context for `training` mode, with dropout seeds from `options.seed` and the probe `options.probe`. */
  context(training: boolean, options: ContextOptions = {}): ForwardContext {
    return forwardContext(training, "sasrec", { ...options, nanToZero: this.options.nanToZero });
  }

  /**
   * The user states [B, d]: hidden at the position chosen by `state_position`. Without a probe the last block runs
   * on those query rows only (about a third less work in evaluation, same values); a probe sees every position.
   * In evaluation with the safe mask and the state at the last item, the rows also go through in length groups
   * (`lengthGroups`), each without the pad columns all its rows share: pad keys get exactly zero attention weight
   * and pad rows are zeroed after every block, so the states are those of the whole batch (to float rounding).
   */
  userStates(ctx: ForwardContext, seq: SequenceBatch): tf.Tensor2D {
    const positions = statePositions(seq, this.options.statePosition);
    if (ctx.probe) return this.gatherPositions(this.encode(ctx, seq), positions);
    const { attentionMask, statePosition } = this.options;
    if (ctx.training || attentionMask !== "safe" || statePosition !== "last") {
      return this.encode(ctx, seq, { queries: positions }).reshape([seq.batchSize, -1]);
    }
    const { groups, inverse } = lengthGroups(seq, LENGTH_GROUP_ROWS);
    const states = groups.map(({ batch, start }) =>
      this.encode(ctx, batch, { queries: statePositions(batch, "last"), firstPosition: start })
    );
    return tf.gather(tf.concat(states).reshape([seq.batchSize, -1]), tf.tensor1d(inverse, "int32")) as tf.Tensor2D;
  }

  /** Rows of hidden [B, T, d] at one position per row -> [B, d]. */
  gatherPositions(hidden: tf.Tensor3D, positions: Int32Array): tf.Tensor2D {
    const [batchSize, seqLen, d] = hidden.shape;
    const rows = tf.tensor1d(flatIndices(positions, seqLen), "int32");
    return tf.gather(hidden.reshape([batchSize * seqLen, d]), rows) as tf.Tensor2D;
  }

  /**
   * Hidden states [B, T, d] of the input ids [B, T] of `seq` (embeddings, blocks, final LayerNorm); with
   * `options.queries` the last block computes only those rows -> [B, 1, d].
   */
  encode(ctx: ForwardContext, seq: SequenceBatch, options: EncodeOptions = {}): tf.Tensor3D {
    const { inputs, batchSize, seqLen } = seq;
    const { queries, firstPosition = 0 } = options;
    if (firstPosition + seqLen > this.options.maxSeqLen) {
      throw new UserError(`batch sequence length ${seqLen} exceeds max_seq_len=${this.options.maxSeqLen}`);
    }
    checkIds(inputs, this.numItems, "sasrec inputs");
    const d = this.options.hiddenDim;
    const mode = this.options.attentionMask;
    const tiled = usesTiledAttention(ctx, mode, seqLen);
    const masks = sequenceMasks(seq, mode, { tiled });
    const rows = queries && {
      index: tf.tensor1d(flatIndices(queries, seqLen), "int32"),
      masks: sequenceMasks(seq, mode, { queries, tiled }),
    };
    const ids = tf.tensor2d(inputs, [batchSize, seqLen], "int32");
    const idEmb = tf.gather(this.itemEmb, ids);
    const lookup = this.textSide ? idEmb.add(this.textSide.apply(ids)) : idEmb;
    const items = this.options.embScale ? lookup.mul(Math.sqrt(d)) : lookup;
    const emb = tap(
      ctx.probe,
      "emb",
      "sum",
      items.add(this.posEmb.slice([firstPosition, 0], [seqLen, d])) as tf.Tensor3D,
    );
    let x = dropout(ctx, emb, this.options.dropout);
    if (masks.timeline) x = x.mul(masks.timeline);
    const last = this.blocks.length - 1;
    this.blocks.forEach((block, i) => x = block.apply(ctx, x, masks, i === last ? rows : undefined));
    return this.finalLn.apply(ctx, x);
  }

  modules(): Record<string, tf.Variable[]> {
    return { sasrec: this.store.module("sasrec") };
  }

  trainScores(batch: TrainBatch, { probe }: TrainScoreOptions = {}): TrainScores {
    return tidyObject(() => {
      const hidden = this.encode(this.context(true, { seed: batch.seed, probe }), batch);
      return { sasrec: positionScores(this.itemEmb, hidden, batch, probe) };
    });
  }

  scoreCandidates(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    const candidates = requireCandidates(batch);
    return tf.tidy(() => {
      const states = this.userStates(this.context(false, { probe }), batch);
      return tap(probe, "logits", "candidates", scoreIds(this.itemEmb, states, candidates));
    });
  }

  scoreAll(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const states = this.userStates(this.context(false, { probe }), batch);
      return tap(probe, "logits", "all", scoreTable(this.itemEmb, states));
    });
  }

  itemScorer(batch: EvalBatch): ItemScorer {
    const states = tf.tidy(() => this.userStates(this.context(false), batch));
    return tableScorer(this.itemEmb, states);
  }

  parameterCounts(): Record<string, number> {
    return { sasrec: countParameters(this.store.module("sasrec")) };
  }

  dispose(): void {
    this.store.dispose();
    this.textSide?.dispose();
  }
}
