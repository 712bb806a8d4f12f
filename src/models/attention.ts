/**
 * Multi-head causal self-attention with a key-padding mask, in two mask modes (`config.attention_mask`):
 * - `torch` reproduces PyTorch `nn.MultiheadAttention` (eager path) given a boolean causal mask and a key-padding
 *   mask: masked logits are -Infinity, so a query row whose keys are all masked (a pad row under left padding) is
 *   softmax 0/0 = NaN, forward and backward, in training and eval (docs/original.md#nan-mechanism).
 * - `safe` adds a large finite negative instead, zeroes the probabilities of fully masked rows, and gives the
 *   caller a timeline mask to re-zero pad positions after each block: never NaN, whatever the padding.
 * The mask is additive and built once per batch (no where/broadcastTo), and the attention core has a hand-written
 * backward (docs/performance.md#xnnpack-friendly-backward); a probe that watches gradients gets the plain autodiff path
 * so it sees every op. On wasm, the safe mode runs the tiled causal attention kernels instead
 * (src/backend/causal_attention.ts: only the tiles the mask leaves visible, same values, same dropout masks) for
 * sequences of at least `MIN_TILED_KEYS`, except under a probe, which gets the path above.
 */
import * as tf from "@tensorflow/tfjs";
import type { SequenceBatch } from "../data/types.ts";
import {
  CAUSAL_ATTENTION,
  CAUSAL_ATTENTION_GRAD,
  type CausalAttentionAttrs,
  MIN_TILED_KEYS,
} from "../backend/causal_attention.ts";
import { ownWasmKernels } from "../backend/override.ts";
import { Dense, dropoutMask, dropoutSeed, type ForwardContext } from "./layers.ts";
import type { ParamStore } from "./params.ts";
import { tap } from "./probe.ts";

/** `torch`: PyTorch's -inf masking (NaN on fully masked rows); `safe`: never NaN. */
export type AttentionMaskMode = "torch" | "safe";

/** The finite "minus infinity" of the safe mode. */
export const SAFE_MASK_VALUE = -1e9;

/** Masks of one batch, shared by every block. */
export interface SequenceMasks {
  /** [B, 1, Tq, T]: 0 where query t may attend key s (s <= t and key s is an item), else -Infinity or -1e9; null
   * when the masks were built for the tiled kernels, which read `layout` instead. */
  additive: tf.Tensor4D | null;
  /** Safe mode: [B, 1, Tq, 1], 0 on query rows without any visible key; null in torch mode and for the tiled
   * kernels. */
  rowKeep: tf.Tensor4D | null;
  /** Safe mode: [B, Tq, 1], 1 on item query positions and 0 on pads; null in torch mode. */
  timeline: tf.Tensor3D | null;
  /** Safe mode: the same mask for the tiled kernel, as the position of each query row [B·Tq] and 1 on item keys
   * [B·T]; null in torch mode. */
  layout: { positions: Int32Array; items: Int32Array } | null;
}

/**
 * The values of `SequenceMasks` as flat arrays: additive [B, Tq, T], rowKeep [B, Tq], timeline [B, Tq]. The query
 * rows are every position (Tq = T) or, with `queries` ([B]), one position per sequence (Tq = 1).
 */
export function maskValues(
  { inputs, batchSize, seqLen }: SequenceBatch,
  mode: AttentionMaskMode,
  queries?: Int32Array,
): { additive: Float32Array; rowKeep: Float32Array; timeline: Float32Array } {
  const masked = mode === "torch" ? -Infinity : SAFE_MASK_VALUE;
  const queryRows = queries ? 1 : seqLen;
  const additive = new Float32Array(batchSize * queryRows * seqLen).fill(masked);
  const rowKeep = new Float32Array(batchSize * queryRows);
  const timeline = new Float32Array(batchSize * queryRows);
  for (let b = 0; b < batchSize; b++) {
    for (let j = 0; j < queryRows; j++) {
      const t = queries ? queries[b] : j;
      const cell = b * queryRows + j;
      if (inputs[b * seqLen + t] !== 0) timeline[cell] = 1;
      for (let s = 0; s <= t; s++) {
        if (inputs[b * seqLen + s] === 0) continue;
        additive[cell * seqLen + s] = 0;
        rowKeep[cell] = 1;
      }
    }
  }
  return { additive, rowKeep, timeline };
}

