/**
 * The original retriever's MoE block (docs/original.md#moe), batched over (user, candidate) pairs [B, C].
 *
 * Expert k: out_k = FFN_k(q + MHA_k(query = q, key = value = c_k)) with FFN_k = LN -> Linear D->2D -> GELU -> Dropout
 * -> Linear 2D->D (no residual around it). Every context c_k is a single token, so the attention weight is exactly 1
 * (0 or 1/(1-p) per head under attention dropout) and MHA_k reduces to W_o(W_v c + b_v) + b_o: that reduction is
 * what is computed here. W_q and W_k have no effect on the output and are not built (3 experts × 2(D² + D) fewer
 * parameters than the spec's count). Experts 1 and 2 see only the item, so they are computed per item (`itemSide`).
 * Router: softmax(Linear D->3(GELU(Linear 4D->D(LN([q; p_u; d_i; ê_i])))) / temperature) (temperature 1 = original).
 * Proxy self-attention: r = LN(m + Dropout(MHA(query = m, key = value = [m; Π]))) with P learned proxies Π ~ N(0, 1).
 * Init follows PyTorch: Linear layers ±1/sqrt(fan_in); MHA in-projections Xavier (packed fans), zero biases.
 */
import * as tf from "@tensorflow/tfjs";
import { normal } from "./init.ts";
import { Dense, dropout, type ForwardContext, gelu, LayerNorm, LN_EPS } from "./layers.ts";
import type { ParamStore } from "./params.ts";
import { tap } from "./probe.ts";

/** Sizes and rates of the MoE block. */
export interface MoeOptions {
  dim: number;
  heads: number;
  proxies: number;
  dropout: number;
  routerTemperature: number;
}

/** Number of experts: user text, item description, item id embedding. */
export const NUM_EXPERTS = 3;

const TORCH_LINEAR = { weight: "fan_in", bias: "fan_in" } as const;
const IN_PROJ = { weight: "xavier_in_proj", bias: "zeros" } as const;
const OUT_PROJ = { weight: "fan_in", bias: "zeros" } as const;

/** One cross-attention expert with a single-token context. */
class Expert {
  private readonly value: Dense;
  private readonly out: Dense;
  private readonly ln: LayerNorm;
  private readonly up: Dense;
  private readonly down: Dense;

  constructor(store: ParamStore, path: string, private readonly options: MoeOptions) {
    const d = options.dim;
    this.value = new Dense(store, `${path}/attn/v`, d, d, IN_PROJ);
    this.out = new Dense(store, `${path}/attn/o`, d, d, OUT_PROJ);
    this.ln = new LayerNorm(store, `${path}/ffn/ln`, d);
    this.up = new Dense(store, `${path}/ffn/up`, d, 2 * d, TORCH_LINEAR);
    this.down = new Dense(store, `${path}/ffn/down`, 2 * d, d, TORCH_LINEAR);
  }

  /** FFN(q + W_o(W_v c + b_v) + b_o) for the pair grid `pairs` = [B, C]; q and c broadcast to it. */
  apply(ctx: ForwardContext, q: tf.Tensor3D, context: tf.Tensor3D, pairs: number[]): tf.Tensor3D {
    const { dim, heads, dropout: rate } = this.options;
    const v = this.value.apply(context).reshape([...context.shape.slice(0, 2), heads, dim / heads]);
    const headsKept = dropout(ctx, v, rate, [...pairs, heads, 1]); // the 1x1 attention weight, dropped per head
    const attended = this.out.apply(headsKept.reshape([...headsKept.shape.slice(0, 2), dim]));
    const hidden = gelu(this.up.apply(this.ln.apply(ctx, q.add(attended))));
    return this.down.apply(dropout(ctx, hidden, rate)) as tf.Tensor3D;
  }
}

/**
 * Dense soft router over the three experts: softmax(Linear D->3(GELU(Linear 4D->D(LN([q; p_u; d; ê])))) / T).
 * The four parts come at their own shapes (item parts [R, C, D], the user part [B, 1, D]) and are never
 * concatenated or broadcast to [B, C, 4D] (on wasm that Tile dominated full ranking): LN over the concatenation
 * followed by the first Linear equals, per pair, rstd · (Σ_p (z_p ⊙ γ_p) W_p − mean · γW) + βW + b, where mean and
 * rstd come from the parts' sums and sums of squares and W_p is the block of W's rows for part p.
 */
export class Router {
  readonly ln: LayerNorm;
  readonly hidden: Dense;
  readonly logits: Dense;

