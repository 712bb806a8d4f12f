/**
 * The staged trainer: runs the configured stages in order, each training its own modules, with the NaN guard,
 * validation every `eval_every` epochs, early stopping of each stage on its own `early_stop_metric` progress, the
 * best checkpoint of the whole run kept (the original reset it per stage, docs/findings.md#f7; see early_stop.ts), an
 * atomic checkpoint every epoch for `--resume`, and the test split evaluated once with the best weights. Writes
 * metrics.jsonl, nan_report.json and summary.json.
 *
 * Read top to bottom: `train` (prepare, write config.yaml, record a failure) -> `runStages` -> `runStage` per stage ->
 * per epoch `trainEpoch` (epoch.ts), `validate`, `checkpoint` -> `finish`. The state they advance is one explicit
 * `TrainerState` (checkpoint.ts; what `--resume` restores) inside a `TrainerRun` (epoch.ts).
 */
import { configToYaml } from "../config/load.ts";
import { evalOptions, optimizerOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import { trainBatches } from "../data/batches.ts";
import { dataSummary } from "../data/warnings.ts";
import { evaluate } from "../eval/evaluate.ts";
import { runSlices } from "../eval/slices.ts";
import { loadWeights, saveWeights } from "../models/checkpoint.ts";
import type { Recommender } from "../models/types.ts";
import { runPath } from "../run/files.ts";
import { readNanReport, readRunSummary, writeNanReport, writeRunSummary } from "../run/json_files.ts";
import { appendRecord } from "../run/metrics.ts";
import type { EpochRecord, Metrics, ResumeChange, RunSummary } from "../run/records.ts";
import { UserError } from "../util/errors.ts";
import { appendText, exists, makeDir, onPath, writeFileAtomic } from "../util/fs.ts";
import { freshState, recoverRunDirs, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { recordValidation, startStage } from "./early_stop.ts";
import { epochLine, trainEpoch, type TrainerRun } from "./epoch.ts";
import { batchLayout, emptyLayout, nanReport } from "./locator.ts";
import { ModuleOptimizer } from "./optimizer.ts";
import { explainOutOfMemory } from "./oom.ts";
import { TrainProgress } from "./progress.ts";
import { epochRng, plannedSteps, prepareRun, type RunContext, trainableModules } from "./run.ts";
import { BEST_MARKER, checkResume, clearRunFiles, savedConfigIs } from "./run_guard.ts";
import { activeModules } from "./stages.ts";

/** Options of a training run. */
export interface TrainOptions {
  /**
   * Continue the run in `outDir` from its checkpoint (see run_guard.ts `checkResume`: a complete checkpoint and the
   * same config up to the safe keys are required). Without it the run starts over: the run files of `outDir` are
   * removed once the data and model are ready (the CLI refuses such a directory unless `--force`).
   */
  resume?: boolean;
  /** No progress output. */
  quiet?: boolean;
  /** Called after each epoch record (notebooks use it for live curves). */
  onEpoch?: (record: EpochRecord) => void;
}

/**
 * Trains (or, for parameter-free baselines, just evaluates) the configured model into `outDir`. Nothing is written
 * before the resume checks pass and the data and model are ready; from then on a failure writes summary.json with
 * status "failed" and the error before it is rethrown (an allocation failure becomes a `UserError` naming the
 * settings, oom.ts).
 */
export async function train(config: Config, outDir: string, opts: TrainOptions = {}): Promise<RunSummary> {
  const changes = opts.resume ? await checkResume(outDir, config) : [];
  let ctx: RunContext | undefined;
  let writing = false;
  try {
    ctx = await prepareRun(config);
    let recovered: string[] = [];
    let finished = false;
    if (opts.resume) {
      recovered = await recoverRunDirs(outDir);
      finished = await hasFinished(outDir);
      await removeFile(runPath(outDir, "summary")); // a run that goes on has no final result yet
    } else await clearRunFiles(outDir);
    await makeDir(outDir);
    writing = true;
    if (!(await savedConfigIs(outDir, config))) await writeFileAtomic(runPath(outDir, "config"), configToYaml(config));
    return await runStages(ctx, outDir, { ...opts, changes, recovered, finished });
  } catch (err) {
    const error = explainOutOfMemory(err, config, ctx?.dataset.numItems);
    throw writing ? await recordFailure(outDir, config, error) : error;
  } finally {
    ctx?.model.dispose();
  }
}

/**
 * Records a failed run in `<outDir>/summary.json` and returns the error to throw: `error` itself, or, when the
 * summary cannot be written either (a full disk, a vanished directory), a user error that says so too.
 */
async function recordFailure(outDir: string, config: Config, error: unknown): Promise<unknown> {
  const message = error instanceof UserError ? error.message : String(error);
  const summary: Partial<RunSummary> = {
    status: "failed",
    model: config.model,
    dataset: config.dataset,
    seed: config.seed,
    error: message,
  };
  try {
    await writeRunSummary(outDir, summary);
    return error;
  } catch (writeError) {
    const why = writeError instanceof Error ? writeError.message : String(writeError);
    if (error instanceof UserError) return new UserError(`${message} (and the failure is not recorded: ${why})`);
    console.error(`note: the failure is not recorded: ${why}`);
    return error;
  }
}

interface StageOptions extends TrainOptions {
  /** Safe config changes of this resume. */
  changes: ResumeChange[];
  /** Checkpoint folders this resume put back (see `recoverRunDirs`). */
  recovered: string[];
  /** The run had finished (completed or diverged) before this resume, which then only evaluates it again. */
  finished: boolean;
}

/** Whether `outDir/summary.json` records a finished run (completed or diverged). */
async function hasFinished(outDir: string): Promise<boolean> {
  const status = (await readRunSummary(outDir).catch(() => undefined))?.status;
  return status === "completed" || status === "diverged";
}

/** The loop: stages, each a sequence of epochs (trainEpoch, validate, checkpoint), then `finish`. */
async function runStages(ctx: RunContext, outDir: string, opts: StageOptions): Promise<RunSummary> {
  const run = await startRun(ctx, outDir, opts);
  const { state } = run;
  const sessionStart = performance.now() - state.wallSeconds * 1000;
  const stages = run.moduleNames.length === 0 ? [] : ctx.config.stages;
  const stepsBefore = state.globalStep;
  while (state.stageIndex < stages.length && !state.diverged) {
    await runStage(run, stages[state.stageIndex], sessionStart, opts);
    state.stageIndex++;
    state.epoch = 0;
  }
  // A finished run resumed with nothing left to train only evaluates its best weights again: it was not interrupted
  // and did not continue (a finished run given a larger budget, the next rung of a sweep, does continue).
  const continued = !opts.finished || state.globalStep > stepsBefore;
  return await finish(run, { sessionStart, resumed: Boolean(opts.resume) && continued });
}

/** The run's optimizer, progress and state: fresh, or restored from the checkpoint on `--resume`. */
async function startRun(ctx: RunContext, outDir: string, opts: StageOptions): Promise<TrainerRun> {
  const progress = new TrainProgress(opts.quiet);
  const moduleNames = trainableModules(ctx.model);
  const stageCount = moduleNames.length === 0 ? 0 : ctx.config.stages.length;
  const optimizer = new ModuleOptimizer(ctx.model.modules(), optimizerOptions(ctx.config), {
    totalSteps: plannedSteps(ctx, stageCount),
  });
  const run: TrainerRun = { ctx, outDir, optimizer, progress, moduleNames, state: freshState(), nan: null };
  const metricsPath = runPath(outDir, "metrics");
  if (!opts.resume) {
    await appendText(metricsPath, "");
    return run;
  }
  const state = run.state = await restoreCheckpoint(outDir, ctx, optimizer);
  await truncateFile(metricsPath, state.metricsBytes);
  state.resumeChanges.push(...opts.changes.map((c) => ({ ...c, at_step: state.globalStep })));
  state.recovered.push(...opts.recovered);
  for (const line of opts.recovered) progress.log(line);
  progress.log(`resumed from ${outDir}/checkpoint at stage ${state.stageIndex}, epoch ${state.epoch}`);
  for (const c of opts.changes) progress.log(`resume: ${c.key} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  run.nan = await readNanReport(outDir) ?? null;
  return run;
}

/**
 * The epochs of one stage from `state.epoch` on, until `epochs_per_stage`, an early stop or divergence. A stage
 * that starts at epoch 0 starts its early-stopping counters over; a stage with no trainable module is skipped.
 */
async function runStage(run: TrainerRun, stage: string, sessionStart: number, opts: TrainOptions): Promise<void> {
  const { state, ctx: { config } } = run;
  if (state.epoch === 0) Object.assign(state, startStage(state));
  const trains = (step: number) => activeModules(stage, step, run.moduleNames).length > 0;
  if (!trains(0) && !trains(1)) return;
  while (state.epoch < config.epochs_per_stage && !state.diverged) {
    const tally = await trainEpoch(run, stage);
    if (tally.raised) return;
    state.skipped += tally.skipped;
    state.patched += tally.patched;
    if (config.nan_policy === "skip" && tally.nonfinite === tally.steps && tally.steps > 0) {
      state.diverged = true; // nothing was applied this epoch (zero patches and applies every batch)
      run.progress.log(`every batch of ${stage} epoch ${state.epoch} was non-finite: the run diverged`);
    }
    const val = await validate(run, stage);
    const record: EpochRecord = {
      type: "epoch",
      stage,
      epoch: state.epoch,
      global_step: state.globalStep,
      train_loss: tally.lossCount > 0 ? tally.lossSum / tally.lossCount : null,
      val: val?.metrics ?? null,
      ...(val?.stageMetrics ? { stage_val: val.stageMetrics } : {}),
      val_nonfinite: val?.nonfinite ?? 0,
      skipped_batches: tally.skipped,
      patched_batches: tally.patched,
      wall_s: (performance.now() - tally.started) / 1000,
    };
    await appendRecord(run.outDir, record);
    opts.onEpoch?.(record);
    run.progress.endEpoch(epochLine(record, config.early_stop_metric));
    const stop = state.badEvals >= config.patience; // the stage's own progress (early_stop.ts)
    if (stop) await handOver(run, stage); // before the checkpoint, which must hold what the next stage starts from
    if (config.checkpoint_every_epoch) await checkpoint(run, stop, sessionStart);
    if (stop) {
      run.progress.log(`early stop: ${config.early_stop_metric} did not improve for ${config.patience} evaluation(s)`);
      return;
    }
    state.epoch++;
  }
  if (!state.diverged) await handOver(run, stage); // the budget is used up (again on a resume at this point: same)
}

/**
 * Whether each stage hands the next one the weights of its best validation on its own metric rather than its last:
 * the residual recipe's rule (its stages train disjoint modules, so a stage's best weights are its modules' best and
 * the others' unchanged). Other recipes keep the original's last weights.
 */
function handsOverBest(config: Config): boolean {
  return config.model === "ur4rec" && config.fusion_method === "residual";
}

/** Ends a stage: under `handsOverBest`, the weights of its best validation (`stage_best/`) are loaded. */
async function handOver(run: TrainerRun, stage: string): Promise<void> {
  const dir = runPath(run.outDir, "stageBest");
  if (!handsOverBest(run.ctx.config) || !(await exists(`${dir}/${BEST_MARKER}`))) return;
  await loadWeights(run.ctx.model, dir);
  run.progress.log(`${stage}: the next stage starts from this stage's best validation (${dir})`);
}

/**
 * Evaluates the validation split when due (every `eval_every` epochs and at a stage's last epoch, unless the run
 * diverged), records it for early stopping and saves the weights of a new best into `best/`; null when not due. A
 * stage whose model names a `stageValidator` stops on that recommender's validation (`stageMetrics`) while the run's
 * best checkpoint still follows the model's.
 */
async function validate(
  run: TrainerRun,
  stage: string,
): Promise<{ metrics: Metrics; nonfinite: number; stageMetrics: Metrics | null } | null> {
  const { state, ctx } = run;
  const epochs = state.epoch + 1;
  const due = epochs % ctx.config.eval_every === 0 || epochs === ctx.config.epochs_per_stage;
  if (state.diverged || !due) return null;
  const metric = ctx.config.early_stop_metric;
  const result = await evaluateSplit(ctx, "val");
  const validator = ctx.model.stageValidator?.(stage);
  const own = validator ? await evaluateSplit(ctx, "val", validator) : null;
  const at = { stage, epoch: state.epoch };
  const outcome = recordValidation(state, at, result.metrics[metric], own?.metrics[metric]);
  Object.assign(state, outcome.state);
  if (outcome.newBest) await saveWeights(ctx.model, runPath(run.outDir, "best"));
  if (outcome.stageImproved && handsOverBest(ctx.config)) {
    await saveWeights(ctx.model, runPath(run.outDir, "stageBest"));
  }
  return { ...result, stageMetrics: own?.metrics ?? null };
}

/**
 * Saves the checkpoint for `--resume` after an epoch. An early stop closes the stage (its counters start over on
 * resume); a stage that used up its budget stays open at epoch = epochs_per_stage, so a resume with a larger
 * epochs_per_stage continues it (sweep rungs).
 */
async function checkpoint(run: TrainerRun, stop: boolean, sessionStart: number): Promise<void> {
  const { state, outDir } = run;
  const next = { ...state, epoch: state.epoch + 1 };
  if (stop) Object.assign(next, { stageIndex: state.stageIndex + 1, epoch: 0 });
  const metricsPath = runPath(outDir, "metrics");
  next.metricsBytes = (await onPath(metricsPath, "read", () => Deno.stat(metricsPath))).size;
  next.wallSeconds = (performance.now() - sessionStart) / 1000;
  await saveCheckpoint(outDir, run.ctx, run.optimizer, next);
}

/**
 * Ends the run: the best weights back, validation and test evaluated once (not after divergence) and sliced by target
 * popularity and history length (eval/slices.ts), the NaN report of an all-finite run, then summary.json. Disposes
 * the optimizer.
 */
async function finish(
  run: TrainerRun,
  clock: { sessionStart: number; resumed: boolean },
): Promise<RunSummary> {
  const { state, ctx, outDir } = run;
  const { config, model } = ctx;
  const best = runPath(outDir, "best");
  if (!state.diverged && await exists(`${best}/${BEST_MARKER}`)) await loadWeights(model, best);
  const val = state.diverged ? null : await evaluateSplit(ctx, "val");
  const test = state.diverged ? null : await evaluateSplit(ctx, "test");
  if (run.nan === null) {
    const layoutBatch = trainBatches(ctx.dataset, config, epochRng(config.seed, "layout", 0)).next().value;
    const layout = layoutBatch ? batchLayout(layoutBatch, config) : emptyLayout(config);
    run.nan = nanReport(null, [], layout, state.globalStep);
    await writeNanReport(outDir, run.nan);
  }
  run.optimizer.dispose();
  const wall = (performance.now() - clock.sessionStart) / 1000;
  const summary: RunSummary = {
    status: state.diverged ? "diverged" : "completed",
    model: config.model,
    dataset: config.dataset,
    seed: config.seed,
    val: val?.metrics ?? null,
    test: test?.metrics ?? null,
    best: state.best,
    nonfinite_batches: state.nonfinite,
    skipped_batches: state.skipped,
    patched_batches: state.patched,
    eval_nonfinite: { val: val?.nonfinite ?? 0, test: test?.nonfinite ?? 0 },
    slices: val && test
      ? runSlices(ctx.dataset, config.history_buckets, { val: val.perUser, test: test.perUser })
      : null,
    first_nonfinite: state.firstNonfinite,
    parameters: model.parameterCounts(),
    steps: state.globalStep,
    wall_time_s: wall,
    steps_per_s: state.globalStep / Math.max(1e-9, wall), // over the whole run, resumed sessions included
    resumed: clock.resumed,
    resume_changes: state.resumeChanges,
    recovered: state.recovered,
    error: null,
    data: dataSummary(config, ctx.dataset, ctx.texts),
  };
  await writeRunSummary(outDir, summary);
  return summary;
}

function evaluateSplit(ctx: RunContext, split: "val" | "test", model: Recommender = ctx.model) {
  return evaluate(model, split === "val" ? ctx.val : ctx.test, {
    ...evalOptions(ctx.config),
    itemExists: ctx.dataset.itemExists,
  });
}

async function removeFile(path: string): Promise<void> {
  if (await exists(path)) await onPath(path, "remove", () => Deno.remove(path));
}

async function truncateFile(path: string, size: number): Promise<void> {
  if (!(await exists(path))) return;
  await onPath(path, "truncate", () => Deno.truncate(path, size));
}
