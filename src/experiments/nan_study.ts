/**
 * The NaN study's configurations, shared by notebook 01 and the quick-start tour (`deno task tour`): the NaN-era
 * config (`configs/nan_repro.yaml`: left padding, PyTorch-style `-inf` attention mask, dropout 0.1, init std 0.5,
 * naive BPR; the original UR4Rec MoE setup) and the overrides that make it small enough for the built-in data.
 */
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

/** Path of the NaN-era config. */
export const NAN_REPRO_CONFIG: string = fileURLToPath(new URL("../../configs/nan_repro.yaml", import.meta.url));

/** Overrides of the `smoke` profile: the built-in synthetic dataset, a small model, two probed steps. */
export const NAN_SMOKE_SETS: readonly string[] = [
  "dataset=synthetic",
  "preset=sasrec",
  "split=loo",
  "sasrec_hidden_dim=32",
  "retriever_output_dim=32",
  "text_embedding_dim=32",
  "investigate_steps=2",
];

/**
 * Overrides for a short guarded training run of the first stage: non-finite batches are skipped (not applied) and
 * every step is recorded, so a loss chart shows each skipped step.
 */
export const GUARDED_TRAIN_SETS: readonly string[] = [
  "stages=[pretrain_sasrec]",
  "epochs_per_stage=5",
  "log_every=1",
  "nan_policy=skip",
];

/** The NaN-era config for a profile (`smoke` adds `NAN_SMOKE_SETS`), with `data_dir` and extra overrides. */
export function nanEraConfig(
  profile: "smoke" | "full",
  dataDir: string,
  sets: readonly string[] = [],
): Promise<Config> {
  const profileSets = profile === "full" ? [] : NAN_SMOKE_SETS;
  return loadConfig(NAN_REPRO_CONFIG, [`data_dir=${dataDir}`, ...profileSets, ...sets]);
}