/** Which masks `sequenceMasks` builds. */
export interface MaskOptions {
  /** One query position per sequence ([B]): masks of those rows only (additive [B, 1, 1, T]). Default: every row. */
  queries?: Int32Array;
  /** The attention will run on the tiled kernels (`usesTiledAttention`): skip `additive` and `rowKeep` ([B, Tq, T]
   * values built in JS, which the kernels do not read). Only in safe mode. Default false. */
  tiled?: boolean;
}

/**
 * Builds the masks of a batch of input ids [B, T] as tensors (the caller disposes them); with `queries`, the masks of
 * one query row per sequence, for attending from those positions only.
 */
export function sequenceMasks(seq: SequenceBatch, mode: AttentionMaskMode, options: MaskOptions = {}): SequenceMasks {
  const { inputs, batchSize, seqLen } = seq;
  const { queries, tiled = false } = options;
  const safe = mode === "safe";
  if (tiled && !safe) throw new Error("sequenceMasks: the tiled kernels only take the safe mask");
  const queryRows = queries ? 1 : seqLen;
  const positions = new Int32Array(batchSize * queryRows);
  for (let i = 0; i < positions.length; i++) positions[i] = queries ? queries[i] : i % seqLen;
  const items = new Int32Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) items[i] = inputs[i] === 0 ? 0 : 1;
  const layout = safe ? { positions, items } : null;
  if (tiled) {
    const timeline = new Float32Array(positions.length);
    for (let i = 0; i < positions.length; i++) timeline[i] = items[Math.floor(i / queryRows) * seqLen + positions[i]];
    return { additive: null, rowKeep: null, timeline: tf.tensor3d(timeline, [batchSize, queryRows, 1]), layout };
  }
  const v = maskValues(seq, mode, queries);
  return {
    additive: tf.tensor4d(v.additive, [batchSize, 1, queryRows, seqLen]),
    rowKeep: safe ? tf.tensor4d(v.rowKeep, [batchSize, 1, queryRows, 1]) : null,
    timeline: safe ? tf.tensor3d(v.timeline, [batchSize, queryRows, 1]) : null,
    layout,
  };
}

/** Reports an intermediate to the probe (if any) under `${layer}`/`op`. */
type Tap = <T extends tf.Tensor>(op: string, t: T) => T;

/** What the attention core applies to the probabilities of H heads, besides q, k and v. */
export interface AttentionMask {
  /** [B, 1, Tq, T], added to the scores (`SequenceMasks.additive`). */
  additive: tf.Tensor4D;
  /** Broadcastable to [B, H, Tq, T], multiplies the probabilities (dropout and/or zeroed rows); null for none. */
  keep: tf.Tensor | null;
  heads: number;
}

/**
 * softmax(q kᵀ + mask) · v with q [B·H, Tq, dk] already scaled by 1/sqrt(dk) and k, v [B·H, T, dk]. Returns
 * probabilities and output.
 */
function attentionForward(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  { additive, keep, heads }: AttentionMask,
  report: Tap,
): { probs: tf.Tensor3D; kept: tf.Tensor3D; out: tf.Tensor3D } {
  const [bh, queryRows] = q.shape;
  const seqLen = k.shape[1];
  const shape4 = [bh / heads, heads, queryRows, seqLen];
  const scores = report("scores", tf.matMul(q, k, false, true).reshape(shape4)); // before the mask: finite
  const probs4 = report("softmax", tf.softmax(scores.add(additive)));
  const kept = (keep ? probs4.mul(keep) : probs4).reshape([bh, queryRows, seqLen]) as tf.Tensor3D;
  return { probs: probs4.reshape([bh, queryRows, seqLen]), kept, out: tf.matMul(kept, v) };
}

