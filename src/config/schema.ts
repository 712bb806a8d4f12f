/**
 * The experiment config: one flat object of keys, validated by zod.
 * Keys of the original UR4Rec project keep their names (sasrec_hidden_dim, stages, ...);
 * keys new to this kit are documented in configs/README.md.
 */
import { z } from "zod";

/** Training stages, in the original's order. */
export const STAGES = ["pretrain_sasrec", "pretrain_retriever", "joint_finetune", "end_to_end"] as const;
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

/**
 * Resource limits (configs/README.md, "Bounds"): the wasm backend has a 4 GiB heap, and an attention score
 * tensor is batch × heads × T × T floats, so T > 1024 or K > 1000 negatives overflow it (or take hours) long before
 * any useful setting; widths beyond these never fit a run on this kit either.
 */
export const LIMITS = {
  /**
   * Floats in SASRec's attention scores [batch, heads, T, T] (128 MiB). Measured on wasm (one step, several
   * such tensors alive): 32 × 1 × 1024² runs, 64 × 1 × 1024² ends in "memory access out of bounds".
   */
  attentionFloats: 2 ** 25,
  /**
   * Floats in the item embeddings of a training batch's positives and negatives [batch, T, 1 + K, d] (256 MiB).
   * Measured on wasm: 64 × 50 × 321 × 64 runs, 64 × 50 × 1001 × 64 ends in "null function" (an abort).
   */
  embeddingFloats: 2 ** 26,
  maxSeqLen: 1024,
  numNegatives: 1000,
  width: 4096,
  heads: 64,
  blocks: 16,
  batch: 8192,
  syntheticUsers: 100_000,
  /** The synthetic generator's title pool (src/data/synthetic.ts MAX_SYNTHETIC_ITEMS). */
  syntheticItems: 4096,
  candidates: 10_000,
  /** Init std above 1 overflows float32 scores after a few blocks (1e39 is Infinity in float32). */
  initStd: 1,
  /** Temperatures below this make logits overflow float32 (score / τ). */
  minTemperature: 1e-3,
  maxTemperature: 100,
  lossWeight: 100,
  steps: 10_000_000,
} as const;

/** An integer in [min, max]. */
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A (finite) number in [min, max]. */
const num = (min: number, max: number) => z.number().min(min).max(max);
const probability = num(0, 0.99);
const learningRate = z.number().positive().max(10);
const temperature = num(LIMITS.minTemperature, LIMITS.maxTemperature);
const lossWeight = num(0, LIMITS.lossWeight);
const width = int(1, LIMITS.width);

/** The keys, types and bounds of a config (cross-key rules are in `ConfigSchema`). */
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
  synthetic_items: int(20, LIMITS.syntheticItems).default(400),
  max_users: int(1, Number.MAX_SAFE_INTEGER).nullable().default(null),

  // --- texts ---
  user_text: z.enum(["shipped", "leak_free", "template", "none"]).default("leak_free"),
  item_text: z.enum(["shipped", "template"]).default("shipped"),
  text_encoder: z.enum(["tfidf", "precomputed"]).default("tfidf"),
  text_embedding_dim: width.default(64),
  text_embeddings_path: z.string().min(1).nullable().default(null),

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

  // --- retriever / MoE / fusion ---
  retriever_mode: z.enum(["faithful", "fixed"]).default("fixed"),
  retriever_output_dim: width.default(64),
  moe_num_heads: int(1, LIMITS.heads).default(4),
  moe_dropout: probability.default(0.1),
  moe_num_proxies: int(1, LIMITS.heads).default(4),
  retriever_temperature: temperature.default(0.07),
  router_temperature: temperature.default(1),
  moe_balance_weight: lossWeight.default(0.01),
  fusion_method: z.enum(["weighted", "learned"]).default("weighted"),
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

/** The keys of a config. */
type Keys = z.infer<typeof ConfigShape>;

/**
 * One rule between keys: `keys[0]` is where the error is reported, the other keys are involved (an error names
 * the source of the first key that was set). `check` returns the message when the config breaks the rule.
 */
interface CrossKeyRule {
  keys: (keyof Keys)[];
  /** The message when `c` breaks the rule, with the keys involved when they depend on `c`. */
  check(c: Keys): string | { message: string; keys: (keyof Keys)[] } | undefined;
}

const usesSasrec = (c: Keys) => c.model === "sasrec" || c.model === "ur4rec";
/** Stages that train the sequential side (SASRec / BPR-MF) of a model. */
const SEQUENTIAL_STAGES: readonly string[] = ["pretrain_sasrec", "joint_finetune", "end_to_end"];

/**
 * The first stage in which some training step of `c.model` computes only scores whose loss weight is 0, or
 * undefined. Mirrors src/train/stages.ts (which modules a stage trains) and src/models (which scores they give):
 * SASRec/BPR-MF give the `sasrec` term, the retriever the `retriever` term plus the MoE balance term (fixed mode,
 * weight > 0), and any step of `ur4rec` the `fused` term when its weight is > 0.
 */
function stageWithoutLoss(c: Keys): string | undefined {
  if (c.model === "pop") return undefined;
  const fused = c.model === "ur4rec" && c.fused_loss_weight > 0;
  const sequential = c.sasrec_loss_weight > 0 || fused;
  const retriever = c.model !== "ur4rec" ||
    (c.retriever_loss_weight > 0 || fused || (c.retriever_mode === "fixed" && c.moe_balance_weight > 0));
  const ok: Record<string, boolean> = {
    pretrain_sasrec: sequential,
    pretrain_retriever: c.model !== "ur4rec" || retriever, // skipped for models without a retriever
    joint_finetune: sequential && retriever,
    end_to_end: sequential || (c.model === "ur4rec" && retriever),
  };
  return c.stages.find((s) => !ok[s]);
}

