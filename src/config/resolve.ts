/**
 * The flat config resolved into the options of one component, with unprefixed names, so a component reads its own
 * settings instead of the whole `Config`. Keys of one component that default to another's value (BPR-MF's
 * `bprmf_*`, null = the `sasrec_*` value, as the original project used SASRec's keys for BPR-MF) resolve here.
 */
import type { Config } from "./schema.ts";

/** BPR-MF's embedding width `dim` and the std of its Normal(0, std) init. */
export interface BprMfOptions {
  dim: number;
  initStd: number;
}

/** BPR-MF's options: `bprmf_dim` / `bprmf_init_std`, else `sasrec_hidden_dim` / `sasrec_init_std`. */
export function bprMfOptions(
  c: Pick<Config, "bprmf_dim" | "bprmf_init_std" | "sasrec_hidden_dim" | "sasrec_init_std">,
): BprMfOptions {
  return { dim: c.bprmf_dim ?? c.sasrec_hidden_dim, initStd: c.bprmf_init_std ?? c.sasrec_init_std };
}

/** SASRec's options (src/models/sasrec.ts). */
export interface SasRecOptions {
  /** `sasrec_hidden_dim`: the embedding and state width d. */
  hiddenDim: number;
  /** `sasrec_num_blocks`: the number of Transformer blocks. */
  numBlocks: number;
  /** `sasrec_num_heads`: attention heads per block; must divide d. */
  numHeads: number;
  /** `sasrec_dropout`: the dropout rate of embeddings, attention and feed-forward outputs. */
  dropout: number;
  /** `sasrec_init_std`: the std of the Normal(0, std) init of embeddings. */
  initStd: number;
  /** `sasrec_ffn_dim`, else d: the feed-forward inner width. */
  ffnDim: number;
  /** `attention_mask`: how padded keys are masked. */
  attentionMask: Config["attention_mask"];
  /** `norm`: post- or pre-LayerNorm blocks. */
  norm: Config["norm"];
  /** `emb_scale`: multiply item embeddings by sqrt(d). */
  embScale: boolean;
  /** `state_position`: which position's hidden state is the user state. */
  statePosition: Config["state_position"];
  /** `nan_to_zero`: replace NaNs by 0 after each sublayer (the NaN investigation's hook). */
  nanToZero: boolean;
  /** `max_seq_len`: the window T, the number of position embeddings. */
  maxSeqLen: number;
  /** `text_use` (null = `none`): how item texts enter SASRec (`embedding_init`, `side_feature`, or not at all). */
  textUse: NonNullable<Config["text_use"]>;
}

/** SASRec's options from the `sasrec_*` keys, `attention_mask`, `norm`, `emb_scale`, `state_position`, ... */
export function sasRecOptions(
  c: Pick<
    Config,
    | "sasrec_hidden_dim"
    | "sasrec_num_blocks"
    | "sasrec_num_heads"
    | "sasrec_dropout"
    | "sasrec_init_std"
    | "sasrec_ffn_dim"
    | "attention_mask"
    | "norm"
    | "emb_scale"
    | "state_position"
    | "nan_to_zero"
    | "max_seq_len"
    | "text_use"
  >,
): SasRecOptions {
  return {
    hiddenDim: c.sasrec_hidden_dim,
    numBlocks: c.sasrec_num_blocks,
    numHeads: c.sasrec_num_heads,
    dropout: c.sasrec_dropout,
    initStd: c.sasrec_init_std,
    ffnDim: c.sasrec_ffn_dim ?? c.sasrec_hidden_dim,
    attentionMask: c.attention_mask,
    norm: c.norm,
    embScale: c.emb_scale,
    statePosition: c.state_position,
    nanToZero: c.nan_to_zero,
    maxSeqLen: c.max_seq_len,
    textUse: c.text_use ?? "none",
  };
}

