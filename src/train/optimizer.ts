/**
 * AdamW over named modules of tf.Variables, as the original's two PyTorch AdamW optimisers (docs/original.md#training):
 * β = (0.9, 0.999), eps 1e-8, decoupled weight decay, a learning rate per module (`sasrec_lr` for "sasrec",
 * `bprmf_lr` (default `sasrec_lr`) for "bprmf", `retriever_lr` for "retriever" and "fusion") following
 * `learningRate`, and a global-L2 gradient clip
 * per module (`grad_clip`, 0 = off) with PyTorch's coefficient clip / (norm + 1e-6).
 * Only the active modules of a stage are stepped; within them, variables without a gradient are left untouched and
 * keep their own Adam step count (PyTorch's per-parameter state), so bias correction stays exact.
 */
import * as tf from "@tensorflow/tfjs";
import { ADAMW, type AdamwAttrs } from "../backend/adamw.ts";
import { ownWasmKernels } from "../backend/override.ts";
import type { OptimizerOptions } from "../config/resolve.ts";
import { UserError } from "../util/errors.ts";
import { learningRate } from "./schedule.ts";

/** Adam's first-moment decay. */
export const ADAM_BETA1 = 0.9;
/** Adam's second-moment decay. */
export const ADAM_BETA2 = 0.999;
/** Adam's denominator epsilon (PyTorch's default). */
export const ADAM_EPS = 1e-8;
/** Added to the gradient norm in the clip coefficient, as PyTorch's clip_grad_norm_ does. */
const CLIP_EPS = 1e-6;

/**
 * Optimizer state for checkpoints: `tensors` holds the Adam moments, keyed `<module>/<index>/m` and `.../v` where
 * index is the variable's position in its module; `meta` is the JSON part, the Adam step count per variable
 * keyed `<module>/<index>`.
 */
export interface OptimizerState {
  tensors: tf.NamedTensorMap;
  meta: { steps: Record<string, number> };
}

/** What one optimizer step did per stepped module: pre-clip global gradient norm and learning rate. */
export interface StepStats {
  gradNorm: Record<string, number>;
  lr: Record<string, number>;
}

interface Slot {
  key: string;
  variable: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
  steps: number;
}

/** AdamW with per-module learning rates, clipping and gradient-norm monitoring. */
export class ModuleOptimizer {
  private readonly slots: Record<string, Slot[]> = {};
  private readonly totalSteps?: number;
  /** Whether updates may go through the AdamW kernel where it runs (wasm, fast kernels on); false forces the tfjs
   * ops (tests compare the two). */
  fusedUpdate = true;

  /** `totalSteps` (the run's planned number of steps) is needed by `lr_schedule: cosine`. */
  constructor(
    modules: Record<string, tf.Variable[]>,
    private readonly options: OptimizerOptions,
    opts: { totalSteps?: number } = {},
  ) {
    this.totalSteps = opts.totalSteps;
    const seen = new Set<string>();
    for (const [module, variables] of Object.entries(modules)) {
      if (variables.length > 0 && options.learningRates[module] === undefined) {
        throw new Error(`ModuleOptimizer: no learning rate for module "${module}"`);
      }
      for (const variable of variables) {
        if (seen.has(variable.name)) throw new Error(`ModuleOptimizer: variable "${variable.name}" appears twice`);
        seen.add(variable.name);
      }
      this.slots[module] = variables.map((variable, i) => ({
        key: `${module}/${i}`,
        variable,
        m: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
        steps: 0,
      }));
    }
  }

  /** The learning rate of `module` at global step `step`. */
  learningRate(module: string, step: number): number {
    const base = this.options.learningRates[module];
    if (base === undefined) throw new Error(`ModuleOptimizer: no learning rate for module "${module}"`);
    return learningRate(base, step, this.options.schedule, this.totalSteps);
  }

  /**
   * The pre-clip global L2 gradient norm of each `active` module that received a gradient, as scalar tensors (the
   * caller disposes them and reads them back, e.g. together with its other per-step values, for `apply`).
   */
  gradNorms(grads: Record<string, tf.Tensor>, active: string[]): Record<string, tf.Scalar> {
    const norms: Record<string, tf.Scalar> = {};
    for (const module of active) {
      const moduleGrads = this.stepped(module, grads).map((s) => grads[s.variable.name]);
      if (moduleGrads.length > 0) norms[module] = globalNorm(moduleGrads);
    }
    return norms;
  }

  /**
   * One AdamW step of the `active` modules at global step `step`, given their gradient norms from `gradNorms`
   * (read back). `grads` are keyed by variable name (as tf.variableGrads returns them), must be finite (the NaN
   * guard runs first) and stay owned by the caller. Returns, for each active module that received a gradient, its
   * pre-clip global L2 norm and learning rate. No read-back.
   */
  apply(grads: Record<string, tf.Tensor>, active: string[], step: number, norms: Record<string, number>): StepStats {
    const stats: StepStats = { gradNorm: {}, lr: {} };
    for (const module of active) {
      const stepped = this.stepped(module, grads);
      if (stepped.length === 0) continue;
      const norm = norms[module];
      if (norm === undefined) throw new Error(`ModuleOptimizer: no gradient norm for module "${module}"`);
      const clip = this.options.gradClip;
      const scale = clip > 0 && norm > clip ? clip / (norm + CLIP_EPS) : 1;
      const lr = this.learningRate(module, step);
      for (const slot of stepped) this.update(slot, grads[slot.variable.name], lr, scale);
      stats.gradNorm[module] = norm;
      stats.lr[module] = lr;
    }
    return stats;
  }

