/**
 * The UR4Rec MoE text retriever (docs/original.md#retriever), batched over [B, C] (user, candidate) pairs:
 * s(u, i) = cos(r_{u,i}, q_i) / τ, with q_i = (d_i + ê_i) / 2 and r from the MoE block (moe.ts).
 *
 * Text vectors (user [numUsers, E], item [numItems + 1, E]) are uploaded once at construction and reused.
 * The projection is Linear E->D -> LN -> Dropout; p_u = normalize(projection(user text)).
 * `retriever_mode: faithful` reproduces the original, including F8: d_i is the projection of the item text computed
 * once at construction by the randomly initialised projection with dropout active, frozen, unnormalised, row 0 zero.
 * It is a function of the seed (not a variable, not checkpointed, as in the original).
 * `retriever_mode: fixed` repairs F8/F9: d_i = normalize(projection(item text)) is recomputed in the graph (trainable);
 * the router has `router_temperature` and a Switch-style load-balancing loss
 * aux.moe_balance = moe_balance_weight · 3 · Σ_k f_k P_k (f_k: share of pairs routed to expert k by argmax, P_k: mean
 * router weight); and the user vector sees the history: p_u = normalize(projection(user text) +
 * history_projection(mean text of the input items)), without the first term when `user_text: none`.
 * The original's user-memory module (gate, GRU, drift detector) is dead code in its training path
 * (docs/findings.md#f10) and is not built.
 */
import * as tf from "@tensorflow/tfjs";
import type { RetrieverOptions } from "../config/resolve.ts";
import type { EvalBatch, SequenceBatch, TextVectors, TrainBatch, UserBatch } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";
import { paddedXavierTable } from "./init.ts";
import {
  type ContextOptions,
  Dense,
  dropout,
  type ForwardContext,
  forwardContext,
  l2Normalize,
  LayerNorm,
  stopGradient,
  tidyObject,
} from "./layers.ts";
import { type ItemSide, MoeBlock, NUM_EXPERTS, sliceItems } from "./moe.ts";
import { countParameters, ParamStore } from "./params.ts";
import { tap } from "./probe.ts";
import { requireCandidates } from "./scoring.ts";
import { candidatesAt, checkIds, lastTargetPositions } from "./sequence.ts";
import type { Recommender, ScoreOptions, TrainScoreOptions, TrainScores } from "./types.ts";

/** Pairs scored per chunk in `scoreAll` (bounds memory: a few [pairs, 4D] tensors live at once). */
const MAX_PAIRS_PER_CHUNK = 16384;

/** Linear E->D (PyTorch default init) -> LayerNorm -> Dropout. */
class TextProjection {
  private readonly linear: Dense;
  private readonly ln: LayerNorm;

  constructor(store: ParamStore, path: string, textDim: number, dim: number, private readonly rate: number) {
    this.linear = new Dense(store, `${path}/linear`, textDim, dim, { weight: "fan_in", bias: "fan_in" });
    this.ln = new LayerNorm(store, `${path}/ln`, dim);
  }

  apply(ctx: ForwardContext, text: tf.Tensor): tf.Tensor {
    return dropout(ctx, this.ln.apply(ctx, this.linear.apply(text)), this.rate);
  }
}

/** share of pairs whose largest router weight is expert k, [3] (no gradient) */
function routedFractions(weights: tf.Tensor3D): tf.Tensor1D {
  const top = stopGradient(weights).argMax(-1).reshape([-1]) as tf.Tensor1D;
  return tf.oneHot(top, NUM_EXPERTS).toFloat().mean(0);
}

/** The MoE text retriever. Variables live under `retriever/`. */
export class Retriever implements Recommender {
  readonly name = "retriever";
  private readonly store: ParamStore;
  private readonly userText: tf.Tensor2D;
  private readonly itemText: tf.Tensor2D;
  private readonly projection: TextProjection;
  private readonly historyProjection: TextProjection | null;
  private readonly itemTable: tf.Variable;
  private readonly frozenDesc: tf.Tensor2D | null;
  private readonly moe: MoeBlock;