/** The MoE text retriever's options (src/models/retriever.ts). */
export interface RetrieverOptions {
  /** `retriever_mode`: `faithful` (the original, frozen item descriptions) or `fixed` (the repairs). */
  mode: Config["retriever_mode"];
  /** `retriever_output_dim`: the retriever width D. */
  outputDim: number;
  /** `moe_num_heads`: attention heads of the MoE block; must divide D. */
  numHeads: number;
  /** `moe_dropout`: the dropout rate in the retriever. */
  dropout: number;
  /** `moe_num_proxies`: learned proxy tokens of the MoE block. */
  numProxies: number;
  /** `retriever_temperature`: τ, the divisor of the cosine scores. */
  temperature: number;
  /** `router_temperature`: the router softmax temperature (used in `fixed` mode only). */
  routerTemperature: number;
  /** `moe_balance_weight`: the weight of the MoE load-balancing term (`fixed` mode only). */
  balanceWeight: number;
  /** `user_text` is not `none`: the user vector includes the projection of the user's own text. */
  useUserText: boolean;
}

/** The retriever's options from `retriever_mode`, `retriever_output_dim`, the `moe_*` keys and `user_text`. */
export function retrieverOptions(
  c: Pick<
    Config,
    | "retriever_mode"
    | "retriever_output_dim"
    | "moe_num_heads"
    | "moe_dropout"
    | "moe_num_proxies"
    | "retriever_temperature"
    | "router_temperature"
    | "moe_balance_weight"
    | "user_text"
  >,
): RetrieverOptions {
  return {
    mode: c.retriever_mode,
    outputDim: c.retriever_output_dim,
    numHeads: c.moe_num_heads,
    dropout: c.moe_dropout,
    numProxies: c.moe_num_proxies,
    temperature: c.retriever_temperature,
    routerTemperature: c.router_temperature,
    balanceWeight: c.moe_balance_weight,
    useUserText: c.user_text !== "none",
  };
}

/** UR4Rec's score fusion (src/models/ur4rec.ts). */
export interface FusionOptions {
  /** `fusion_method`: fixed weights, a learned gate, or a residual gate from zero. */
  method: Config["fusion_method"];
  /** The fixed weights (or the learned gate's start) of the SASRec and retriever scores. */
  weights: [number, number];
  /** The window T, which scales the gate's sequence-length feature. */
  maxSeqLen: number;
  /** The SASRec state width d, which scales the gate's state-norm feature (by sqrt(d)). */
  stateDim: number;
}

/** The fusion's options from `fusion_method`, `sasrec_weight` / `retriever_weight`, `max_seq_len` and d. */
export function fusionOptions(
  c: Pick<Config, "fusion_method" | "sasrec_weight" | "retriever_weight" | "max_seq_len" | "sasrec_hidden_dim">,
): FusionOptions {
  return {
    method: c.fusion_method,
    weights: [c.sasrec_weight, c.retriever_weight],
    maxSeqLen: c.max_seq_len,
    stateDim: c.sasrec_hidden_dim,
  };
}

/** Evaluation's options from the config (`evaluate` in src/eval/evaluate.ts adds the dataset's `itemExists`). */
export interface EvalOptions {
  /** `eval_protocol`: `full` ranking over every item, or the batch's `sampled100` candidates. */
  protocol: Config["eval_protocol"];
  /** `tie_policy`: the rank a target gets among competing items with the same score. */
  tiePolicy: Config["tie_policy"];
}

/** The evaluation options from `eval_protocol` and `tie_policy`. */
export function evalOptions(c: Pick<Config, "eval_protocol" | "tie_policy">): EvalOptions {
  return { protocol: c.eval_protocol, tiePolicy: c.tie_policy };
}

/** A resolved setting and the config key it came from (for messages). */
export interface Setting {
  key: keyof Config;
  value: number;
}

/**
 * The weight of the ID-side loss term (the `sasrec` score slot): `bprmf_loss_weight` for model `bprmf` when set,
 * else `sasrec_loss_weight`.
 */
export function idLossWeight(c: Pick<Config, "model" | "sasrec_loss_weight" | "bprmf_loss_weight">): Setting {
  return c.model === "bprmf" && c.bprmf_loss_weight !== null
    ? { key: "bprmf_loss_weight", value: c.bprmf_loss_weight }
    : { key: "sasrec_loss_weight", value: c.sasrec_loss_weight };
}

/** The training objective's options (`totalLoss` in src/train/losses.ts). */
export interface LossOptions {
  /** `loss`: the loss on the SASRec (ID-side) and fused scores. */
  loss: Config["loss"];
  /** `retriever_loss`: the loss on the retriever scores. */
  retrieverLoss: Config["retriever_loss"];
  /** `softmax_temperature`: divides the logits of the `softmax` loss on the SASRec and fused scores. */
  softmaxTemperature: number;
  /** The weight of the ID-side (`sasrec` slot) term, as `idLossWeight` resolves it. */
  idWeight: number;
  /** `retriever_loss_weight`: the weight of the retriever term. */
  retrieverWeight: number;
  /** `fused_loss_weight`: the weight of the fused-score term. */
  fusedWeight: number;
}

