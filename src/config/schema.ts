/**
 * The experiment config: one flat object of keys, validated by zod.
 * Keys of the original UR4Rec project keep their names (sasrec_hidden_dim, stages, ...);
 * keys new to this kit are documented in configs/README.md.
 */
import { z } from "zod";

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

const positiveInt = z.number().int().positive();
const nonNegative = z.number().min(0);
const probability = z.number().min(0).max(0.99);
const learningRate = z.number().positive().max(10);

/** The schema of a resolved config. Defaults give a small, correct SASRec on the built-in dataset. */
export const ConfigSchema = z.object({
  // --- run ---
  seed: z.number().int().min(0).default(42),
  backend: z.enum(["wasm", "cpu", "webgpu"]).default("wasm"),
  model: z.enum(["sasrec", "ur4rec", "pop", "bprmf"]).default("sasrec"),

  // --- data ---
  dataset: z.enum(["ml-100k", "ml-1m", "synthetic"]).default("synthetic"),
  data_dir: z.string().default("data"),
  llm_dir: z.string().nullable().default(null),
  preset: z.enum(["original", "sasrec"]).default("sasrec"),
  split: z.enum(["loo", "original"]).default("loo"),
  padding: z.enum(["left", "right"]).default("left"),
  train_targets: z.enum(["all", "last"]).default("all"),
  max_seq_len: positiveInt.default(50),
  num_negatives: positiveInt.default(1),
  synthetic_users: positiveInt.default(300),
  synthetic_items: positiveInt.default(400),
  max_users: positiveInt.nullable().default(null),

  // --- texts ---
  user_text: z.enum(["shipped", "leak_free", "template", "none"]).default("leak_free"),
  item_text: z.enum(["shipped", "template"]).default("shipped"),
  text_encoder: z.enum(["tfidf", "precomputed"]).default("tfidf"),
  text_embedding_dim: positiveInt.default(64),
  text_embeddings_path: z.string().nullable().default(null),
  text_use: z.enum(["none", "retriever_fusion", "embedding_init", "side_feature"]).nullable().default(null),

  // --- SASRec ---
  sasrec_hidden_dim: positiveInt.default(64),
  sasrec_num_blocks: positiveInt.default(2),
  sasrec_num_heads: positiveInt.default(1),
  sasrec_dropout: probability.default(0.2),
  sasrec_init_std: z.number().positive().default(0.02),
  sasrec_ffn_dim: positiveInt.nullable().default(null),
  attention_mask: z.enum(["torch", "safe"]).default("safe"),
  norm: z.enum(["post", "pre"]).default("pre"),
  emb_scale: z.boolean().default(true),
  state_position: z.enum(["last", "stale"]).default("last"),
  nan_to_zero: z.boolean().default(false),

  // --- retriever / MoE / fusion ---
  retriever_mode: z.enum(["faithful", "fixed"]).default("fixed"),
  retriever_output_dim: positiveInt.default(64),
  moe_num_heads: positiveInt.default(4),
  moe_dropout: probability.default(0.1),
  moe_num_proxies: positiveInt.default(4),
  retriever_temperature: z.number().positive().default(0.07),
  router_temperature: z.number().positive().default(1),
  moe_balance_weight: nonNegative.default(0.01),
  fusion_method: z.enum(["weighted", "learned", "residual"]).default("weighted"),
  fused_loss_weight: nonNegative.default(0),
  sasrec_weight: z.number().default(0.4),
  retriever_weight: z.number().default(0.6),

  // --- loss ---
  loss: z.enum(["bpr_naive", "bpr_softplus", "bce", "softmax"]).default("bce"),
  retriever_loss: z.enum(["bce", "softmax"]).default("bce"),
  softmax_temperature: z.number().positive().default(1),
  sasrec_loss_weight: nonNegative.default(0.5),
  retriever_loss_weight: nonNegative.default(0.5),

  // --- training ---
  stages: z.array(z.enum(STAGES)).min(1).default(["pretrain_sasrec"]),
  epochs_per_stage: positiveInt.default(20),
  patience: positiveInt.default(5),
  batch_size: positiveInt.default(128),
  sasrec_lr: learningRate.default(1e-3),
  retriever_lr: learningRate.default(1e-3),
  weight_decay: nonNegative.default(0),
  warmup_steps: z.number().int().min(0).default(0),
  lr_schedule: z.enum(["constant", "cosine", "periodic_cosine"]).default("constant"),
  cosine_t_max: positiveInt.default(1000),
  grad_clip: nonNegative.default(1),
  nan_policy: z.enum(["raise", "skip", "zero"]).default("raise"),
  max_steps_per_epoch: positiveInt.nullable().default(null),
  log_every: positiveInt.default(10),
  checkpoint_every_epoch: z.boolean().default(true),

  // --- evaluation ---
  eval_protocol: z.enum(["full", "sampled100"]).default("full"),
  eval_candidates: positiveInt.default(100),
  eval_batch_size: positiveInt.default(256),
  eval_every: positiveInt.default(1),
  early_stop_metric: z.enum(METRIC_NAMES).default("NDCG@10"),
  tie_policy: z.enum(["pessimistic", "average", "optimistic"]).default("pessimistic"),

  // --- NaN investigation ---
  investigate_steps: positiveInt.default(5),
}).strict()
  // --- residual recipe (stage train_fusion): cross-key rules ---
  .superRefine((c, ctx) => {
    if (c.model !== "ur4rec" || !c.stages.includes("train_fusion")) return;
    if (c.fusion_method === "weighted") {
      ctx.addIssue({
        code: "custom",
        path: ["stages"],
        message:
          "stage train_fusion trains the fusion gate, but fusion_method=weighted has none (use learned or residual)",
      });
    } else if (c.fused_loss_weight === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["fused_loss_weight"],
        message: "stage train_fusion trains the fusion on the fused loss: expected fused_loss_weight > 0",
      });
    }
  })
  // --- text_use: which models each way of using texts applies to ---
  .superRefine((c, ctx) => {
    if (c.text_use === null) return;
    const allowed = {
      none: ["sasrec", "pop", "bprmf"],
      retriever_fusion: ["ur4rec"],
      embedding_init: ["sasrec"],
      side_feature: ["sasrec"],
    }[c.text_use];
    if (allowed.includes(c.model)) return;
    ctx.addIssue({
      code: "custom",
      path: ["text_use"],
      message: `text_use=${c.text_use} applies to model ${allowed.join(" | ")}, not model=${c.model}`,
    });
  });

/** A fully resolved, validated config. */
export type Config = z.infer<typeof ConfigSchema>;
/** All valid config keys. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ConfigSchema.shape);
/** A config with all defaults applied. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}