  constructor(store: ParamStore, path: string, private readonly dim: number, private readonly temperature: number) {
    this.ln = new LayerNorm(store, `${path}/ln`, 4 * dim);
    this.hidden = new Dense(store, `${path}/hidden`, 4 * dim, dim, TORCH_LINEAR);
    this.logits = new Dense(store, `${path}/logits`, dim, NUM_EXPERTS, TORCH_LINEAR);
  }

  /** Expert weights [B, C, 3] for the parts [q, p_u, d, ê], each broadcastable to [B, C, D]. */
  apply(parts: tf.Tensor3D[]): tf.Tensor3D {
    const d = this.dim, width = 4 * d;
    const w = this.hidden.w as tf.Tensor2D, gamma = this.ln.gamma, beta = this.ln.beta;
    const total = (ts: tf.Tensor[]) => ts.reduce((a, b) => a.add(b));
    const mean = total(parts.map((p) => p.sum(-1, true))).div(width);
    const meanSquare = total(parts.map((p) => p.square().sum(-1, true))).div(width);
    const rstd = tf.rsqrt(tf.relu(meanSquare.sub(mean.square())).add(LN_EPS));
    const projected = total(parts.map((p, i) => {
      const scaled = p.mul(gamma.slice(i * d, d)).reshape([-1, d]) as tf.Tensor2D;
      return tf.matMul(scaled, w.slice([i * d, 0], [d, d])).reshape([...p.shape.slice(0, 2), d]);
    }));
    const gammaW = tf.matMul(gamma.reshape([1, width]), w);
    const betaW = tf.matMul(beta.reshape([1, width]), w).add(this.hidden.b);
    const hidden = projected.sub(mean.mul(gammaW)).mul(rstd).add(betaW);
    return tf.softmax(this.logits.apply(gelu(hidden)).div(this.temperature));
  }
}

/** 1 where row r (of `rows`, in blocks of `rowBlock`) and column c (blocks of `colBlock`) belong to the same head. */
function headBlockMask(heads: number, rowBlock: number, colBlock: number): tf.Tensor2D {
  const rows = heads * rowBlock, cols = heads * colBlock;
  const mask = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) mask[r * cols + c] = Math.floor(r / rowBlock) === Math.floor(c / colBlock) ? 1 : 0;
  }
  return tf.tensor2d(mask, [rows, cols]);
}

/**
 * Self-attention of the mixture token m over [m; Π] (one query per pair). The proxy keys and values are shared by
 * all pairs, so per-head products with them are written as plain 2-D matmuls against block-diagonal matrices
 * (rows/columns of head h only meet head h): Q [M, D] @ K̃ [D, H·P] and P̃ [M, H·P] @ Ṽ [H·P, D].
 */
class ProxyAttention {
  private readonly q: Dense;
  private readonly k: Dense;
  private readonly v: Dense;
  private readonly o: Dense;
  private readonly proxies: tf.Variable;
  private readonly ln: LayerNorm;

  constructor(store: ParamStore, path: string, private readonly options: MoeOptions) {
    const d = options.dim;
    this.q = new Dense(store, `${path}/q`, d, d, IN_PROJ);
    this.k = new Dense(store, `${path}/k`, d, d, IN_PROJ);
    this.v = new Dense(store, `${path}/v`, d, d, IN_PROJ);
    this.o = new Dense(store, `${path}/o`, d, d, OUT_PROJ);
    this.proxies = store.create(`${path}/proxies`, (rng) => normal(rng, [options.proxies, d], 1));
    this.ln = new LayerNorm(store, `${path}/ln`, d);
  }