/** The loss options from `loss`, `retriever_loss`, `softmax_temperature` and the `*_loss_weight` keys. */
export function lossOptions(
  c: Pick<
    Config,
    | "loss"
    | "retriever_loss"
    | "softmax_temperature"
    | "model"
    | "sasrec_loss_weight"
    | "bprmf_loss_weight"
    | "retriever_loss_weight"
    | "fused_loss_weight"
  >,
): LossOptions {
  return {
    loss: c.loss,
    retrieverLoss: c.retriever_loss,
    softmaxTemperature: c.softmax_temperature,
    idWeight: idLossWeight(c).value,
    retrieverWeight: c.retriever_loss_weight,
    fusedWeight: c.fused_loss_weight,
  };
}

/** A learning-rate schedule's options (src/train/schedule.ts). */
export interface ScheduleOptions {
  /** `lr_schedule`: `constant`, `cosine` (to 0 at the run's last step) or `periodic_cosine` (the original's). */
  kind: Config["lr_schedule"];
  /** `warmup_steps`: the length of the linear warm-up, in steps (0 = none). */
  warmupSteps: number;
  /** `cosine_t_max`: the half period of `periodic_cosine`, in steps. */
  cosineTMax: number;
}

/** The schedule's options from `lr_schedule`, `warmup_steps` and `cosine_t_max`. */
export function scheduleOptions(c: Pick<Config, "lr_schedule" | "warmup_steps" | "cosine_t_max">): ScheduleOptions {
  return { kind: c.lr_schedule, warmupSteps: c.warmup_steps, cosineTMax: c.cosine_t_max };
}

/** The config keys the optimizer's options come from (`bprmf_lr` may be absent: BPR-MF then trains at `sasrec_lr`). */
export type OptimizerKeys =
  & Pick<
    Config,
    "sasrec_lr" | "retriever_lr" | "weight_decay" | "grad_clip" | "lr_schedule" | "warmup_steps" | "cosine_t_max"
  >
  & Partial<Pick<Config, "bprmf_lr">>;

/** The AdamW optimiser's options (`ModuleOptimizer` in src/train/optimizer.ts). */
export interface OptimizerOptions {
  /** The base learning rate of each module the optimiser can step (`moduleLearningRate`); others have none. */
  learningRates: Partial<Record<string, number>>;
  /** `weight_decay`: the decoupled weight decay (0 = off). */
  weightDecay: number;
  /** `grad_clip`: the per-module global-L2 gradient clip (0 = off). */
  gradClip: number;
  /** The learning-rate schedule applied to every base rate. */
  schedule: ScheduleOptions;
}

/** The modules that have a learning rate. */
const LEARNED_MODULES = ["sasrec", "bprmf", "retriever", "fusion"];

/** The optimiser's options from the `*_lr` keys, `weight_decay`, `grad_clip` and the schedule keys. */
export function optimizerOptions(c: OptimizerKeys): OptimizerOptions {
  const learningRates: Record<string, number> = {};
  for (const module of LEARNED_MODULES) {
    const rate = moduleLearningRate(c, module);
    if (rate) learningRates[module] = rate.value;
  }
  return { learningRates, weightDecay: c.weight_decay, gradClip: c.grad_clip, schedule: scheduleOptions(c) };
}

/** The learning rate of a module's parameters: `bprmf_lr` (when set) for BPR-MF's, else SASRec's or the retriever's. */
export function moduleLearningRate(
  c: Pick<Config, "sasrec_lr" | "retriever_lr"> & Partial<Pick<Config, "bprmf_lr">>,
  module: string,
): Setting | undefined {
  switch (module) {
    case "bprmf":
      return c.bprmf_lr ? { key: "bprmf_lr", value: c.bprmf_lr } : { key: "sasrec_lr", value: c.sasrec_lr };
    case "sasrec":
      return { key: "sasrec_lr", value: c.sasrec_lr };
    case "retriever":
    case "fusion":
      return { key: "retriever_lr", value: c.retriever_lr };
  }
  return undefined;
}
