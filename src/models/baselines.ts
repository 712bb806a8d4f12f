/**
 * Baselines behind the `Recommender` interface:
 * - `Popularity`: an item's score is its train-split interaction count (no variables; nothing to train).
 * - `BprMf`: matrix factorisation, score = user embedding · item embedding (Rendle et al. 2009). Width
 *   `bprmf_dim`, Normal(0, bprmf_init_std) init (item pad row 0 zero; both default to the `sasrec_*` values). It ignores the sequence, so its
 *   training scores (in the `sasrec` slot, so the same losses apply) use the user vector at every position.
 */
import * as tf from "@tensorflow/tfjs";
import type { BprMfOptions } from "../config/resolve.ts";
import type { Dataset, EvalBatch, TrainBatch } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { normal, paddedEmbedding } from "./init.ts";
import { tidyObject } from "./layers.ts";
import { countParameters, ParamStore } from "./params.ts";
import { tap } from "./probe.ts";
import { positionScores, requireCandidates, scoreIds, scoreTable, tableScorer } from "./scoring.ts";
import { checkIds } from "./sequence.ts";
import type { ItemScorer, Recommender, ScoreOptions, TrainScoreOptions, TrainScores } from "./types.ts";

/** Scores every item by its train popularity. */
export class Popularity implements Recommender {
  readonly name = "pop";
  private readonly popularity: tf.Tensor;

  constructor(ds: Pick<Dataset, "trainPopularity">) {
    this.popularity = tf.tensor1d(ds.trainPopularity);
  }

  modules(): Record<string, tf.Variable[]> {
    return {};
  }

  /** No trainable scores: popularity has nothing to learn. */
  trainScores(_batch: TrainBatch): TrainScores {
    return {};
  }

  scoreCandidates(batch: EvalBatch): tf.Tensor2D {
    const candidates = requireCandidates(batch);
    checkIds(candidates, this.popularity.size - 1, "pop candidates");
    return tf.tidy(() =>
      tf.gather(
        this.popularity,
        tf.tensor2d(candidates, [batch.batchSize, batch.numCandidates], "int32"),
      ) as tf.Tensor2D
    );
  }

  scoreAll(batch: EvalBatch): tf.Tensor2D {
    return tf.tidy(() => this.popularity.expandDims(0).tile([batch.batchSize, 1]) as tf.Tensor2D);
  }

  parameterCounts(): Record<string, number> {
    return {};
  }

  dispose(): void {
    this.popularity.dispose();
  }
}

/** BPR-MF: user and item embeddings under `bprmf/`, `options.dim` wide (`bprMfOptions(config)`). */
export class BprMf implements Recommender {
  readonly name = "bprmf";
  private readonly store: ParamStore;
  private readonly users: tf.Variable<tf.Rank.R2>;
  private readonly items: tf.Variable<tf.Rank.R2>;

  constructor(
    options: BprMfOptions,
    ds: Pick<Dataset, "numItems" | "userIds">,
    rng: Rng,
  ) {
    const d = options.dim, std = options.initStd;
    this.store = new ParamStore(rng.fork("bprmf/params"));
    this.users = this.store.create("bprmf/user_emb", (r) => normal(r, [ds.userIds.length, d], std) as tf.Tensor2D);
    this.items = this.store.create("bprmf/item_emb", (r) => paddedEmbedding(r, ds.numItems + 1, d, std));
  }

  private userVectors(users: Int32Array): tf.Tensor2D {
    checkIds(users, this.users.shape[0] - 1, "bprmf users");
    return tf.gather(this.users, tf.tensor1d(users, "int32"));
  }

  modules(): Record<string, tf.Variable[]> {
    return { bprmf: this.store.module("bprmf") };
  }

  trainScores(batch: TrainBatch, { probe }: TrainScoreOptions = {}): TrainScores {
    return tidyObject(() => {
      const states = this.userVectors(batch.users).expandDims(1) as tf.Tensor3D;
      return { sasrec: positionScores(this.items, states, batch, probe) };
    });
  }

  scoreCandidates(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    const candidates = requireCandidates(batch);
    return tf.tidy(() =>
      tap(probe, "logits", "candidates", scoreIds(this.items, this.userVectors(batch.users), candidates))
    );
  }

  scoreAll(batch: EvalBatch, { probe }: ScoreOptions = {}): tf.Tensor2D {
    return tf.tidy(() => tap(probe, "logits", "all", scoreTable(this.items, this.userVectors(batch.users))));
  }

  itemScorer(batch: EvalBatch): ItemScorer {
    return tableScorer(this.items, tf.tidy(() => this.userVectors(batch.users)));
  }

  parameterCounts(): Record<string, number> {
    return { bprmf: countParameters(this.store.module("bprmf")) };
  }

  dispose(): void {
    this.store.dispose();
  }
}
