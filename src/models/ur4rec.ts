/**
 * UR4Rec: SASRec + the MoE text retriever, fused per (user, candidate) score (docs/original.md#fusion). Modules:
 * `sasrec`, `retriever`, `fusion`.
 * `fusion_method: weighted` (original): s = sasrec_weight · s_sas + retriever_weight · s_ret.
 * `fusion_method: learned`: s = a_sas · s_sas + a_ret · s_ret with per-user weights a = softplus(W f + b) from
 * features f = [sequence length / max_seq_len, |h_u| / sqrt(d)] (h_u: the SASRec state that scores the row, with its
 * gradient stopped). W starts at zero and b at softplus⁻¹ of the configured weights, so training starts from the
 * weighted fusion. The original's `learned` fed a constant input, i.e. one global pair (docs/findings.md#f12).
 * `fusion_method: residual` (this kit): s = s_sas + g_u · s_ret with a per-user gate g_u = w · f_u + b on the same
 * features; w and b start at exactly 0, so until the fusion trains the fused score is the SASRec score exactly
 * (for finite s_ret). As weights this is the pair (1, g_u). While w and b are exactly zero, evaluation scores with
 * SASRec alone (`scorerForEval`: the retriever term is not computed, ~30x cheaper in full ranking), and the
 * `pretrain_retriever` stage early-stops on the retriever's own validation score (`stageValidator`), since the fused
 * score cannot move while g = 0.
 * `TrainScores.fused` (at each row's last target) is returned whenever it can train something, so
 * `fused_loss_weight` > 0 trains the fusion. Under `residual`, each loss term is computed and returned only in the
 * steps that train its own module (`sasrec`, `retriever` with its aux loss, `fusion` for the fused term): stage
 * `pretrain_sasrec` then trains exactly what `model: sasrec` trains, and the fused loss never reaches SASRec or the
 * retriever unless a stage trains them together with the fusion.
 */
