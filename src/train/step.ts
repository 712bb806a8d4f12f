/**
 * One training step with the NaN guard: compute losses and gradients for the active modules, count
 * non-finite values, then apply the configured policy (`raise`, `skip`, `zero`) before the optimizer step.
 */
import * as tf from "@tensorflow/tfjs";
import type { Config } from "../config/schema.ts";
import type { TrainBatch } from "../data/types.ts";
import type { Probe } from "../models/probe.ts";
import type { Recommender } from "../models/types.ts";
import { totalLoss } from "./losses.ts";
import type { ModuleOptimizer } from "./optimizer.ts";
import type { StepRecord } from "./records.ts";
import { countNonfinite } from "./tensor_stats.ts";

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
    const parts = totalLoss(model.trainScores(batch, probe, active), config);
    terms = Object.fromEntries(Object.entries(parts.terms).map(([k, v]) => [k, tf.keep(v)]));
    if (probe) { for (const [k, v] of Object.entries(parts.terms)) probe.forward("loss", k, v); }
    return parts.total;
  }, vars);
  return { terms, total: value, grads };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Runs one guarded step. Never leaks tensors. */
export function trainStep(
  model: Recommender,
  optimizer: ModuleOptimizer,
  batch: TrainBatch,
  config: Config,
  active: string[],
  globalStep: number,
): StepOutcome {
  const { terms, total, grads } = lossAndGrads(model, batch, config, active);
  try {
    const names = Object.keys(grads);
    const [lossBad, ...gradBad] = countNonfinite([total, ...names.map((n) => grads[n])]);
    const gradsBad = gradBad.reduce((a, b) => a + b, 0);
    const loss: Record<string, number | null> = { total: finiteOrNull(total.dataSync()[0]) };
    for (const [k, v] of Object.entries(terms)) loss[k] = finiteOrNull(v.dataSync()[0]);
    const nonfinite = { loss: lossBad, grads: gradsBad };
    if (lossBad + gradsBad === 0) {
      const { gradNorm, lr } = optimizer.step(grads, active, globalStep);
      return { loss, grad_norm: mapFinite(gradNorm), lr, nonfinite, action: "ok" };
    }
    if (config.nan_policy === "raise") return { loss, grad_norm: {}, lr: {}, nonfinite, action: "raised" };
    if (config.nan_policy === "skip") return { loss, grad_norm: {}, lr: {}, nonfinite, action: "skipped" };
    const patched = tf.tidy(() =>
      Object.fromEntries(names.map((n) => [n, tf.where(tf.isFinite(grads[n]), grads[n], tf.zerosLike(grads[n]))]))
    );
    try {
      const { gradNorm, lr } = optimizer.step(patched, active, globalStep);
      return { loss, grad_norm: mapFinite(gradNorm), lr, nonfinite, action: "patched" };
    } finally {
      tf.dispose(Object.values(patched));
    }
  } finally {
    tf.dispose([total, ...Object.values(terms), ...Object.values(grads)]);
  }
}

function mapFinite(values: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, finiteOrNull(v)]));
}
