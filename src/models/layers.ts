/**
 * Building blocks shared by the models: the forward context, dense layers (`tf.fused.matMul`: on wasm the product
 * starts from the bias, src/backend/batch_matmul.ts), LayerNorm with a hand-written backward (one kernel each way on
 * wasm, src/backend/layer_norm.ts), seeded dropout (masks by a kernel on wasm), and small tensor ops (GELU, L2
 * normalisation, NaN patch, stop-gradient).
 */
import * as tf from "@tensorflow/tfjs";
import { keepThreshold, pairHash } from "../backend/dropout_hash.ts";
import { DROPOUT_MASK } from "../backend/dropout_mask.ts";
import { LAYER_NORM, LAYER_NORM_GRAD } from "../backend/layer_norm.ts";
import { ownWasmKernels } from "../backend/override.ts";
import { Rng } from "../rng.ts";
import { fanInUniform, xavierUniform } from "./init.ts";
import type { ParamStore } from "./params.ts";
import { type Probe, tap } from "./probe.ts";

/** What one forward pass needs besides its inputs. */
export interface ForwardContext {
  /** Training mode: dropout is active. */
  readonly training: boolean;
  /** Source of dropout seeds (advanced by every dropout in training mode). */
  readonly seeds: Rng;
  /** Sees the named intermediates (see `emit` and `tap`). */
  readonly probe?: Probe;
  /** The hook every sublayer output passes through (`emit`): `nanToZero` under `nan_to_zero`, else the identity. */
  readonly patch: <T extends tf.Tensor>(t: T) => T;
}

/** How a forward context is seeded, observed and patched. */
export interface ForwardOptions {
  /** A training batch's seed, from which every dropout seed derives (unused in eval). Default 0. */
  seed?: number;
  /** Receives the named intermediates. */
  probe?: Probe;
  /** Replace NaN by 0 in each sublayer output (the original's patch, `nan_to_zero`). Default false. */
  nanToZero?: boolean;
}

/** What a model's `context` takes besides the mode (the model knows whether it patches NaN). */
export type ContextOptions = Omit<ForwardOptions, "nanToZero">;

/**
 * A context whose dropout seeds derive only from `options.seed` (a training batch's `seed`, so a step replays
 * exactly) and the component `label`; eval contexts never draw.
 */
export function forwardContext(training: boolean, label: string, options: ForwardOptions = {}): ForwardContext {
  const { seed = 0, probe, nanToZero: patchNan = false } = options;
  const patch = patchNan ? nanToZero : <T extends tf.Tensor>(t: T) => t;
  return { training, seeds: new Rng(seed).fork(label), probe, patch };
}

/** Where an output shows in probe records: `layer` and `op` (e.g. `block0` / `ln1`). */
export interface ProbeName {
  readonly layer: string;
  readonly op: string;
}

/** A sublayer's output in a forward pass: through the context's `patch` hook, then to the probe as `name` (if set). */
export function emit<T extends tf.Tensor>(ctx: ForwardContext, name: ProbeName | undefined, t: T): T {
  const out = ctx.patch(t);
  return name ? tap(ctx.probe, name.layer, name.op, out) : out;
}

/** LayerNorm epsilon (PyTorch's default). */
export const LN_EPS = 1e-5;

type Args = (tf.Tensor | tf.GradSaveFunc)[];

/**
 * LayerNorm over the last axis of a 2-D `x` with a hand-written backward (xh = normalised input, r = 1/std):
 * dx = (dxh - mean(dxh) - xh * mean(dxh * xh)) * r with dxh = dy * gamma; dgamma = Σ dy * xh; dbeta = Σ dy.
 * On wasm with the fast kernels on, forward and backward are one kernel each (src/backend/layer_norm.ts); elsewhere
 * tfjs ops (`useKernels` false forces those, for tests).
 */
export function layerNormFast(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  useKernels = ownWasmKernels(),
): tf.Tensor2D {
  const normalise = tf.customGrad((...args: Args) => {
    const [xs, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    let y: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor;
    if (useKernels) {
      [y, xhat, rstd] = tf.engine().runKernel(LAYER_NORM, { x: xs, gamma: g, beta: b }, { eps: LN_EPS }) as tf.Tensor[];
    } else {
      const { mean, variance } = tf.moments(xs, -1, true);
      rstd = tf.rsqrt(variance.add(LN_EPS));
      xhat = xs.sub(mean).mul(rstd);
      y = xhat.mul(g).add(b);
    }
    save([xhat, rstd, g]);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xh, r, gs] = saved;
        if (useKernels) {
          return tf.engine().runKernel(LAYER_NORM_GRAD, { dy, xhat: xh, rstd: r, gamma: gs }) as tf.Tensor[];
        }
        const dxhat = dy.mul(gs);
        const dx = dxhat.sub(dxhat.mean(-1, true)).sub(xh.mul(dxhat.mul(xh).mean(-1, true))).mul(r);
        return [dx, dy.mul(xh).sum(0), dy.sum(0)];
      },
    };
  });
  return normalise(x, gamma, beta) as tf.Tensor2D;
}