  constructor(
    readonly options: RetrieverOptions,
    readonly numItems: number,
    numUsers: number,
    texts: TextVectors,
    rng: Rng,
  ) {
    const d = options.outputDim;
    if (d % options.numHeads !== 0) {
      throw new UserError(`moe_num_heads=${options.numHeads} must divide retriever_output_dim=${d}`);
    }
    checkTextVectors(texts, numUsers, numItems);
    const e = texts.dim;
    const fixed = options.mode === "fixed";
    this.store = new ParamStore(rng.fork("retriever/params"));
    this.userText = tf.tensor2d(texts.user, [numUsers, e]);
    this.itemText = tf.tensor2d(texts.item, [numItems + 1, e]);
    this.projection = new TextProjection(this.store, "retriever/projection", e, d, options.dropout);
    this.historyProjection = fixed
      ? new TextProjection(this.store, "retriever/history_projection", e, d, options.dropout)
      : null;
    this.itemTable = this.store.create("retriever/item_emb", (r) => paddedXavierTable(r, numItems + 1, d));
    this.moe = new MoeBlock(this.store, "retriever/moe", {
      dim: d,
      heads: options.numHeads,
      proxies: options.numProxies,
      dropout: options.dropout,
      routerTemperature: fixed ? options.routerTemperature : 1,
    });
    this.frozenDesc = fixed ? null : tf.tidy(() => {
      const atInit: ForwardContext = {
        training: true,
        seeds: rng.fork("retriever/frozen_desc_dropout"),
        patch: <T extends tf.Tensor>(t: T) => t,
      };
      const rowZero = tf.oneHot(0, numItems + 1).reshape([numItems + 1, 1]);
      return this.projection.apply(atInit, this.itemText).mul(tf.scalar(1).sub(rowZero)) as tf.Tensor2D;
    });
  }

  /** A forward context for `training` mode, with dropout seeds from `options.seed` and the probe `options.probe`. */
  context(training: boolean, options: ContextOptions = {}): ForwardContext {
    return forwardContext(training, "retriever", options);
  }

  /** User vectors p_u [B, 1, D] (unit norm) for the users of `batch` and their input sequences [B, T]. */
  userSide(ctx: ForwardContext, batch: UserBatch): tf.Tensor3D {
    const { users, inputs, batchSize } = batch;
    checkIds(users, this.userText.shape[0] - 1, "retriever users");
    const ownText = () => this.projection.apply(ctx, tf.gather(this.userText, tf.tensor1d(users, "int32")));
    let user: tf.Tensor;
    if (!this.historyProjection) {
      user = ownText();
    } else {
      checkIds(inputs, this.numItems, "retriever inputs");
      const history = historyMean(this.itemText, batch);
      user = this.historyProjection.apply(ctx, history);
      if (this.options.useUserText) user = user.add(ownText());
    }
    return tap(ctx.probe, "retriever.user", "out", l2Normalize(user).reshape([batchSize, 1, -1]) as tf.Tensor3D);
  }

  /** Item-side tensors for item ids [R, C] (R = B, or 1 for items shared by all rows). */
  itemSide(ctx: ForwardContext, ids: tf.Tensor2D): ItemSide {
    const desc = this.frozenDesc
      ? tf.gather(this.frozenDesc, ids)
      : l2Normalize(this.projection.apply(ctx, tf.gather(this.itemText, ids)));
    tap(ctx.probe, "retriever.item", "desc", desc);
    const emb = l2Normalize(tf.gather(this.itemTable, ids));
    const q = tap(ctx.probe, "retriever.item", "q", desc.add(emb).mul(0.5) as tf.Tensor3D);
    return this.moe.itemSide(ctx, q, desc as tf.Tensor3D, emb as tf.Tensor3D);
  }

  /** Scores cos(r, q) / τ [B, C] and router weights [B, C, 3]. */
  score(ctx: ForwardContext, user: tf.Tensor3D, items: ItemSide): { scores: tf.Tensor2D; weights: tf.Tensor3D } {
    const { r, weights } = this.moe.apply(ctx, user, items);
    const cosine = l2Normalize(r).mul(l2Normalize(items.q)).sum(-1);
    const scores = cosine.div(this.options.temperature) as tf.Tensor2D;
    return { scores: tap(ctx.probe, "retriever", "scores", scores), weights };
  }

  /** Scores [B, C] (and router weights) of explicit candidate ids [B, C]. */
  scorePairs(
    ctx: ForwardContext,
    batch: UserBatch,
    candidates: Int32Array,
  ): { scores: tf.Tensor2D; weights: tf.Tensor3D } {
    checkIds(candidates, this.numItems, "retriever candidates");
    const { batchSize } = batch;
    const ids = tf.tensor2d(candidates, [batchSize, candidates.length / batchSize], "int32");
    return this.score(ctx, this.userSide(ctx, batch), this.itemSide(ctx, ids));
  }