/** A tensor a training or evaluation step holds: its size in floats, its limit, how it is made up. */
interface StepTensor {
  floats: number;
  limit: number;
  what: string;
  keys: (keyof Keys)[];
}

/** The largest tensors of a SASRec/BPR-MF step (none for `pop`; the retriever's are not estimated). */
function stepTensors(c: Keys): StepTensor[] {
  if (c.model === "pop") return [];
  const t = c.max_seq_len, d = c.sasrec_hidden_dim, k = c.num_negatives;
  const tensors: StepTensor[] = [{
    floats: c.batch_size * t * (1 + k) * d,
    limit: LIMITS.embeddingFloats,
    what: `item embeddings: batch_size ${c.batch_size} × max_seq_len ${t} × (1 + num_negatives ${k}) × ` +
      `sasrec_hidden_dim ${d}`,
    keys: ["num_negatives", "max_seq_len", "batch_size", "sasrec_hidden_dim"],
  }];
  if (usesSasrec(c)) {
    const b = Math.max(c.batch_size, c.eval_batch_size);
    tensors.push({
      floats: b * c.sasrec_num_heads * t * t,
      limit: LIMITS.attentionFloats,
      what: `attention scores: max(batch_size, eval_batch_size) ${b} × sasrec_num_heads ${c.sasrec_num_heads} × ` +
        `max_seq_len² ${t}²`,
      keys: ["max_seq_len", "batch_size", "eval_batch_size", "sasrec_num_heads"],
    });
  }
  return tensors;
}

/** The rules the models and the trainer would otherwise enforce at run time, after `--out` was written. */
export const CROSS_KEY_RULES: readonly CrossKeyRule[] = [
  {
    keys: ["sasrec_num_heads", "sasrec_hidden_dim"], // src/models/sasrec.ts: d is split into heads
    check: (c) =>
      usesSasrec(c) && c.sasrec_hidden_dim % c.sasrec_num_heads !== 0
        ? `sasrec_num_heads = ${c.sasrec_num_heads} must divide sasrec_hidden_dim = ${c.sasrec_hidden_dim}`
        : undefined,
  },
  {
    keys: ["moe_num_heads", "retriever_output_dim"], // src/models/retriever.ts: D is split into heads
    check: (c) =>
      c.model === "ur4rec" && c.retriever_output_dim % c.moe_num_heads !== 0
        ? `moe_num_heads = ${c.moe_num_heads} must divide retriever_output_dim = ${c.retriever_output_dim}`
        : undefined,
  },
  {
    keys: ["text_embeddings_path", "text_encoder"], // src/data/precomputed.ts reads vectors from this directory
    check: (c) =>
      c.text_encoder === "precomputed" && c.text_embeddings_path === null
        ? "text_encoder: precomputed needs text_embeddings_path (a directory of precomputed embeddings)"
        : undefined,
  },
  {
    keys: ["stages", "model"], // src/train/stages.ts: pretrain_retriever trains no module of these models
    check: (c) =>
      (c.model === "sasrec" || c.model === "bprmf") && !c.stages.some((s) => SEQUENTIAL_STAGES.includes(s))
        ? `model ${c.model} has no retriever, so stages [${c.stages.join(", ")}] would train nothing; ` +
          `add one of ${SEQUENTIAL_STAGES.join(", ")}`
        : undefined,
  },
  {
    // src/train/losses.ts: a step whose computed scores all have weight 0 has no loss
    keys: ["sasrec_loss_weight", "retriever_loss_weight", "fused_loss_weight", "moe_balance_weight", "stages", "model"],
    check: (c) => {
      const stage = stageWithoutLoss(c);
      if (stage === undefined) return undefined;
      const weights = c.model === "ur4rec"
        ? ["sasrec_loss_weight", "retriever_loss_weight", "fused_loss_weight"] as const
        : ["sasrec_loss_weight"] as const;
      const zero = weights.filter((k) => c[k] === 0).map((k) => `${k} = 0`).join(", ");
      return `stage ${stage} of model ${c.model} would have no loss term with a non-zero weight (${zero})`;
    },
  },
  {
    keys: ["max_seq_len", "num_negatives", "batch_size", "eval_batch_size", "sasrec_hidden_dim", "sasrec_num_heads"],
    check: (c) => {
      const big = stepTensors(c).find((x) => x.floats > x.limit);
      if (!big) return undefined;
      const [floats, limit] = [big.floats, big.limit].map((n) => n.toLocaleString("en-US"));
      const message = `a step would hold ${floats} floats of ${big.what}, more than the ${limit} the wasm heap ` +
        "holds beside the rest of the step; lower one of these keys";
      return { message, keys: big.keys };
    },
  },
];

/** The schema of a resolved config: keys with bounds, then the cross-key rules. Defaults give a small SASRec. */
export const ConfigSchema = ConfigShape.superRefine((c, ctx) => {
  for (const rule of CROSS_KEY_RULES) {
    const broken = rule.check(c);
    if (broken === undefined) continue;
    const { message, keys } = typeof broken === "string" ? { message: broken, keys: rule.keys } : broken;
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
