/** Everything a run needs, prepared once from a config: backend, data, text vectors, model, eval batches. */
import { initBackend } from "../backend/backend.ts";
import type { Config } from "../config/schema.ts";
import { evalBatches } from "../data/batches.ts";
import { loadDataset } from "../data/dataset.ts";
import { loadTextVectors } from "../data/text_encoder.ts";
import type { Dataset, EvalBatch, TextVectors } from "../data/types.ts";
import { createModel } from "../models/factory.ts";
import { effectiveTextUse } from "../models/text_features.ts";
import type { Recommender } from "../models/types.ts";
import { Rng } from "../rng.ts";

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