import * as tf from "@tensorflow/tfjs";
import { type FusionOptions, fusionOptions, retrieverOptions, sasRecOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { Dataset, EvalBatch, SequenceBatch, TextVectors, TrainBatch } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { type ContextOptions, type ForwardContext, stopGradient, tidyObject } from "./layers.ts";
import { countParameters, ParamStore } from "./params.ts";
import { type Probe, tap } from "./probe.ts";
import { Retriever } from "./retriever.ts";
import { SasRec } from "./sasrec.ts";
import { positionScores, requireCandidates, scoreIds, scoreTable } from "./scoring.ts";
import { flatIndices, lastTargetPositions, realCounts } from "./sequence.ts";
import type { Recommender, ScoreOptions, TrainScoreOptions, TrainScores } from "./types.ts";

/** Smallest starting weight of the learned gate (softplus⁻¹ needs a positive value). */
const MIN_GATE_WEIGHT = 1e-3;

/**
 * Combines SASRec and retriever scores with fixed, learned or residual per-user weights. Variables live under
 * `fusion/`: `gate/w` [2, 2] and `gate/b` [2] (learned), `gate/w` [2, 1] and `gate/b` [1] (residual, both zero).
 */
export class Fusion {
  private readonly gateW: tf.Variable | null = null;
  private readonly gateB: tf.Variable | null = null;

  constructor(private readonly options: FusionOptions, store: ParamStore) {
    if (options.method === "residual") {
      this.gateW = store.create("fusion/gate/w", () => tf.zeros([2, 1]));
      this.gateB = store.create("fusion/gate/b", () => tf.zeros([1]));
      return;
    }
    if (options.method !== "learned") return;
    const start = options.weights.map((w) => Math.max(w, MIN_GATE_WEIGHT));
    this.gateW = store.create("fusion/gate/w", () => tf.zeros([2, 2]));
    this.gateB = store.create("fusion/gate/b", () => tf.tensor1d(start.map((w) => Math.log(Math.expm1(w)))));
  }

  /**
   * Per-row weights [B, 2] (a_sas, a_ret) for the input rows [B, T] of `seq` scored by SASRec states [B, d]; (1, g_u) for
   * `residual`.
   */
  weights(seq: SequenceBatch, states: tf.Tensor2D): tf.Tensor2D {
    const batchSize = states.shape[0];
    if (!this.gateW || !this.gateB) {
      return tf.tensor2d(this.options.weights, [1, 2]).tile([batchSize, 1]) as tf.Tensor2D;
    }
    const lengths = Float32Array.from(realCounts(seq), (n) => n / this.options.maxSeqLen);
    const stateNorm = stopGradient(states).square().sum(-1, true).sqrt().div(Math.sqrt(this.options.stateDim));
    const features = tf.concat([tf.tensor2d(lengths, [batchSize, 1]), stateNorm], 1);
    if (this.options.method === "residual") {
      const gate = tf.matMul(features, this.gateW).add(this.gateB);
      return tf.concat([tf.onesLike(gate), gate], 1) as tf.Tensor2D;
    }
    return tf.softplus(tf.matMul(features, this.gateW).add(this.gateB)) as tf.Tensor2D;
  }

  /** Whether this is a residual gate whose w and b are all exactly zero (g_u = 0 for every user with finite features). */
  async isZeroResidual(): Promise<boolean> {
    if (this.options.method !== "residual" || !this.gateW || !this.gateB) return false;
    const values = await Promise.all([this.gateW.data(), this.gateB.data()]);
    return values.every((v) => v.every((x) => x === 0));
  }

  /** a_sas · sas + a_ret · ret for scores [B, C] and weights [B, 2]. */
  fuse(weights: tf.Tensor2D, sas: tf.Tensor2D, ret: tf.Tensor2D): tf.Tensor2D {
    const [b] = weights.shape;
    return weights.slice([0, 0], [b, 1]).mul(sas).add(weights.slice([0, 1], [b, 1]).mul(ret));
  }
}

/** The loss terms of the modules that train: `sasrec`, `retriever` (and its aux losses), `fused` (module `fusion`). */
function onlyTrained(scores: TrainScores, trains: (module: string) => boolean): TrainScores {
  return {
    ...(trains("sasrec") && scores.sasrec ? { sasrec: scores.sasrec } : {}),
    ...(trains("retriever") && scores.retriever ? { retriever: scores.retriever } : {}),
    ...(trains("retriever") && scores.aux ? { aux: scores.aux } : {}),
    ...(trains("fusion") && scores.fused ? { fused: scores.fused } : {}),
  };
}

/** SASRec + MoE retriever with score fusion. */
export class Ur4Rec implements Recommender {
  readonly name = "ur4rec";
  readonly sasrec: SasRec;
  readonly retriever: Retriever;
  private readonly fusionStore: ParamStore;
  private readonly fusion: Fusion;

  constructor(readonly config: Config, ds: Pick<Dataset, "numItems" | "userIds">, texts: TextVectors, rng: Rng) {
    this.sasrec = new SasRec(sasRecOptions(config), ds.numItems, rng);
    this.retriever = new Retriever(retrieverOptions(config), ds.numItems, ds.userIds.length, texts, rng);
    this.fusionStore = new ParamStore(rng.fork("fusion/params"));
    this.fusion = new Fusion(fusionOptions(config), this.fusionStore);
  }

  private contexts(training: boolean, options: ContextOptions = {}): { sas: ForwardContext; ret: ForwardContext } {
    return { sas: this.sasrec.context(training, options), ret: this.retriever.context(training, options) };
  }

  private fused(
    seq: SequenceBatch,
    states: tf.Tensor2D,
    sas: tf.Tensor2D,
    ret: tf.Tensor2D,
    probe?: Probe,
  ) {
    const weights = tap(probe, "fusion", "weights", this.fusion.weights(seq, states));
    return tap(probe, "fusion", "scores", this.fusion.fuse(weights, sas, ret));
  }

  modules(): Record<string, tf.Variable[]> {
    return { ...this.sasrec.modules(), ...this.retriever.modules(), fusion: this.fusionStore.module("fusion") };
  }

  /**
   * Training scores. `active` (the modules being trained; default: all) skips work that cannot matter: SASRec
   * scores are computed when `sasrec` is active, retriever scores when `retriever` is, and fused scores (which
   * need both) when `active` is not given or `fused_loss_weight` > 0 — under `fusion_method: residual` only when
   * `fusion` is active, and then only the terms of active modules are returned.
   */
  trainScores(batch: TrainBatch, { probe, active }: TrainScoreOptions = {}): TrainScores {
    const trains = (module: string) => !active || active.includes(module);
    const residual = this.config.fusion_method === "residual";
    const fused = residual
      ? trains("fusion") && this.config.fused_loss_weight > 0
      : !active || (this.config.fused_loss_weight > 0 && active.length > 0);
    const withSasrec = fused || trains("sasrec");
    const withRetriever = fused || trains("retriever");
    return tidyObject(() => {
      const ctx = this.contexts(true, { seed: batch.seed, probe });
      const scores: TrainScores = {};
      let hidden: tf.Tensor3D | null = null;
      if (withSasrec) {
        hidden = this.sasrec.encode(ctx.sas, batch);
        scores.sasrec = positionScores(this.sasrec.itemEmb, hidden, batch, probe);
      }
      if (withRetriever) Object.assign(scores, this.retriever.retrieverScores(ctx.ret, batch));
      if (fused && hidden && scores.sasrec && scores.retriever) {
        scores.fused = this.fusedAtLastTarget(batch, hidden, scores.sasrec, scores.retriever, probe);
      }
      return residual ? onlyTrained(scores, trains) : scores;
    });
  }

  /** Fused scores at each row's last target: pos [B], neg [B, K]. */
  private fusedAtLastTarget(
    batch: TrainBatch,
    hidden: tf.Tensor3D,
    sasrec: NonNullable<TrainScores["sasrec"]>,
    retriever: NonNullable<TrainScores["retriever"]>,
    probe?: Probe,
  ): NonNullable<TrainScores["fused"]> {
    const { batchSize: b, seqLen: t, numNegatives: k } = batch;
    const positions = lastTargetPositions(batch.positives, b, t);
    const rows = tf.tensor1d(flatIndices(positions, t), "int32");
    const sasLast = tf.concat([
      tf.gather(sasrec.pos.reshape([b * t, 1]), rows),
      tf.gather(sasrec.neg.reshape([b * t, k]), rows),
    ], 1) as tf.Tensor2D;
    const retLast = tf.concat([retriever.pos.reshape([b, 1]), retriever.neg], 1) as tf.Tensor2D;
    const states = this.sasrec.gatherPositions(hidden, positions);
    const both = this.fused(batch, states, sasLast, retLast, probe);
    return { pos: both.slice([0, 0], [b, 1]).reshape([b]) as tf.Tensor1D, neg: both.slice([0, 1], [b, k]) };
  }

  /** SASRec while the residual gate is exactly zero (then the fused score is SASRec's), else this model. */
  async scorerForEval(): Promise<Recommender> {
    return await this.fusion.isZeroResidual() ? this.sasrec : this;
  }

  /** The retriever for `pretrain_retriever` under residual fusion (the fused score does not move there), else null. */
  stageValidator(stage: string): Recommender | null {
    return stage === "pretrain_retriever" && this.config.fusion_method === "residual" ? this.retriever : null;
  }

  scoreCandidates(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    const candidates = requireCandidates(batch);
    return tf.tidy(() => {
      const ctx = this.contexts(false, { probe });
      const states = this.sasrec.userStates(ctx.sas, batch);
      const sas = scoreIds(this.sasrec.itemEmb, states, candidates);
      const ret = this.retriever.scorePairs(ctx.ret, batch, candidates).scores;
      return this.fused(batch, states, sas, ret, probe);
    });
  }

  scoreAll(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const ctx = this.contexts(false, { probe });
      const states = this.sasrec.userStates(ctx.sas, batch);
      const sas = scoreTable(this.sasrec.itemEmb, states);
      const ret = this.retriever.scoreEveryItem(ctx.ret, batch);
      return this.fused(batch, states, sas, ret, probe);
    });
  }

  parameterCounts(): Record<string, number> {
    return {
      ...this.sasrec.parameterCounts(),
      ...this.retriever.parameterCounts(),
      fusion: countParameters(this.fusionStore.module("fusion")),
    };
  }

  dispose(): void {
    this.sasrec.dispose();
    this.retriever.dispose();
    this.fusionStore.dispose();
  }
}
