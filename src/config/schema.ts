/**
 * The experiment config: one flat object of keys, validated by zod.
 * Keys of the original UR4Rec project keep their names (sasrec_hidden_dim, stages, ...);
 * keys new to this kit are documented in configs/README.md.
 */
import { z } from "zod";
import { LIMITS } from "./limits.ts";
import { crossKeyErrors } from "./rules.ts";

/** Training stages, in the original's order. */
export const STAGES = [
  "pretrain_sasrec",
  "pretrain_retriever",
  "joint_finetune",
  "end_to_end",
  "train_fusion",
] as const;
/** Metric names reported by evaluation. */
export const METRIC_NAMES = ["HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR"] as const;

/** tfjs backends a config can name. */
export const BACKENDS = ["wasm", "cpu", "webgpu"] as const;
/** Models a config can name. */
export const MODELS = ["sasrec", "ur4rec", "pop", "bprmf"] as const;
/** Datasets a config can name. */
export const DATASETS = ["ml-100k", "ml-1m", "synthetic"] as const;
/** Preprocessing presets. */
export const PRESETS = ["original", "sasrec"] as const;

/** The resource limits behind the bounds (limits.ts), for the CLIs and tests. */
export { LIMITS };

/** An integer in [min, max]. */
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A (finite) number in [min, max]. */
const num = (min: number, max: number) => z.number().min(min).max(max);
const probability = num(0, 0.99);
const learningRate = z.number().positive().max(10);
const temperature = num(LIMITS.minTemperature, LIMITS.maxTemperature);
const lossWeight = num(0, LIMITS.lossWeight);
const width = int(1, LIMITS.width);