  /** Scores [B, numItems + 1] over every item id; item-only parts run once, pairs run in memory-bounded chunks. */
  scoreEveryItem(ctx: ForwardContext, batch: UserBatch): tf.Tensor2D {
    const user = this.userSide(ctx, batch);
    const numIds = this.numItems + 1;
    const items = this.itemSide(ctx, tf.range(0, numIds, 1, "int32").reshape([1, numIds]));
    const chunk = Math.max(1, Math.floor(MAX_PAIRS_PER_CHUNK / batch.batchSize));
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < numIds; start += chunk) {
      const size = Math.min(chunk, numIds - start);
      parts.push(tf.tidy(() => this.score(ctx, user, sliceItems(items, start, size)).scores));
    }
    return tf.concat(parts, 1);
  }

  /** Retriever scores at each row's last target (pos [B], neg [B, K]) plus the balance loss in fixed mode. */
  retrieverScores(
    ctx: ForwardContext,
    batch: TrainBatch,
  ): { retriever: NonNullable<TrainScores["retriever"]>; aux?: Record<string, tf.Scalar> } {
    const { batchSize: b, seqLen: t, numNegatives: k } = batch;
    const positions = lastTargetPositions(batch.positives, b, t);
    const candidates = candidatesAt(batch.positives, batch.negatives, positions, t, k);
    const { scores, weights } = this.scorePairs(ctx, batch, candidates);
    const retriever = {
      pos: scores.slice([0, 0], [b, 1]).reshape([b]) as tf.Tensor1D,
      neg: scores.slice([0, 1], [b, k]),
    };
    if (this.options.mode === "faithful" || this.options.balanceWeight === 0) return { retriever };
    const importance = weights.reshape([-1, NUM_EXPERTS]).mean(0);
    const balance = routedFractions(weights).mul(importance).sum().mul(NUM_EXPERTS * this.options.balanceWeight);
    return { retriever, aux: { moe_balance: balance as tf.Scalar } };
  }

  modules(): Record<string, tf.Variable[]> {
    return { retriever: this.store.module("retriever") };
  }

  trainScores(batch: TrainBatch, { probe }: TrainScoreOptions = {}): TrainScores {
    return tidyObject(() => this.retrieverScores(this.context(true, { seed: batch.seed, probe }), batch));
  }

  scoreCandidates(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    const candidates = requireCandidates(batch);
    return tf.tidy(() => this.scorePairs(this.context(false, { probe }), batch, candidates).scores);
  }

  scoreAll(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    return tf.tidy(() => this.scoreEveryItem(this.context(false, { probe }), batch));
  }

  parameterCounts(): Record<string, number> {
    return { retriever: countParameters(this.store.module("retriever")) };
  }

  dispose(): void {
    this.store.dispose();
    this.userText.dispose();
    this.itemText.dispose();
    this.frozenDesc?.dispose();
  }
}

/** Mean text vector of the real items of each input row [B, E] (zeros for an empty row). */
function historyMean(itemText: tf.Tensor2D, { inputs, batchSize, seqLen }: SequenceBatch): tf.Tensor2D {
  const weights = new Float32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const row = inputs.subarray(b * seqLen, (b + 1) * seqLen);
    const count = row.reduce((n, id) => n + (id !== 0 ? 1 : 0), 0);
    for (let t = 0; t < seqLen; t++) if (row[t] !== 0) weights[b * seqLen + t] = 1 / count;
  }
  const texts = tf.gather(itemText, tf.tensor2d(inputs, [batchSize, seqLen], "int32"));
  return texts.mul(tf.tensor3d(weights, [batchSize, seqLen, 1])).sum(1);
}

/** Checks the text vector arrays against the dataset's sizes. */
function checkTextVectors(texts: TextVectors, numUsers: number, numItems: number): void {
  if (texts.user.length !== numUsers * texts.dim) {
    throw new UserError(
      `text vectors: user array has ${texts.user.length} values, expected ${numUsers} users × dim ${texts.dim}`,
    );
  }
  if (texts.item.length !== (numItems + 1) * texts.dim) {
    throw new UserError(
      `text vectors: item array has ${texts.item.length} values, expected ${numItems + 1} ids × dim ${texts.dim}`,
    );
  }
}
