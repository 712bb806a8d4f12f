/**
 * The staged trainer: runs the configured stages in order, each training its own modules, with the NaN guard,
 * validation every `eval_every` epochs, early stopping of each stage on its own `early_stop_metric` progress, the
 * best checkpoint of the whole run kept (the original reset it per stage, docs/findings.md#f7; see early_stop.ts), an
 * atomic checkpoint every epoch for `--resume`, and the test split evaluated once with the best weights. Writes
 * metrics.jsonl, nan_report.json and summary.json.
 */
import { configToYaml } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { trainBatches } from "../data/batches.ts";
import { dataSummary } from "../data/warnings.ts";
import { evaluate } from "../eval/evaluate.ts";
import { loadWeights, saveWeights } from "../models/checkpoint.ts";
import { UserError } from "../util/errors.ts";
import { appendText, exists, makeDir, onPath, readJsonIfExists, writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { freshState, recoverRunDirs, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { recordValidation, startStage } from "./early_stop.ts";
import { batchLayout, emptyLayout, nanReport, probeStep } from "./locator.ts";
import { ModuleOptimizer } from "./optimizer.ts";
import { Progress } from "./progress.ts";
import { explainOutOfMemory } from "./oom.ts";
import type { EpochRecord, Metrics, NanReport, ResumeChange, RunSummary, StepRecord } from "./records.ts";
import { epochRng, prepareRun, type RunContext, stepSeed, trainableModules } from "./run.ts";
import { checkResume, clearRunFiles, RUN_FILES } from "./run_guard.ts";
import { activeModules } from "./stages.ts";
import { trainStep } from "./step.ts";

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
  const started = performance.now();
  const changes = opts.resume ? await checkResume(outDir, config) : [];
  let ctx: RunContext | undefined;
  let writing = false;
  try {
    ctx = await prepareRun(config);
    let recovered: string[] = [];
    if (opts.resume) {
      recovered = await recoverRunDirs(outDir);
      await removeFile(`${outDir}/${RUN_FILES.summary}`); // a run that goes on has no final result yet
    } else await clearRunFiles(outDir);
    await makeDir(outDir);
    writing = true;
    const yaml = configToYaml(config);
    const configPath = `${outDir}/${RUN_FILES.config}`;
    if (!(await exists(configPath)) || await onPath(configPath, "read", () => Deno.readTextFile(configPath)) !== yaml) {
      await writeFileAtomic(configPath, yaml);
    }
    return await runStages(ctx, outDir, { ...opts, changes, recovered }, started);
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
    await writeJsonAtomic(`${outDir}/${RUN_FILES.summary}`, summary);
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
}

async function runStages(ctx: RunContext, outDir: string, opts: StageOptions, started: number): Promise<RunSummary> {
  const { config, model } = ctx;
  const progress = new Progress(opts.quiet);
  const moduleNames = trainableModules(model);
  const stages = moduleNames.length === 0 ? [] : config.stages;
  const optimizer = new ModuleOptimizer(model.modules(), config, { totalSteps: plannedSteps(ctx, stages.length) });
  const metricsPath = `${outDir}/${RUN_FILES.metrics}`;
  let state = freshState();
  const resumed = Boolean(opts.resume);
  if (resumed) {
    state = await restoreCheckpoint(outDir, ctx, optimizer);
    await truncateFile(metricsPath, state.metricsBytes);
    state.resumeChanges.push(...opts.changes.map((c) => ({ ...c, at_step: state.globalStep })));
    state.recovered.push(...opts.recovered);
    for (const line of opts.recovered) progress.log(line);
    progress.log(`resumed from ${outDir}/checkpoint at stage ${state.stageIndex}, epoch ${state.epoch}`);
    for (const c of opts.changes) progress.log(`resume: ${c.key} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  } else {
    await appendText(metricsPath, "");
  }
  let nan = resumed ? await readJsonIfExists<NanReport>(`${outDir}/${RUN_FILES.nanReport}`) ?? null : null;
  const sessionStart = performance.now() - state.wallSeconds * 1000;
  const append = (record: StepRecord | EpochRecord) => appendText(metricsPath, JSON.stringify(record) + "\n");

  for (; state.stageIndex < stages.length && !state.diverged; state.stageIndex++, state.epoch = 0) {
    if (state.epoch === 0) Object.assign(state, startStage(state));
    const stage = stages[state.stageIndex];
    if (activeModules(stage, 0, moduleNames).length + activeModules(stage, 1, moduleNames).length === 0) continue;
    for (; state.epoch < config.epochs_per_stage && !state.diverged; state.epoch++) {
      const epochStart = performance.now();
      const batches = [...trainBatches(ctx.dataset, config, epochRng(config.seed, stage, state.epoch))];
      progress.startEpoch(stage, state.epoch, batches.length);
      let lossSum = 0, lossCount = 0, skipped = 0, patched = 0, bad = 0;
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i];
        batch.seed = stepSeed(config.seed, state.globalStep);
        const active = activeModules(stage, state.globalStep, moduleNames);
        if (active.length === 0) { // joint_finetune's other half for a model that has only one side
          state.globalStep++;
          continue;
        }
        const outcome = await trainStep(model, optimizer, batch, config, active, state.globalStep);
        const nonfinite = outcome.nonfinite.loss + outcome.nonfinite.grads > 0;
        if (nonfinite) {
          bad++;
          state.nonfinite++;
          if (state.firstNonfinite === null) {
            const probed = probeStep(model, batch, config, active, { step: state.globalStep, stage });
            state.firstNonfinite = probed.first;
            nan = nanReport(probed.first, probed.stats, batchLayout(batch, config), 1);
            await writeJsonAtomic(`${outDir}/${RUN_FILES.nanReport}`, nan);
          }
        }
        if (outcome.action === "skipped") skipped++;
        if (outcome.action === "patched") patched++;
        if (outcome.loss.total !== null) {
          lossSum += outcome.loss.total;
          lossCount++;
        }
        const elapsed = (performance.now() - epochStart) / 1000;
        progress.step({
          loss: outcome.loss.total,
          lr: Object.values(outcome.lr)[0] ?? 0,
          stepsPerSecond: (i + 1) / elapsed,
        });
        if (state.globalStep % config.log_every === 0 || outcome.action !== "ok") {
          await append({
            type: "step",
            stage,
            epoch: state.epoch,
            step: i,
            global_step: state.globalStep,
            loss: outcome.loss,
            grad_norm: outcome.grad_norm,
            lr: outcome.lr,
            nonfinite: outcome.nonfinite,
            action: outcome.action === "raised" ? "skipped" : outcome.action,
          });
        }
        if (outcome.action === "raised") {
          state.diverged = true;
          progress.endEpoch(`non-finite loss/gradients at step ${state.globalStep} (nan_policy: raise)`);
          if (nan) progress.log(nan.diagnosis);
          break;
        }
        state.globalStep++;
      }
      if (state.diverged) break;
      state.skipped += skipped;
      state.patched += patched;
      if (config.nan_policy === "skip" && bad === batches.length && batches.length > 0) {
        state.diverged = true; // nothing was applied this epoch (zero patches and applies every batch)
        progress.log(`every batch of ${stage} epoch ${state.epoch} was non-finite: the run diverged`);
      }
      let val: Metrics | null = null;
      let valNonfinite = 0;
      if (
        !state.diverged && ((state.epoch + 1) % config.eval_every === 0 || state.epoch + 1 === config.epochs_per_stage)
      ) {
        const result = await evaluateSplit(ctx, "val");
        val = result.metrics;
        valNonfinite = result.nonfinite;
        const outcome = recordValidation(state, { stage, epoch: state.epoch }, val[config.early_stop_metric]);
        Object.assign(state, outcome.state);
        if (outcome.newBest) await saveWeights(model, `${outDir}/best`);
      }
      const record: EpochRecord = {
        type: "epoch",
        stage,
        epoch: state.epoch,
        global_step: state.globalStep,
        train_loss: lossCount > 0 ? lossSum / lossCount : null,
        val,
        val_nonfinite: valNonfinite,
        skipped_batches: skipped,
        patched_batches: patched,
        wall_s: (performance.now() - epochStart) / 1000,
      };
      await append(record);
      opts.onEpoch?.(record);
      progress.endEpoch(epochLine(record, config.early_stop_metric));
      const stop = state.badEvals >= config.patience; // the stage's own progress (early_stop.ts)
      if (config.checkpoint_every_epoch) {
        const next = { ...state, epoch: state.epoch + 1 };
        // An early stop closes the stage (its counters start over on resume); a stage that used up its budget stays
        // open at epoch = epochs_per_stage, so a resume with a larger epochs_per_stage continues it (sweep rungs).
        if (stop) Object.assign(next, { stageIndex: state.stageIndex + 1, epoch: 0 });
        next.metricsBytes = (await onPath(metricsPath, "read", () => Deno.stat(metricsPath))).size;
        next.wallSeconds = (performance.now() - sessionStart) / 1000;
        await saveCheckpoint(outDir, ctx, optimizer, next);
      }
      if (stop) {
        progress.log(`early stop: ${config.early_stop_metric} did not improve for ${config.patience} evaluation(s)`);
        break;
      }
    }
  }

  if (!state.diverged && await exists(`${outDir}/best/manifest.json`)) await loadWeights(model, `${outDir}/best`);
  const val = state.diverged ? null : await evaluateSplit(ctx, "val");
  const test = state.diverged ? null : await evaluateSplit(ctx, "test");
  if (nan === null) {
    const layoutBatch = trainBatches(ctx.dataset, config, epochRng(config.seed, "layout", 0)).next().value;
    const layout = layoutBatch ? batchLayout(layoutBatch, config) : emptyLayout(config);
    nan = nanReport(null, [], layout, state.globalStep);
    await writeJsonAtomic(`${outDir}/${RUN_FILES.nanReport}`, nan);
  }
  optimizer.dispose();
  const wall = (performance.now() - sessionStart) / 1000;
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
    first_nonfinite: state.firstNonfinite,
    parameters: model.parameterCounts(),
    steps: state.globalStep,
    wall_time_s: wall,
    steps_per_s: state.globalStep / Math.max(1e-9, (performance.now() - started) / 1000),
    resumed,
    resume_changes: state.resumeChanges,
    recovered: state.recovered,
    error: null,
    data: dataSummary(config, ctx.dataset, ctx.texts),
  };
  await writeJsonAtomic(`${outDir}/${RUN_FILES.summary}`, summary);
  return summary;
}

/** Steps of a full run if no stage stops early (for schedules that anneal to the end). */
export function plannedSteps(ctx: RunContext, stageCount: number): number {
  const perEpoch = Math.min(
    Math.ceil(ctx.dataset.userIds.length / ctx.config.batch_size),
    ctx.config.max_steps_per_epoch ?? Infinity,
  );
  return Math.max(1, stageCount * ctx.config.epochs_per_stage * perEpoch);
}

function evaluateSplit(ctx: RunContext, split: "val" | "test") {
  return evaluate(ctx.model, split === "val" ? ctx.val : ctx.test, {
    protocol: ctx.config.eval_protocol,
    tiePolicy: ctx.config.tie_policy,
    itemExists: ctx.dataset.itemExists,
  });
}

function epochLine(r: EpochRecord, metric: string): string {
  const loss = r.train_loss === null ? "nan" : r.train_loss.toFixed(4);
  const v = r.val
    ? ` val ${metric} ${r.val[metric as keyof Metrics].toFixed(4)} HR@10 ${r.val["HR@10"].toFixed(4)}`
    : "";
  const guard = r.skipped_batches + r.patched_batches > 0
    ? ` (skipped ${r.skipped_batches}, patched ${r.patched_batches})`
    : "";
  return `${r.stage} epoch ${r.epoch}: loss ${loss}${v}${guard} [${r.wall_s.toFixed(1)} s]`;
}

async function removeFile(path: string): Promise<void> {
  if (await exists(path)) await onPath(path, "remove", () => Deno.remove(path));
}

async function truncateFile(path: string, size: number): Promise<void> {
  if (!(await exists(path))) return;
  await onPath(path, "truncate", () => Deno.truncate(path, size));
}
