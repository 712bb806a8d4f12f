/** Everything a run needs, prepared once from a config: backend, data, text vectors, model, eval batches. */
import { initBackend } from "../backend/backend.ts";
import type { Config } from "../config/schema.ts";
import { evalBatches, trainBatches } from "../data/batches.ts";
import { loadDataset } from "../data/dataset.ts";
import { loadTextVectors } from "../data/text_encoder.ts";
import type { Dataset, EvalBatch, TextVectors, TrainBatch } from "../data/types.ts";
import { createModel } from "../models/factory.ts";
import { effectiveTextUse } from "../models/text_features.ts";
import type { Recommender } from "../models/types.ts";
import { Rng } from "../rng.ts";
import { activeModules } from "./stages.ts";

/** A prepared run. */
export interface RunContext {
  config: Config;
  backend: string;
  dataset: Dataset;
  texts?: TextVectors;
  model: Recommender;
  val: EvalBatch[];
  test: EvalBatch[];
}

/**
 * Loads data (and the text vectors when the model uses texts: `effectiveTextUse` not `none`), builds the model with
 * the run seed, and fixes the eval batches.
 */
export async function prepareRun(config: Config): Promise<RunContext> {
  const backend = await initBackend(config.backend);
  const dataset = await loadDataset(config);
  const texts = effectiveTextUse(config) !== "none" ? await loadTextVectors(dataset, config) : undefined;
  const model = createModel(config, dataset, new Rng(config.seed).fork("init"), texts);
  return {
    config,
    backend,
    dataset,
    texts,
    model,
    val: evalBatches(dataset, config, "val"),
    test: evalBatches(dataset, config, "test"),
  };
}

/** The dropout seed of a global step: a pure function of the run seed and the step, so steps replay exactly. */
export function stepSeed(seed: number, globalStep: number): number {
  return new Rng(seed).fork(`step:${globalStep}`).nextUint32();
}

/** The batch-order RNG of one epoch of one stage (pure in seed, stage and epoch, so resume is exact). */
export function epochRng(seed: number, stage: string, epoch: number): Rng {
  return new Rng(seed).fork(`batches:${stage}:${epoch}`);
}

/** Names of the model's modules that have trainable variables. */
export function trainableModules(model: Recommender): string[] {
  const modules = model.modules();
  return Object.keys(modules).filter((m) => modules[m].length > 0);
}

/** Steps of a full run if no stage stops early (for schedules that anneal to the end). */
export function plannedSteps(ctx: RunContext, stageCount: number): number {
  const perEpoch = Math.min(
    Math.ceil(ctx.dataset.userIds.length / ctx.config.batch_size),
    ctx.config.max_steps_per_epoch ?? Infinity,
  );
  return Math.max(1, stageCount * ctx.config.epochs_per_stage * perEpoch);
}

/** One step of an epoch, planned before it runs. */
export interface PlannedStep {
  /** The step's batch, as the data layer made it (the trainer does not change it). */
  batch: TrainBatch;
  /** Position of the step in its epoch. */
  index: number;
  globalStep: number;
  /** The step's dropout seed (`stepSeed` of the global step), passed to the step. */
  seed: number;
  /** The modules the step trains (empty for `joint_finetune`'s other half of a model with one side). */
  active: string[];
}

/**
 * The steps of epoch `epoch` of `stage`, numbered from global step `firstStep`: the batch order of `epochRng`, the
 * dropout seed of `stepSeed` and the active modules of stages.ts. The one step iteration of the trainer and the NaN
 * investigation.
 */
export function epochSteps(
  ctx: RunContext,
  where: { stage: string; epoch: number; firstStep: number },
  modules: string[],
): PlannedStep[] {
  const { config } = ctx;
  const batches = trainBatches(ctx.dataset, config, epochRng(config.seed, where.stage, where.epoch));
  return [...batches].map((batch, index) => {
    const globalStep = where.firstStep + index;
    const active = activeModules(where.stage, globalStep, modules);
    return { batch, index, globalStep, seed: stepSeed(config.seed, globalStep), active };
  });
}
