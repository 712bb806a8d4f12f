/**
 * One training epoch of the staged trainer (trainer.ts): the epoch's planned steps (run.ts `epochSteps`, the same
 * iteration the NaN investigation uses), each a guarded `trainStep` with its own dropout seed, the NaN locator on the
 * run's first non-finite step (nan_report.json) and the step records of metrics.jsonl.
 */
import { writeNanReport } from "../run/json_files.ts";
import { appendRecord } from "../run/metrics.ts";
import type { EpochRecord, Metrics, NanReport } from "../run/records.ts";
import type { TrainerState } from "./checkpoint.ts";
import { batchLayout, nanReport, probeStep } from "./locator.ts";
import type { ModuleOptimizer } from "./optimizer.ts";
import type { TrainProgress } from "./progress.ts";
import { epochSteps, type PlannedStep, type RunContext } from "./run.ts";
import { type StepOutcome, trainStep } from "./step.ts";

/** A training run in progress: what it trains, where it writes, and its state (`state` is what checkpoints keep). */
export interface TrainerRun {
  ctx: RunContext;
  outDir: string;
  optimizer: ModuleOptimizer;
  progress: TrainProgress;
  /** The model's modules that have trainable variables. */
  moduleNames: string[];
  state: TrainerState;
  /** The run's NaN report: the first non-finite step's, else null until the run finishes. */
  nan: NanReport | null;
}

/** What an epoch's steps did, for its epoch record. */
export interface EpochTally {
  /** Steps planned for the epoch (its batches). */
  steps: number;
  /** Sum and count of the finite total losses. */
  lossSum: number;
  lossCount: number;
  skipped: number;
  patched: number;
  /** Steps with a non-finite loss or gradient. */
  nonfinite: number;
  /** Whether a step raised (`nan_policy: raise`): the epoch stopped there and the run diverged. */
  raised: boolean;
  /** `performance.now()` at the epoch's start. */
  started: number;
}

/** Runs the steps of the current epoch (`run.state.epoch`) of `stage`, advancing `run.state.globalStep`. */
export async function trainEpoch(run: TrainerRun, stage: string): Promise<EpochTally> {
  const { state } = run;
  const started = performance.now();
  const steps = epochSteps(run.ctx, { stage, epoch: state.epoch, firstStep: state.globalStep }, run.moduleNames);
  run.progress.startEpoch(stage, state.epoch, steps.length);
  const tally: EpochTally = {
    steps: steps.length,
    lossSum: 0,
    lossCount: 0,
    skipped: 0,
    patched: 0,
    nonfinite: 0,
    raised: false,
    started,
  };
  for (const planned of steps) {
    if (planned.active.length === 0) { // joint_finetune's other half for a model that has only one side
      state.globalStep++;
      continue;
    }
    const outcome = await trainStep(
      run.ctx.model,
      run.optimizer,
      planned.batch,
      run.ctx.config,
      planned.active,
      state.globalStep,
      { seed: planned.seed },
    );
    if (outcome.nonfinite.loss + outcome.nonfinite.grads > 0) {
      tally.nonfinite++;
      await recordNonfinite(run, stage, planned);
    }
    if (outcome.action === "skipped") tally.skipped++;
    if (outcome.action === "patched") tally.patched++;
    if (outcome.loss.total !== null) {
      tally.lossSum += outcome.loss.total;
      tally.lossCount++;
    }
    run.progress.step({
      loss: outcome.loss.total,
      lr: Object.values(outcome.lr)[0] ?? 0,
      stepsPerSecond: (planned.index + 1) / ((performance.now() - started) / 1000),
    });
    await logStep(run, stage, planned, outcome);
    if (outcome.action === "raised") {
      tally.raised = true;
      state.diverged = true;
      run.progress.endEpoch(`non-finite loss/gradients at step ${state.globalStep} (nan_policy: raise)`);
      if (run.nan) run.progress.log(run.nan.diagnosis);
      break;
    }
    state.globalStep++;
  }
  return tally;
}

/** Counts a non-finite step; the run's first one is replayed under the locator's probe into nan_report.json. */
async function recordNonfinite(run: TrainerRun, stage: string, planned: PlannedStep): Promise<void> {
  const { state, ctx } = run;
  state.nonfinite++;
  if (state.firstNonfinite !== null) return;
  const where = { step: state.globalStep, stage, seed: planned.seed };
  const probed = await probeStep(ctx.model, planned.batch, ctx.config, planned.active, where);
  state.firstNonfinite = probed.first;
  run.nan = nanReport(probed.first, probed.stats, batchLayout(planned.batch, ctx.config), 1);
  await writeNanReport(run.outDir, run.nan);
}

/** Appends the step record every `log_every` global steps and for every step the NaN guard acted on. */
async function logStep(run: TrainerRun, stage: string, planned: PlannedStep, outcome: StepOutcome): Promise<void> {
  const { state } = run;
  if (state.globalStep % run.ctx.config.log_every !== 0 && outcome.action === "ok") return;
  await appendRecord(run.outDir, {
    type: "step",
    stage,
    epoch: state.epoch,
    step: planned.index,
    global_step: state.globalStep,
    loss: outcome.loss,
    grad_norm: outcome.grad_norm,
    lr: outcome.lr,
    nonfinite: outcome.nonfinite,
    action: outcome.action === "raised" ? "skipped" : outcome.action,
  });
}

/** The progress line of an epoch record: loss, validation metric and HR@10 when validated, guard counts, time. */
export function epochLine(r: EpochRecord, metric: string): string {
  const loss = r.train_loss === null ? "nan" : r.train_loss.toFixed(4);
  const v = r.val
    ? ` val ${metric} ${r.val[metric as keyof Metrics].toFixed(4)} HR@10 ${r.val["HR@10"].toFixed(4)}`
    : "";
  const own = r.stage_val ? ` (stage's own ${metric} ${r.stage_val[metric as keyof Metrics].toFixed(4)})` : "";
  const guard = r.skipped_batches + r.patched_batches > 0
    ? ` (skipped ${r.skipped_batches}, patched ${r.patched_batches})`
    : "";
  return `${r.stage} epoch ${r.epoch}: loss ${loss}${v}${own}${guard} [${r.wall_s.toFixed(1)} s]`;
}