/**
 * The attention core with either tfjs autodiff or the hand-written backward
 * (dV = P̃ᵀ dO; dP = (dO vᵀ) ⊙ keep; dS = P ⊙ (dP - Σ dP ⊙ P); dQ = dS k; dK = dSᵀ q, where P̃ = P ⊙ keep).
 */
export function attentionCore(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: AttentionMask,
  customBackward: boolean,
  report: Tap = (_op, t) => t,
): tf.Tensor3D {
  if (!customBackward) return attentionForward(q, k, v, mask, report).out;
  const { keep, heads } = mask;
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qs, ks, vs, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const { probs, kept, out } = attentionForward(qs, ks, vs, mask, report);
    save(keep ? [qs, ks, vs, probs, kept, keep] : [qs, ks, vs, probs, kept]); // keep must outlive the forward tidy
    return {
      value: out,
      gradFunc: (dOut: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sq, sk, sv, p, pk, savedKeep] = saved as tf.Tensor3D[];
        const dv = tf.matMul(pk, dOut, true, false);
        let dp = tf.matMul(dOut, sv, false, true);
        if (savedKeep) dp = dp.reshape([-1, heads, ...dp.shape.slice(1)]).mul(savedKeep).reshape(dp.shape);
        const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true)));
        return [tf.matMul(ds, sk), tf.matMul(ds, sq, true, false), dv];
      },
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

/** When the safe mode uses the tiled kernels on wasm: from `MIN_TILED_KEYS` keys (`auto`, the default), always, or
 * never (the tfjs path; A/B timings in bench/). */
export type TiledMode = "auto" | "always" | "never";

let tiledMode: TiledMode = "auto";

/** Sets when the tiled kernels run (see `TiledMode`). */
export function setTiledAttention(mode: TiledMode): void {
  tiledMode = mode;
}

/** Whether attention over `keys` positions under mask `mode` goes to the tiled kernels: safe mode, wasm backend, no
 * probe, kernels switched on, and the `TiledMode` (auto: at least `MIN_TILED_KEYS` keys; fewer measured faster on
 * the tfjs path). Then `sequenceMasks` can skip the dense masks (`MaskOptions.tiled`). */
export function usesTiledAttention(ctx: ForwardContext, mode: AttentionMaskMode, keys: number): boolean {
  if (mode !== "safe" || ctx.probe || tiledMode === "never" || !ownWasmKernels()) return false;
  return tiledMode === "always" || keys >= MIN_TILED_KEYS;
}

/**
 * softmax(q kᵀ + mask) · v by the tiled kernels (src/backend/causal_attention.ts), with the backward kernel as its
 * gradient: q [B, Tq, H·dk] already scaled, k, v [B, T, H·dk] (heads packed along the last axis, as the projections
 * make them); output [B, Tq, H·dk]. The mask and dropout come in `attrs`.
 */
