/**
 * Rules between config keys, checked by `ConfigSchema` (schema.ts) after each key passed its own bounds: each mirrors
 * a check the models, the trainer or the wasm heap would otherwise fail at run time, after `--out` was written.
 */
import { LIMITS } from "./limits.ts";
import { idLossWeight } from "./resolve.ts";
import type { Config } from "./schema.ts";

/**
 * One rule between keys: `keys[0]` is where the error is reported, the other keys are involved (an error names
 * the source of the first key that was set). `check` returns the message when the config breaks the rule.
 */
interface CrossKeyRule {
  keys: (keyof Config)[];
  /** The message when `c` breaks the rule, with the keys involved when they depend on `c`. */
  check(c: Config): string | { message: string; keys: (keyof Config)[] } | undefined;
}

const usesSasrec = (c: Config) => c.model === "sasrec" || c.model === "ur4rec";
/** Stages that train the sequential side (SASRec / BPR-MF) of a model. */
const SEQUENTIAL_STAGES: readonly string[] = ["pretrain_sasrec", "joint_finetune", "end_to_end"];
/** Stages that train UR4Rec's fusion module (src/train/stages.ts). */
const FUSION_STAGES: readonly string[] = ["train_fusion", "joint_finetune", "end_to_end"];

/**
 * The first stage in which some training step of `c.model` computes only scores whose loss weight is 0, or
 * undefined. Mirrors src/train/stages.ts (which modules a stage trains) and src/models (which scores they give):
 * SASRec/BPR-MF give the `sasrec` term, the retriever the `retriever` term plus the MoE balance term (fixed mode,
 * weight > 0), and any step of `ur4rec` the `fused` term when its weight is > 0.
 */
function stageWithoutLoss(c: Config): string | undefined {
  if (c.model === "pop") return undefined;
  const fusedAnywhere = c.model === "ur4rec" && c.fused_loss_weight > 0;
  // Under `residual` the fused term exists only in stages that train the fusion gate (src/models/ur4rec.ts).
  const fused = fusedAnywhere && c.fusion_method !== "residual";
  const sequential = idLossWeight(c).value > 0 || fused;
  const retriever = c.model !== "ur4rec" ||
    (c.retriever_loss_weight > 0 || fused || (c.retriever_mode === "fixed" && c.moe_balance_weight > 0));
  const ok: Record<string, boolean> = {
    pretrain_sasrec: sequential,
    pretrain_retriever: c.model !== "ur4rec" || retriever, // skipped for models without a retriever
    joint_finetune: sequential && retriever,
    end_to_end: sequential || (c.model === "ur4rec" && retriever) || fusedAnywhere,
    // (a weighted fusion has no gate to train: the train_fusion rule reports that)
    train_fusion: c.model !== "ur4rec" || c.fusion_method === "weighted" || fusedAnywhere,
  };
  return c.stages.find((s) => !ok[s]);
}

/** The models each `text_use` applies to. */
const TEXT_USE_MODELS: Record<NonNullable<Config["text_use"]>, readonly Config["model"][]> = {
  none: ["sasrec", "pop", "bprmf"],
  retriever_fusion: ["ur4rec"],
  embedding_init: ["sasrec"],
  side_feature: ["sasrec"],
};

/** A tensor a training or evaluation step holds: its size in floats, its limit, how it is made up. */
interface StepTensor {
  floats: number;
  limit: number;
  what: string;
  keys: (keyof Config)[];
}

/** The largest tensors of a SASRec/BPR-MF step (none for `pop`; the retriever's are not estimated). */
function stepTensors(c: Config): StepTensor[] {
  if (c.model === "pop") return [];
  const width = c.model === "bprmf" && c.bprmf_dim !== null ? "bprmf_dim" : "sasrec_hidden_dim";
  const t = c.max_seq_len, d = c[width] as number, k = c.num_negatives;
  const tensors: StepTensor[] = [{
    floats: c.batch_size * t * (1 + k) * d,
    limit: LIMITS.embeddingFloats,
    what: `item embeddings: batch_size ${c.batch_size} × max_seq_len ${t} × (1 + num_negatives ${k}) × ` +
      `${width} ${d}`,
    keys: ["num_negatives", "max_seq_len", "batch_size", width],
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
const CROSS_KEY_RULES: readonly CrossKeyRule[] = [
  {
    keys: ["stages", "fusion_method"], // src/train/stages.ts: train_fusion trains the fusion gate alone
    check: (c) =>
      c.model === "ur4rec" && c.stages.includes("train_fusion") && c.fusion_method === "weighted"
        ? "stage train_fusion trains the fusion gate, but fusion_method = weighted has none (use learned or residual)"
        : undefined,
  },
  {
    keys: ["text_use", "model"], // src/models/factory.ts: each way of using the texts belongs to one model family
    check: (c) => {
      if (c.text_use === null) return undefined;
      const allowed = TEXT_USE_MODELS[c.text_use];
      return allowed.includes(c.model)
        ? undefined
        : `text_use = ${c.text_use} applies to model ${allowed.join(" | ")}, not model = ${c.model}`;
    },
  },
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
    keys: [
      "sasrec_loss_weight",
      "bprmf_loss_weight",
      "retriever_loss_weight",
      "fused_loss_weight",
      "moe_balance_weight",
      "stages",
      "model",
    ],
    check: (c) => {
      const stage = stageWithoutLoss(c);
      if (stage === undefined) return undefined;
      const weights = c.model === "ur4rec"
        ? ["sasrec_loss_weight", "retriever_loss_weight", "fused_loss_weight"] as const
        : [idLossWeight(c).key];
      const zero = weights.filter((k) => c[k] === 0).map((k) => `${k} = 0`).join(", ");
      return `stage ${stage} of model ${c.model} would have no loss term with a non-zero weight (${zero})`;
    },
  },
  {
    keys: [
      "max_seq_len",
      "num_negatives",
      "batch_size",
      "eval_batch_size",
      "sasrec_hidden_dim",
      "bprmf_dim",
      "sasrec_num_heads",
    ],
    check: (c) => {
      const big = stepTensors(c).find((x) => x.floats > x.limit);
      if (!big) return undefined;
      const [floats, limit] = [big.floats, big.limit].map((n) => n.toLocaleString("en-US"));
      const message = `a step would hold ${floats} floats of ${big.what}, more than the ${limit} the wasm heap ` +
        "holds beside the rest of the step; lower one of these keys";
      return { message, keys: big.keys };
    },
  },
  {
    // src/models/ur4rec.ts: under `residual` the gate starts at exactly 0 and only the fused loss moves it
    keys: ["fusion_method", "stages", "fused_loss_weight"],
    check: (c) =>
      c.model === "ur4rec" && c.fusion_method === "residual" &&
        !(c.fused_loss_weight > 0 && c.stages.some((s) => FUSION_STAGES.includes(s)))
        ? "fusion_method = residual: no stage trains the gate (it needs one of " +
          `${FUSION_STAGES.join(", ")} and fused_loss_weight > 0), so the gate stays 0 and every score would be ` +
          "SASRec's exactly (use model: sasrec for that run)"
        : undefined,
  },
];

/** A broken rule: the message and the keys involved (the error names the source of the first key that was set). */
export interface CrossKeyError {
  message: string;
  keys: string[];
}

/** Every cross-key rule `c` breaks, in rule order. */
export function crossKeyErrors(c: Config): CrossKeyError[] {
  return CROSS_KEY_RULES.flatMap((rule) => {
    const broken = rule.check(c);
    if (broken === undefined) return [];
    return [typeof broken === "string" ? { message: broken, keys: rule.keys } : broken];
  });
}
