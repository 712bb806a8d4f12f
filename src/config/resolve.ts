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