  /** `gradNorms`, one asynchronous read-back of all of them (works on every backend), then `apply`. */
  async step(grads: Record<string, tf.Tensor>, active: string[], step: number): Promise<StepStats> {
    const tensors = this.gradNorms(grads, active);
    const modules = Object.keys(tensors);
    let values: Float32Array | Int32Array | Uint8Array = new Float32Array(0);
    if (modules.length > 0) {
      const stacked = tf.stack(Object.values(tensors));
      values = await stacked.data();
      stacked.dispose();
    }
    tf.dispose(Object.values(tensors));
    return this.apply(grads, active, step, Object.fromEntries(modules.map((m, i) => [m, values[i]])));
  }

  /** The slots of `module` that have a gradient in `grads` (shapes checked). */
  private stepped(module: string, grads: Record<string, tf.Tensor>): Slot[] {
    const slots = this.slots[module];
    if (!slots) throw new Error(`ModuleOptimizer: unknown module "${module}"`);
    const stepped = slots.filter((s) => grads[s.variable.name] !== undefined);
    for (const s of stepped) {
      if (!tf.util.arraysEqual(grads[s.variable.name].shape, s.variable.shape)) {
        throw new Error(`ModuleOptimizer: gradient of ${s.key} has shape ${grads[s.variable.name].shape}`);
      }
    }
    return stepped;
  }

  /** AdamW on one variable. Decay and Adam update are one decrement, p - lr * (update + wd * p), equal to
   * PyTorch's (1 - lr wd) p - lr update but without rounding 1 - lr wd to 1 in float32. On wasm with the fast kernels
   * on (`fusedUpdate`), one kernel does the same float32 operations (src/backend/adamw.ts). */
  private update(slot: Slot, grad: tf.Tensor, lr: number, scale: number): void {
    slot.steps += 1;
    const correction1 = 1 - ADAM_BETA1 ** slot.steps;
    const correction2 = 1 - ADAM_BETA2 ** slot.steps;
    if (this.fusedUpdate && ownWasmKernels()) {
      const attrs: AdamwAttrs = {
        scale,
        beta1: ADAM_BETA1,
        beta2: ADAM_BETA2,
        correction1,
        correction2,
        eps: ADAM_EPS,
        weightDecay: this.options.weightDecay,
        lr,
      };
      const inputs = { variable: slot.variable, m: slot.m, v: slot.v, grad };
      const [p, m, v] = tf.engine().runKernel(ADAMW, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      [[slot.variable, p], [slot.m, m], [slot.v, v]].forEach(([target, value]) => {
        (target as tf.Variable).assign(value);
        value.dispose();
      });
      return;
    }
    tf.tidy(() => {
      const g = scale === 1 ? grad : tf.mul(grad, scale);
      const m = tf.add(tf.mul(slot.m, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
      const v = tf.add(tf.mul(slot.v, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
      let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), ADAM_EPS));
      if (this.options.weightDecay > 0) update = tf.add(update, tf.mul(slot.variable, this.options.weightDecay));
      slot.m.assign(m);
      slot.v.assign(v);
      slot.variable.assign(tf.sub(slot.variable, tf.mul(update, lr)));
    });
  }

  /** The state to checkpoint. The tensors are the optimizer's own: read them, do not dispose them. */
  getState(): OptimizerState {
    const state: OptimizerState = { tensors: {}, meta: { steps: {} } };
    for (const slot of Object.values(this.slots).flat()) {
      state.tensors[`${slot.key}/m`] = slot.m;
      state.tensors[`${slot.key}/v`] = slot.v;
      state.meta.steps[slot.key] = slot.steps;
    }
    return state;
  }

  /** Restores a state from `getState` (values are copied; the caller keeps ownership of `state`'s tensors). */
  setState(state: OptimizerState): void {
    const slots = Object.values(this.slots).flat();
    const expected = new Set(slots.flatMap((s) => [`${s.key}/m`, `${s.key}/v`]));
    const extra = Object.keys(state.tensors).filter((k) => !expected.has(k));
    if (extra.length > 0) throw new UserError(`optimizer state: unexpected entries ${extra.join(", ")}`);
    const counts = slots.map((slot) => {
      const count: unknown = state.meta?.steps?.[slot.key];
      if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
        throw new UserError(`optimizer state: step count of ${slot.key} is ${count}, expected an integer >= 0`);
      }
      for (const [name, target] of [["m", slot.m], ["v", slot.v]] as const) {
        const value = state.tensors[`${slot.key}/${name}`];
        if (!value) throw new UserError(`optimizer state: missing ${slot.key}/${name}`);
        if (!tf.util.arraysEqual(value.shape, target.shape)) {
          throw new UserError(
            `optimizer state: ${slot.key}/${name} has shape [${value.shape}], expected [${target.shape}]`,
          );
        }
      }
      return count;
    });
    for (const [i, slot] of slots.entries()) {
      slot.m.assign(state.tensors[`${slot.key}/m`]);
      slot.v.assign(state.tensors[`${slot.key}/v`]);
      slot.steps = counts[i];
    }
  }

  /** Frees the moment tensors (not the model's variables). */
  dispose(): void {
    for (const slot of Object.values(this.slots).flat()) tf.dispose([slot.m, slot.v]);
  }
}

/**
 * Global L2 norm of a list of tensors, as a scalar tensor (the caller disposes it). The squares are summed by a chain
 * of adds, in order (the same float32 result as `tf.addN` on cpu and wasm): webgpu's AddN binds every input at once,
 * and past the adapter's storage-buffer limit (8 on llvmpipe) its command buffer is invalid and the whole step's
 * results are garbage.
 */
export function globalNorm(tensors: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tensors.map((t) => tf.sum(tf.square(t))).reduce((a, b) => tf.add(a, b))) as tf.Scalar);
}