export function tiledAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  attrs: CausalAttentionAttrs,
): tf.Tensor3D {
  const named = attrs as unknown as tf.NamedAttrMap;
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qs, ks, vs, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const out = tf.engine().runKernel(CAUSAL_ATTENTION, { q: qs, k: ks, v: vs }, named) as tf.Tensor3D;
    save([qs, ks, vs, out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so] = saved;
        const inputs = { q: sq, k: sk, v: sv, out: so, dy };
        return tf.engine().runKernel(CAUSAL_ATTENTION_GRAD, inputs, named) as tf.Tensor[];
      },
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

/**
 * Attention of q [B, Tq, H·dk] (already scaled) over k, v [B, T, H·dk] (heads packed along the last axis) under
 * `masks`, with attention-probability dropout at `rate` drawn from `ctx`; output [B, Tq, H·dk]. The tiled kernels take
 * the packed layout as it is where `usesTiledAttention` says so; else `attentionCore` on the heads split into
 * [B·H, T, dk] (autodiff under a probe that watches gradients). Both draw one dropout seed, so the masks and the seed
 * stream are the same.
 */
export function causalAttention(
  ctx: ForwardContext,
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  masks: SequenceMasks,
  heads: number,
  rate: number,
  report: Tap = (_op, t) => t,
): tf.Tensor3D {
  const [batch, queryRows] = q.shape, seqLen = k.shape[1];
  if (usesTiledAttention(ctx, masks.layout ? "safe" : "torch", seqLen)) {
    const seed = dropoutSeed(ctx, rate); // the seed dropoutMask would draw
    const dropout = { seed: seed ?? 0, keep: seed === null ? 1 : 1 - rate };
    return tiledAttention(q, k, v, { ...masks.layout!, heads, ...dropout });
  }
  if (!masks.additive) throw new Error("causalAttention: masks built for the tiled kernels, which do not run here");
  const drop = dropoutMask(ctx, [batch, heads, queryRows, seqLen], rate);
  const keep = drop && masks.rowKeep ? drop.mul(masks.rowKeep) : drop ?? masks.rowKeep;
  const [qs, ks, vs] = [q, k, v].map((x) => splitHeads(x, heads));
  const out = attentionCore(qs, ks, vs, { additive: masks.additive, keep, heads }, !ctx.probe?.watchBackward, report);
  return mergeHeads(out, heads);
}

/** [B, T, H·dk] -> [B·H, T, dk] */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor3D {
  const [b, t, d] = x.shape;
  return x.reshape([b, t, heads, d / heads]).transpose([0, 2, 1, 3]).reshape([b * heads, t, d / heads]);
}

/** [B·H, T, dk] -> [B, T, H·dk] */
export function mergeHeads(x: tf.Tensor3D, heads: number): tf.Tensor3D {
  const [bh, t, dk] = x.shape;
  return x.reshape([bh / heads, heads, t, dk]).transpose([0, 2, 1, 3]).reshape([bh / heads, t, heads * dk]);
}

/**
 * PyTorch-style multi-head self-attention: in-projections (Xavier-uniform with the packed [3d, d] fans, zero bias),
 * attention-probability dropout, output projection (Xavier-uniform, zero bias, as the original re-initialises it).
 */
export class MultiHeadSelfAttention {
  readonly q: Dense;
  readonly k: Dense;
  readonly v: Dense;
  readonly o: Dense;

  constructor(
    store: ParamStore,
    path: string,
    readonly dim: number,
    readonly heads: number,
    readonly dropoutRate: number,
    readonly probeLayer: string,
  ) {
    const inProj = { weight: "xavier_in_proj", bias: "zeros" } as const;
    this.q = new Dense(store, `${path}/q`, dim, dim, inProj);
    this.k = new Dense(store, `${path}/k`, dim, dim, inProj);
    this.v = new Dense(store, `${path}/v`, dim, dim, inProj);
    this.o = new Dense(store, `${path}/o`, dim, dim, { weight: "xavier", bias: "zeros" });
  }

  /**
   * Attends the rows `queries` [B, Tq, d] (default: all of x) to x [B, T, d] under `masks` (built for those query
   * rows). Taps under `probeLayer`: `scores` (q·kᵀ/sqrt(dk) before the mask, so the -Infinity of torch mode is not
   * reported as a non-finite value), `softmax` (masked probabilities), `out`. The output is reported before the
   * context's patch hook, so the probe sees the NaN that `nan_to_zero` then replaces.
   */
  apply(ctx: ForwardContext, x: tf.Tensor3D, masks: SequenceMasks, queries = x): tf.Tensor3D {
    const scale = 1 / Math.sqrt(this.dim / this.heads);
    const q = this.q.apply(queries).mul(scale) as tf.Tensor3D;
    const [k, v] = [this.k.apply(x), this.v.apply(x)] as tf.Tensor3D[];
    const report: Tap = (op, t) => tap(ctx.probe, this.probeLayer, op, t);
    const out = causalAttention(ctx, q, k, v, masks, this.heads, this.dropoutRate, report);
    return ctx.patch(report("out", this.o.apply(out) as tf.Tensor3D));
  }
}