/** The keys, types and bounds of a config (the cross-key rules are in rules.ts). */
const ConfigShape = z.object({
  // --- run ---
  seed: int(0, 2 ** 32 - 1).default(42),
  backend: z.enum(BACKENDS).default("wasm"),
  model: z.enum(MODELS).default("sasrec"),

  // --- data ---
  dataset: z.enum(DATASETS).default("synthetic"),
  data_dir: z.string().min(1).default("data"),
  llm_dir: z.string().min(1).nullable().default(null),
  preset: z.enum(PRESETS).default("sasrec"),
  split: z.enum(["loo", "original"]).default("loo"),
  padding: z.enum(["left", "right"]).default("left"),
  train_targets: z.enum(["all", "last"]).default("all"),
  max_seq_len: int(1, LIMITS.maxSeqLen).default(50),
  num_negatives: int(1, LIMITS.numNegatives).default(1),
  synthetic_users: int(1, LIMITS.syntheticUsers).default(300),
  synthetic_items: int(LIMITS.minSyntheticItems, LIMITS.syntheticItems).default(400),
  max_users: int(1, Number.MAX_SAFE_INTEGER).nullable().default(null),
  duplicate_ratings: z.enum(["error", "drop_keep_first"]).default("error"),

  // --- texts ---
  user_text: z.enum(["shipped", "leak_free", "template", "none"]).default("leak_free"),
  item_text: z.enum(["shipped", "template"]).default("shipped"),
  text_encoder: z.enum(["tfidf", "precomputed"]).default("tfidf"),
  text_embedding_dim: width.default(64),
  text_embeddings_path: z.string().min(1).nullable().default(null),
  text_use: z.enum(["none", "retriever_fusion", "embedding_init", "side_feature"]).nullable().default(null),

  // --- SASRec ---
  sasrec_hidden_dim: width.default(64),
  sasrec_num_blocks: int(1, LIMITS.blocks).default(2),
  sasrec_num_heads: int(1, LIMITS.heads).default(1),
  sasrec_dropout: probability.default(0.2),
  sasrec_init_std: z.number().positive().max(LIMITS.initStd).default(0.02),
  sasrec_ffn_dim: width.nullable().default(null),
  attention_mask: z.enum(["torch", "safe"]).default("safe"),
  norm: z.enum(["post", "pre"]).default("pre"),
  emb_scale: z.boolean().default(true),
  state_position: z.enum(["last", "stale"]).default("last"),
  nan_to_zero: z.boolean().default(false),

  // --- BPR-MF (null: the sasrec_* value, as in the original) ---
  bprmf_dim: width.nullable().default(null),
  bprmf_init_std: z.number().positive().max(LIMITS.initStd).nullable().default(null),
  bprmf_lr: learningRate.nullable().default(null),
  bprmf_loss_weight: lossWeight.nullable().default(null),

  // --- retriever / MoE / fusion ---
  retriever_mode: z.enum(["faithful", "fixed"]).default("fixed"),
  retriever_output_dim: width.default(64),
  moe_num_heads: int(1, LIMITS.heads).default(4),
  moe_dropout: probability.default(0.1),
  moe_num_proxies: int(1, LIMITS.heads).default(4),
  retriever_temperature: temperature.default(0.07),
  router_temperature: temperature.default(1),
  moe_balance_weight: lossWeight.default(0.01),
  fusion_method: z.enum(["weighted", "learned", "residual"]).default("weighted"),
  fused_loss_weight: lossWeight.default(0),
  sasrec_weight: lossWeight.default(0.4),
  retriever_weight: lossWeight.default(0.6),

  // --- loss ---
  loss: z.enum(["bpr_naive", "bpr_softplus", "bce", "softmax"]).default("bce"),
  retriever_loss: z.enum(["bce", "softmax"]).default("bce"),
  softmax_temperature: temperature.default(1),
  sasrec_loss_weight: lossWeight.default(0.5),
  retriever_loss_weight: lossWeight.default(0.5),

  // --- training ---
  stages: z.array(z.enum(STAGES)).min(1).default(["pretrain_sasrec"]),
  epochs_per_stage: int(1, 100_000).default(20),
  patience: int(1, 100_000).default(5),
  batch_size: int(1, LIMITS.batch).default(128),
  sasrec_lr: learningRate.default(1e-3),
  retriever_lr: learningRate.default(1e-3),
  weight_decay: num(0, 1).default(0),
  warmup_steps: int(0, LIMITS.steps).default(0),
  lr_schedule: z.enum(["constant", "cosine", "periodic_cosine"]).default("constant"),
  cosine_t_max: int(1, LIMITS.steps).default(1000),
  grad_clip: num(0, 1e6).default(1),
  nan_policy: z.enum(["raise", "skip", "zero"]).default("raise"),
  max_steps_per_epoch: int(1, LIMITS.steps).nullable().default(null),
  log_every: int(1, LIMITS.steps).default(10),
  checkpoint_every_epoch: z.boolean().default(true),

  // --- evaluation ---
  eval_protocol: z.enum(["full", "sampled100"]).default("full"),
  eval_candidates: int(2, LIMITS.candidates).default(100),
  eval_batch_size: int(1, LIMITS.batch).default(256),
  eval_every: int(1, 100_000).default(1),
  early_stop_metric: z.enum(METRIC_NAMES).default("NDCG@10"),
  tie_policy: z.enum(["pessimistic", "average", "optimistic"]).default("pessimistic"),

  // --- NaN investigation ---
  investigate_steps: int(1, 10_000).default(5),
}).strict();

/** The schema of a resolved config: keys with bounds, then the cross-key rules. Defaults give a small SASRec. */
export const ConfigSchema = ConfigShape.superRefine((c, ctx) => {
  for (const { message, keys } of crossKeyErrors(c)) {
    ctx.addIssue({ code: "custom", message, path: [keys[0]], params: { keys } });
  }
});

/** A fully resolved, validated config. */
export type Config = z.infer<typeof ConfigSchema>;
/** All valid config keys. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ConfigShape.shape);
/** A config with all defaults applied. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}
