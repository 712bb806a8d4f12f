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

/** Default `history_buckets`: history-length slices < 30, 30-99 and >= 100 items (src/eval/slices.ts). */
export const DEFAULT_HISTORY_BUCKETS: readonly number[] = [30, 100];

/** tfjs backends a config can name. */
export const BACKENDS = ["wasm", "cpu", "webgpu"] as const;
/** Models a config can name. */
export const MODELS = ["sasrec", "ur4rec", "pop", "bprmf"] as const;
/** Datasets a config can name. */
export const DATASETS = ["ml-100k", "ml-1m", "synthetic"] as const;
/** Preprocessing presets. */
export const PRESETS = ["original", "sasrec"] as const;
/** Orders of a user's ratings that share a timestamp (src/data/ties.ts). */
export const TIE_ORDERS = ["item_id", "file_order", "shuffle"] as const;

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

/**
 * The keys of each section of configs/README.md, in config order: type, bounds, default and (`.describe`) meaning.
 * The README's key tables are generated from these (scripts/config_docs.ts); cross-key rules are in rules.ts.
 */
export const CONFIG_SECTIONS = {
  run: {
    seed: int(0, 2 ** 32 - 1).default(42).describe(
      "seeds init, dropout, negatives, shuffling, eval candidates; same seed + backend = same numbers; the generator takes 32 bits",
    ),
    backend: z.enum(BACKENDS).default("wasm").describe("tfjs backend; the default is `$UR4REC_BACKEND` when set"),
    model: z.enum(MODELS).default("sasrec").describe("what to train/evaluate; `ur4rec` is SASRec + MoE text retriever"),
  },
  data: {
    dataset: z.enum(DATASETS).default("synthetic").describe("`synthetic` is the built-in generated dataset (offline)"),
    data_dir: z.string().min(1).default("data").describe(
      "holds `ml-100k/`, `ml-1m/`, `synthetic/`, `llm_generated/`; the default is `$UR4REC_DATA_DIR` when set",
    ),
    llm_dir: z.string().min(1).nullable().default(null).describe(
      "`user_preferences.json`, `item_descriptions.json`; null = `<data_dir>/llm_generated`",
    ),
    preset: z.enum(PRESETS).default("sasrec").describe(
      "`original`: drop the 23 missing movies, rating >= 4, users with >= 5 positives (938 users); `sasrec`: all ratings are interactions, ties by item id",
    ),
    tie_order: z.enum(TIE_ORDERS).nullable().default(null).describe(
      "order of a user's equal timestamps: by item id, by ratings-file line, or seeded by `seed`; null = the preset's (`original`: `file_order`, `sasrec`: `item_id`)",
    ),
    split: z.enum(["loo", "original"]).default("loo").describe(
      "leave-one-out (last = test, second-to-last = val) or the original 80/10/10 prefix split",
    ),
    padding: z.enum(["left", "right"]).default("left").describe("where pads go in input sequences"),
    train_targets: z.enum(["all", "last"]).default("all").describe(
      "next-item target at every position (SASRec) or only the last one (the original)",
    ),
    max_seq_len: int(1, LIMITS.maxSeqLen).default(50).describe("T, the input window"),
    num_negatives: int(1, LIMITS.numNegatives).default(1).describe(
      "K training negatives per target, sampled excluding the user's history",
    ),
    synthetic_users: int(1, LIMITS.syntheticUsers).default(300).describe("users in the generated dataset"),
    synthetic_items: int(LIMITS.minSyntheticItems, LIMITS.syntheticItems).default(400).describe(
      "items in the generated dataset",
    ),
    max_users: int(1, Number.MAX_SAFE_INTEGER).nullable().default(null).describe(
      "keep only the first N users (quick profiles)",
    ),
    duplicate_ratings: z.enum(["error", "drop_keep_first"]).default("error").describe(
      "a (user, item) pair rated twice: `error` names the file, both lines, user and item; `drop_keep_first` keeps the first line (counted, warned)",
    ),
  },
  texts: {
    user_text: z.enum(["shipped", "leak_free", "template", "none"]).default("leak_free").describe(
      "`shipped` = the original LLM texts (leak val/test items, docs/findings.md#f1); `leak_free` = built from train-history item descriptions",
    ),
    item_text: z.enum(["shipped", "template"]).default("shipped").describe(
      "LLM item descriptions, or title/year/genre templates (offline)",
    ),
    text_encoder: z.enum(["tfidf", "precomputed"]).default("tfidf").describe(
      "built-in TF-IDF + truncated SVD (LSA), or vectors from `text_embeddings_path`",
    ),
    text_embedding_dim: width.default(64).describe("dimension of text vectors"),
    text_embeddings_path: z.string().min(1).nullable().default(null).describe(
      "directory of precomputed embeddings, items.npy or items.json and users.npy or users.json (e.g. MiniLM run " +
        "elsewhere); required by `text_encoder: precomputed`",
    ),
    text_use: z.enum(["none", "retriever_fusion", "embedding_init", "side_feature"]).nullable().default(null).describe(
      'how the model uses the item texts; null = its own (see "Ways to use item texts" below)',
    ),
  },
  sasrec: {
    sasrec_hidden_dim: width.default(64).describe("d"),
    sasrec_num_blocks: int(1, LIMITS.blocks).default(2).describe("Transformer blocks"),
    sasrec_num_heads: int(1, LIMITS.heads).default(1).describe(
      "attention heads (must divide d when the model has SASRec)",
    ),
    sasrec_dropout: probability.default(0.2).describe("embedding, attention, residual and FFN dropout"),
    sasrec_init_std: z.number().positive().max(LIMITS.initStd).default(0.02).describe(
      "std of the normal init of item/position embeddings (original: 0.1; NaN era: 0.5)",
    ),
    sasrec_ffn_dim: width.nullable().default(null).describe("FFN inner width; null = d"),
    attention_mask: z.enum(["torch", "safe"]).default("safe").describe(
      "`torch` reproduces PyTorch MHA with -inf masks (fully masked rows give NaN); `safe` never gives NaN",
    ),
    norm: z.enum(["post", "pre"]).default("pre").describe("LayerNorm placement (original: post; SASRec paper: pre)"),
    emb_scale: z.boolean().default(true).describe("multiply item embeddings by sqrt(d) (paper: yes; original: no)"),
    state_position: z.enum(["last", "stale"]).default("last").describe(
      "`stale` reproduces the original's wrong read position (docs/findings.md#f2), for reproduction only",
    ),
    nan_to_zero: z.boolean().default(false).describe(
      "the original's NaN -> 0 patches after attention/LN/FFN (reproduction only)",
    ),
  },
  bprmf: {
    bprmf_dim: width.nullable().default(null).describe(
      "width of the user and item embeddings; null = `sasrec_hidden_dim`",
    ),
    bprmf_init_std: z.number().positive().max(LIMITS.initStd).nullable().default(null).describe(
      "std of the normal init of the embeddings; null = `sasrec_init_std`",
    ),
    bprmf_lr: learningRate.nullable().default(null).describe(
      "AdamW learning rate of the `bprmf` module; null = `sasrec_lr`",
    ),
    bprmf_loss_weight: lossWeight.nullable().default(null).describe(
      "weight of BPR-MF's loss term (model `bprmf`); null = `sasrec_loss_weight`",
    ),
  },
  retriever: {
    retriever_mode: z.enum(["faithful", "fixed"]).default("fixed").describe(
      "original MoE retriever, or with docs/findings.md#f8 / #f9 repaired",
    ),
    retriever_output_dim: width.default(64).describe("D"),
    moe_num_heads: int(1, LIMITS.heads).default(4).describe(
      "heads in expert and proxy attention (must divide D for `ur4rec`)",
    ),
    moe_dropout: probability.default(0.1).describe("dropout in the retriever"),
    moe_num_proxies: int(1, LIMITS.heads).default(4).describe("learned proxy tokens"),
    retriever_temperature: temperature.default(0.07).describe("cosine score temperature τ"),
    router_temperature: temperature.default(1).describe("router softmax temperature (fixed mode)"),
    moe_balance_weight: lossWeight.default(0.01).describe("weight of the MoE load-balancing term (fixed mode)"),
    fusion_method: z.enum(["weighted", "learned", "residual"]).default("weighted").describe(
      "fixed weights, a learned gate, or the residual gate from zero (see the recipe below)",
    ),
    fused_loss_weight: lossWeight.default(0).describe(
      "weight of a loss on the fused score (the trained fused objective)",
    ),
    sasrec_weight: lossWeight.default(0.4).describe("fusion weight of the SASRec score"),
    retriever_weight: lossWeight.default(0.6).describe("fusion weight of the retriever score"),
  },
  loss: {
    loss: z.enum(["bpr_naive", "bpr_softplus", "bce", "softmax"]).default("bce").describe(
      "SASRec loss: original `-log(sigmoid(d)+1e-10)`, `softplus(-d)`, BCE over 1 + K, sampled softmax",
    ),
    retriever_loss: z.enum(["bce", "softmax"]).default("bce").describe("retriever loss"),
    softmax_temperature: temperature.default(1).describe("temperature of the sampled softmax"),
    sasrec_loss_weight: lossWeight.default(0.5).describe(
      "weight of the SASRec (ID-side) loss term (original: 0.5); see the cross-key rules above for 0",
    ),
    retriever_loss_weight: lossWeight.default(0.5).describe(
      "weight of the retriever loss term (original: 0.5); see the cross-key rules above for 0",
    ),
  },
  training: {
    stages: z.array(z.enum(STAGES)).min(1).default(["pretrain_sasrec"]).describe(
      "run in the given order; `sasrec`/`bprmf` need one stage besides `pretrain_retriever`",
    ),
    epochs_per_stage: int(1, 100_000).default(20).describe("max epochs per stage"),
    patience: int(1, 100_000).default(5).describe(
      "early-stopping patience in evaluations: a stage stops after this many validations in a row without a new best of its own",
    ),
    batch_size: int(1, LIMITS.batch).default(128).describe("training batch (users)"),
    sasrec_lr: learningRate.default(1e-3).describe(
      "AdamW learning rate of the SASRec module (and BPR-MF's when `bprmf_lr` is null)",
    ),
    retriever_lr: learningRate.default(1e-3).describe("AdamW learning rate of the retriever and fusion modules"),
    weight_decay: num(0, 1).default(0).describe("AdamW decoupled weight decay (original: 1e-5)"),
    warmup_steps: int(0, LIMITS.steps).default(0).describe("linear warm-up steps"),
    lr_schedule: z.enum(["constant", "cosine", "periodic_cosine"]).default("constant").describe(
      "after warm-up; `periodic_cosine` is the original's restart-free periodic cosine with `cosine_t_max`",
    ),
    cosine_t_max: int(1, LIMITS.steps).default(1000).describe("period of `periodic_cosine`"),
    grad_clip: num(0, 1e6).default(1).describe("global L2 clip per module; 0 = off"),
    nan_policy: z.enum(["raise", "skip", "zero"]).default("raise").describe(
      "on a non-finite loss/gradient: stop with a diagnosis, skip the batch (counted), or the original's NaN -> 0 patch (counted)",
    ),
    max_steps_per_epoch: int(1, LIMITS.steps).nullable().default(null).describe(
      "cap on steps per epoch (quick profiles)",
    ),
    log_every: int(1, LIMITS.steps).default(10).describe("steps between metrics.jsonl step records"),
    checkpoint_every_epoch: z.boolean().default(true).describe(
      "write `checkpoint/` atomically after every epoch (needed for `--resume`)",
    ),
  },
  evaluation: {
    eval_protocol: z.enum(["full", "sampled100"]).default("full").describe(
      "full ranking with history masked, or target + 99 fixed-seed negatives",
    ),
    eval_candidates: int(2, LIMITS.candidates).default(100).describe("candidates in the sampled protocol"),
    eval_batch_size: int(1, LIMITS.batch).default(256).describe("users per evaluation batch"),
    eval_every: int(1, 100_000).default(1).describe("epochs between validations"),
    early_stop_metric: z.enum(METRIC_NAMES).default("NDCG@10").describe(
      "validation metric for early stopping and checkpoint selection",
    ),
    tie_policy: z.enum(["pessimistic", "average", "optimistic"]).default("pessimistic").describe(
      "rank of a target tied with others (original: optimistic)",
    ),
    history_buckets: z.array(int(1, LIMITS.historyCut)).min(1).max(LIMITS.historyBuckets)
      .refine((cuts) => cuts.every((c, i) => i === 0 || c > cuts[i - 1]), "must be strictly increasing")
      .default([...DEFAULT_HISTORY_BUCKETS]).describe(
        "1-16 increasing history lengths (items) that cut the final evaluation's history slices: [30, 100] gives `hist_lt30`, `hist_30_99`, `hist_ge100` (see Slices)",
      ),
  },
  investigation: {
    investigate_steps: int(1, 10_000).default(5).describe("training steps the `investigate` command probes"),
  },
};

