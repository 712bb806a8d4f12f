/**
 * Learning-rate schedules, as pure functions of the global step (0-based: the step about to be taken).
 * Warm-up is linear over `warmup_steps` steps: step s < warmup runs at base * (s + 1) / warmup, so step 0 runs at
 * base / warmup and step warmup - 1 at base (the original ran step 0 at full LR and then dropped to 1%,
 * docs/findings.md#f17). After warm-up, with t = step - warmup_steps:
 * - `constant`: base;
 * - `cosine`: base * (1 + cos(pi * t / (totalSteps - warmup_steps))) / 2, from base down to 0 at `totalSteps`;
 * - `periodic_cosine`: the original's CosineAnnealingLR stepped per batch and never stopped (eta_min 0):
 *   base * (1 + cos(pi * t / cosine_t_max)) / 2, which reaches 0 at t = T_max and climbs back to base at t = 2 T_max.
 */
import type { ScheduleOptions } from "../config/resolve.ts";
import { UserError } from "../util/errors.ts";

/** The learning rate of global step `step` for base rate `base`; `totalSteps` is required by `cosine`. */
export function learningRate(base: number, step: number, schedule: ScheduleOptions, totalSteps?: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`learningRate: step must be an integer >= 0, got ${step}`);
  const warmup = schedule.warmupSteps;
  const decaySteps = schedule.kind === "cosine" ? cosineDecaySteps(warmup, totalSteps) : Infinity;
  if (step < warmup) return base * (step + 1) / warmup;
  const t = step - warmup;
  switch (schedule.kind) {
    case "constant":
      return base;
    case "periodic_cosine":
      return base * (1 + Math.cos(Math.PI * t / schedule.cosineTMax)) / 2;
    case "cosine":
      return base * (1 + Math.cos(Math.PI * Math.min(t / decaySteps, 1))) / 2;
  }
}

/** The number of steps the cosine decays over, after checking that there are any. */
function cosineDecaySteps(warmup: number, totalSteps: number | undefined): number {
  if (totalSteps === undefined) throw new Error("learningRate: lr_schedule=cosine needs totalSteps");
  if (totalSteps <= warmup) {
    throw new UserError(
      `lr_schedule=cosine: warmup_steps (${warmup}) must be smaller than the total number of steps (${totalSteps})`,
    );
  }
  return totalSteps - warmup;
}