/**
 * `count` dropout multipliers, each 1/keep with probability keep (to 1/65536) and otherwise 0, from a counter-based
 * hash of `seed` (`pairHash` in src/backend/dropout_hash.ts): one 32-bit hash gives two 16-bit uniforms.
 * About 10x faster than `tf.randomUniform(...).add(keep).floor()`, whose per-element JS generator dominated the
 * dropout cost (README "Performance").
 */
export function bernoulliMultipliers(seed: number, count: number, keep: number): Float32Array {
  const out = new Float32Array(count);
  const threshold = keepThreshold(keep);
  const values = new Float32Array([0, 1 / keep]);
  for (let i = 0; i < count; i += 2) {
    const z = pairHash(seed, i >>> 1);
    out[i] = values[+((z & 0xffff) < threshold)];
    if (i + 1 < count) out[i + 1] = values[+((z >>> 16) < threshold)];
  }
  return out;
}

/** The dropout multiplier (0 or 1/(1-rate)) for `shape`, or null when dropout is off (eval mode or rate 0). */
export function dropoutMask(ctx: ForwardContext, shape: number[], rate: number): tf.Tensor | null {
  const seed = dropoutSeed(ctx, rate);
  if (seed === null) return null;
  if (ownWasmKernels()) return tf.engine().runKernel(DROPOUT_MASK, {}, { shape, seed, keep: 1 - rate }) as tf.Tensor;
  const count = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(bernoulliMultipliers(seed, count, 1 - rate), shape);
}

/** The seed of a dropout mask drawn from `ctx` (advancing it), or null when dropout is off (eval mode or rate 0). */
export function dropoutSeed(ctx: ForwardContext, rate: number): number | null {
  return !ctx.training || rate === 0 ? null : ctx.seeds.nextUint32();
}

/** Inverted dropout with a seed from `ctx`; `noiseShape` (broadcastable to x) shares one draw along size-1 axes. */
export function dropout<T extends tf.Tensor>(ctx: ForwardContext, x: T, rate: number, noiseShape = x.shape): T {
  const mask = dropoutMask(ctx, noiseShape, rate);
  return mask ? x.mul(mask) : x;
}

/** Exact (erf) GELU, PyTorch's default. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

/**
 * L2 normalisation along the last axis, x / max(|x|, 1e-6): zero rows stay zero and have finite gradients.
 * (PyTorch's F.normalize uses eps 1e-12; the two differ only for rows with norm below 1e-6.)
 */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return x.mul(tf.rsqrt(tf.maximum(x.square().sum(-1, true), 1e-12)));
}

/** Replaces NaN by 0 (the original's patch); the gradient passes where x was not NaN and is zero where it was. */
export function nanToZero<T extends tf.Tensor>(x: T): T {
  return tf.where(tf.isNaN(x), tf.zerosLike(x), x);
}

/** The identity with a zero gradient. */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((...args: Args) => {
  const x = args[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;

/** `tf.tidy` for a function returning an object of tensors (interfaces are not `TensorContainer`s to the checker). */
export function tidyObject<T extends object>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}

/** How a dense layer's weight is initialised: Xavier-uniform, Xavier with PyTorch MHA's packed in-projection fans
 * (fan_out = 3 * out), or PyTorch's default Linear init (uniform ±1/sqrt(fan_in)). */
export type WeightInit = "xavier" | "xavier_in_proj" | "fan_in";
/** How a dense layer's bias is initialised: zeros or uniform ±1/sqrt(fan_in) (PyTorch's Linear default). */
export type BiasInit = "zeros" | "fan_in";

/** Affine layer y = x W + b over the last axis (any leading shape), W stored [in, out]. */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(
    store: ParamStore,
    path: string,
    readonly inDim: number,
    readonly outDim: number,
    init: { weight: WeightInit; bias: BiasInit },
  ) {
    const shape = [inDim, outDim];
    this.w = store.create(`${path}/w`, (rng) => {
      if (init.weight === "fan_in") return fanInUniform(rng, shape, inDim);
      return xavierUniform(rng, shape, inDim, init.weight === "xavier_in_proj" ? 3 * outDim : outDim);
    });
    this.b = store.create(
      `${path}/b`,
      (rng) => init.bias === "zeros" ? tf.zeros([outDim]) : fanInUniform(rng, [outDim], inDim),
    );
  }

  /** Applies the layer to x [..., inDim]. */
  apply(x: tf.Tensor): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const y = tf.fused.matMul({ a: x.reshape([-1, this.inDim]), b: this.w as tf.Tensor2D, bias: this.b });
    return y.reshape([...lead, this.outDim]);
  }
}

/**
 * LayerNorm over the last axis (eps 1e-5, gamma 1, beta 0 at init). Its output goes through `emit`: the context's
 * patch hook, then the probe as `probeName` (when given).
 */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(store: ParamStore, path: string, readonly dim: number, readonly probeName?: ProbeName) {
    this.gamma = store.create(`${path}/gamma`, () => tf.ones([dim]));
    this.beta = store.create(`${path}/beta`, () => tf.zeros([dim]));
  }

  /** Normalises x [..., dim]. */
  apply<T extends tf.Tensor>(ctx: ForwardContext, x: T): T {
    const y = layerNormFast(x.reshape([-1, this.dim]), this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D);
    return emit(ctx, this.probeName, y.reshape(x.shape) as T);
  }
}