  /** r = LN(m + Dropout(MHA(m, [m; Π]))) for mixture tokens m [M, D]. */
  apply(ctx: ForwardContext, m: tf.Tensor2D): tf.Tensor2D {
    const { dim, heads, proxies: p, dropout: rate } = this.options;
    const dk = dim / heads;
    const rows = m.shape[0];
    const q = this.q.apply(m).mul(1 / Math.sqrt(dk)) as tf.Tensor2D;
    const kSelf = this.k.apply(m), vSelf = this.v.apply(m);
    const kProxy = this.k.apply(this.proxies), vProxy = this.v.apply(this.proxies); // [P, D]
    const kBlocks = tf.tile(kProxy.transpose(), [1, heads]).mul(headBlockMask(heads, dk, p)) as tf.Tensor2D;
    const vBlocks = tf.tile(vProxy, [heads, 1]).mul(headBlockMask(heads, p, dk)) as tf.Tensor2D;
    const selfScores = q.mul(kSelf).reshape([rows, heads, dk]).sum(-1, true);
    const proxyScores = tf.matMul(q, kBlocks).reshape([rows, heads, p]);
    const probs = tap(
      ctx.probe,
      "retriever.proxy_attn",
      "softmax",
      tf.softmax(tf.concat([selfScores, proxyScores], -1)),
    );
    const kept = dropout(ctx, probs, rate);
    const selfPart = kept.slice([0, 0, 0], [rows, heads, 1]).mul(vSelf.reshape([rows, heads, dk]));
    const proxyPart = tf.matMul(kept.slice([0, 0, 1], [rows, heads, p]).reshape([rows, heads * p]), vBlocks);
    const attended = this.o.apply(selfPart.reshape([rows, dim]).add(proxyPart));
    return this.ln.apply(ctx, m.add(dropout(ctx, attended, rate)));
  }
}

/** Item-side inputs of the block, [R, C, D] each with R = B (per-row candidates) or 1 (shared by every row). */
export interface ItemSide {
  /** Target vector q = (d + ê) / 2. */
  q: tf.Tensor3D;
  /** Description vector d. */
  desc: tf.Tensor3D;
  /** Item id embedding ê. */
  emb: tf.Tensor3D;
  /** Outputs of the item-description and item-embedding experts. */
  descExpert: tf.Tensor3D;
  embExpert: tf.Tensor3D;
}

/** Columns [start, start + size) of every item-side tensor. */
export function sliceItems(items: ItemSide, start: number, size: number): ItemSide {
  const cut = (t: tf.Tensor3D) => t.slice([0, start, 0], [t.shape[0], size, t.shape[2]]);
  return {
    q: cut(items.q),
    desc: cut(items.desc),
    emb: cut(items.emb),
    descExpert: cut(items.descExpert),
    embExpert: cut(items.embExpert),
  };
}

/** The three experts, the router and the proxy self-attention. Variables live under `${path}/`. */
export class MoeBlock {
  private readonly experts: Expert[];
  private readonly router: Router;
  private readonly proxyAttention: ProxyAttention;

  constructor(store: ParamStore, path: string, private readonly options: MoeOptions) {
    const names = ["user_expert", "desc_expert", "emb_expert"];
    this.experts = names.map((name) => new Expert(store, `${path}/${name}`, options));
    this.router = new Router(store, `${path}/router`, options.dim, options.routerTemperature);
    this.proxyAttention = new ProxyAttention(store, `${path}/proxy_attn`, options);
  }

  /** Item-side tensors for q, d, ê [R, C, D], with the two item-only experts evaluated once per (row, item). */
  itemSide(ctx: ForwardContext, q: tf.Tensor3D, desc: tf.Tensor3D, emb: tf.Tensor3D): ItemSide {
    const pairs = q.shape.slice(0, 2);
    return {
      q,
      desc,
      emb,
      descExpert: this.experts[1].apply(ctx, q, desc, pairs),
      embExpert: this.experts[2].apply(ctx, q, emb, pairs),
    };
  }

  /** Output tokens r [B, C, D] and router weights [B, C, 3] for user vectors [B, 1, D] against `items`. */
  apply(ctx: ForwardContext, user: tf.Tensor3D, items: ItemSide): { r: tf.Tensor3D; weights: tf.Tensor3D } {
    const [batchSize, , dim] = user.shape;
    const numCandidates = items.q.shape[1];
    const grid = [batchSize, numCandidates, dim];
    const userExpert = this.experts[0].apply(ctx, items.q, user, grid.slice(0, 2));
    const weights = tap(
      ctx.probe,
      "retriever.router",
      "weights",
      this.router.apply([items.q, user, items.desc, items.emb]),
    );
    const outputs = [userExpert, items.descExpert, items.embExpert];
    const mixture = outputs
      .map((out, k) => weights.slice([0, 0, k], [batchSize, numCandidates, 1]).mul(out))
      .reduce((a, b) => a.add(b));
    const m = tap(ctx.probe, "retriever.moe", "mixture", mixture).reshape([-1, dim]) as tf.Tensor2D;
    const r = this.proxyAttention.apply(ctx, m).reshape(grid) as tf.Tensor3D;
    return { r: tap(ctx.probe, "retriever.proxy_attn", "out", r), weights };
  }
}