/** The keys of the original UR4Rec project (marked "(orig)" in configs/README.md). */
export const ORIGINAL_KEYS: readonly string[] = [
  "seed",
  "max_seq_len",
  "num_negatives",
  "text_embedding_dim",
  "sasrec_hidden_dim",
  "sasrec_num_blocks",
  "sasrec_num_heads",
  "sasrec_dropout",
  "retriever_output_dim",
  "moe_num_heads",
  "moe_dropout",
  "moe_num_proxies",
  "fusion_method",
  "sasrec_weight",
  "retriever_weight",
  "stages",
  "epochs_per_stage",
  "patience",
  "batch_size",
  "sasrec_lr",
  "retriever_lr",
];

/** The keys, types and bounds of a config (the cross-key rules are in rules.ts). */
const ConfigShape = z.object({
  ...CONFIG_SECTIONS.run,
  ...CONFIG_SECTIONS.data,
  ...CONFIG_SECTIONS.texts,
  ...CONFIG_SECTIONS.sasrec,
  ...CONFIG_SECTIONS.bprmf,
  ...CONFIG_SECTIONS.retriever,
  ...CONFIG_SECTIONS.loss,
  ...CONFIG_SECTIONS.training,
  ...CONFIG_SECTIONS.evaluation,
  ...CONFIG_SECTIONS.investigation,
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
