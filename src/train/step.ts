/**
 * One training step with the NaN guard: compute losses and gradients for the active modules, count
 * non-finite values, then apply the configured policy (`raise`, `skip`, `zero`) before the optimizer step.
 * The step reads back once, asynchronously (`await data()`, which every backend supports, webgpu included): the
 * non-finite counts, the loss terms and the gradient norms the optimizer clips with, stacked into one tensor.
 */
import * as tf from "@tensorflow/tfjs";
import { lossOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { TrainBatch } from "../data/types.ts";
import type { Probe } from "../models/probe.ts";
import type { Recommender } from "../models/types.ts";
import { totalLoss } from "./losses.ts";
import type { ModuleOptimizer } from "./optimizer.ts";
import type { StepRecord } from "../run/records.ts";
import { nonfiniteCounts } from "./tensor_stats.ts";

/** What one step did, in the shape of a metrics.jsonl step record (minus its position fields). */
export type StepOutcome = Pick<StepRecord, "loss" | "grad_norm" | "lr" | "nonfinite"> & {
  action: "ok" | "skipped" | "patched" | "raised";
};

/** Losses and gradients of the active modules' variables; caller disposes. */
export function lossAndGrads(
  model: Recommender,
  batch: TrainBatch,
  config: Config,
  active: string[],
  probe?: Probe,
): { terms: Record<string, tf.Scalar>; total: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const modules = model.modules();
  const vars = active.flatMap((m) => modules[m] ?? []);
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const parts = totalLoss(model.trainScores(batch, { probe, active }), lossOptions(config));
    terms = Object.fromEntries(Object.entries(parts.terms).map(([k, v]) => [k, tf.keep(v)]));
    if (probe) { for (const [k, v] of Object.entries(parts.terms)) probe.forward("loss", k, v); }
    return parts.total;
  }, vars);
  return { terms, total: value, grads };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The step's read-back values: non-finite counts of the loss and the gradients, loss terms, gradient norms. */
interface StepReadback {
  lossBad: number;
  gradsBad: number;
  loss: Record<string, number | null>;
  norms: Record<string, number>;
}

/** Stacks everything the step needs to know into one float32 tensor and reads it back once. */
async function readStep(
  total: tf.Scalar,
  terms: Record<string, tf.Scalar>,
  grads: Record<string, tf.Tensor>,
  norms: Record<string, tf.Scalar>,
): Promise<StepReadback> {
  const gradList = Object.values(grads);
  const termNames = Object.keys(terms);
  const normNames = Object.keys(norms);
  const packed = tf.tidy(() =>
    tf.concat([
      nonfiniteCounts([total, ...gradList]),
      tf.stack([total, ...termNames.map((k) => terms[k]), ...normNames.map((k) => norms[k])]).toFloat(),
    ])
  );
  const values = await packed.data();
  packed.dispose();
  const counts = 1 + gradList.length;
  let gradsBad = 0;
  for (let i = 1; i < counts; i++) gradsBad += values[i];
  const loss: Record<string, number | null> = { total: finiteOrNull(values[counts]) };
  termNames.forEach((k, i) => loss[k] = finiteOrNull(values[counts + 1 + i]));
  const normBase = counts + 1 + termNames.length;
  return {
    lossBad: values[0],
    gradsBad,
    loss,
    norms: Object.fromEntries(normNames.map((k, i) => [k, values[normBase + i]])),
  };
}

/**
 * `batch` with the step's dropout seed: a new object, so the data layer's batch is never changed; `batch` itself
 * when no seed is given.
 */
export function withSeed(batch: TrainBatch, seed?: number): TrainBatch {
  return seed === undefined ? batch : { ...batch, seed };
}

/** Options of one step. */
export interface StepOptions {
  /** The step's dropout seed (run.ts `stepSeed`); the batch's own `seed` when absent. */
  seed?: number;
}

/** Runs one guarded step. Never leaks tensors. */
export async function trainStep(
  model: Recommender,
  optimizer: ModuleOptimizer,
  batch: TrainBatch,
  config: Config,
  active: string[],
  globalStep: number,
  options: StepOptions = {},
): Promise<StepOutcome> {
  const { terms, total, grads } = lossAndGrads(model, withSeed(batch, options.seed), config, active);
  let normTensors: Record<string, tf.Scalar> = {};
  try {
    normTensors = optimizer.gradNorms(grads, active);
    const { lossBad, gradsBad, loss, norms } = await readStep(total, terms, grads, normTensors);
    const nonfinite = { loss: lossBad, grads: gradsBad };
    if (lossBad + gradsBad === 0) {
      const { gradNorm, lr } = optimizer.apply(grads, active, globalStep, norms);
      return { loss, grad_norm: mapFinite(gradNorm), lr, nonfinite, action: "ok" };
    }
    if (config.nan_policy === "raise") return { loss, grad_norm: {}, lr: {}, nonfinite, action: "raised" };
    if (config.nan_policy === "skip") return { loss, grad_norm: {}, lr: {}, nonfinite, action: "skipped" };
    const names = Object.keys(grads);
    const patched = tf.tidy(() =>
      Object.fromEntries(names.map((n) => [n, tf.where(tf.isFinite(grads[n]), grads[n], tf.zerosLike(grads[n]))]))
    );
    try {
      const { gradNorm, lr } = await optimizer.step(patched, active, globalStep);
      return { loss, grad_norm: mapFinite(gradNorm), lr, nonfinite, action: "patched" };
    } finally {
      tf.dispose(Object.values(patched));
    }
  } finally {
    tf.dispose([total, ...Object.values(terms), ...Object.values(grads), ...Object.values(normTensors)]);
  }
}

function mapFinite(values: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, finiteOrNull(v)]));
}
