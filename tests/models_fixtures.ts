import assert from "node:assert/strict";
/** Tiny synthetic datasets, batches, texts and a simple loss for the model tests. */
import * as tf from "@tensorflow/tfjs";
import { type Config, defaultConfig } from "../src/config/schema.ts";
import type { Dataset, EvalBatch, TextVectors, TrainBatch } from "../src/data/types.ts";
import { stableName } from "../src/models/params.ts";
import type { Probe } from "../src/models/probe.ts";
import type { Recommender, TrainScores } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";

/** Defaults shrunk to test size (d = 8, T = 6, D = 8), dropout off unless overridden. */
export function tinyConfig(overrides: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    sasrec_hidden_dim: 8,
    sasrec_num_blocks: 2,
    sasrec_num_heads: 2,
    sasrec_dropout: 0,
    sasrec_init_std: 0.5,
    max_seq_len: 6,
    retriever_output_dim: 8,
    moe_num_heads: 2,
    moe_num_proxies: 3,
    moe_dropout: 0,
    num_negatives: 2,
    ...overrides,
  };
}

/** A dataset shell with `numItems` items and `numUsers` users (splits are not used by the models). */
export function tinyDataset(numItems = 12, numUsers = 4): Dataset {
  const popularity = Float32Array.from({ length: numItems + 1 }, (_, i) => (i === 0 ? 0 : (i * 7) % 5));
  return {
    name: "tiny",
    numItems,
    userIds: Array.from({ length: numUsers }, (_, u) => u + 1),
    items: new Map(),
    splits: [],
    itemExists: Uint8Array.from({ length: numItems + 1 }, (_, i) => (i === 0 ? 0 : 1)),
    trainPopularity: popularity,
    report: {},
    warnings: [],
  };
}

/** Random text vectors (item row 0 zero). */
export function tinyTexts(numUsers: number, numItems: number, dim = 5, seed = 11): TextVectors {
  const rng = new Rng(seed);
  const user = Float32Array.from({ length: numUsers * dim }, () => rng.normal());
  const item = Float32Array.from({ length: (numItems + 1) * dim }, (_, i) => (i < dim ? 0 : rng.normal()));
  return { dim, user, item };
}

/** Rows of ids placed into [rows, seqLen] with pads on the given side (the last seqLen ids of each row). */
export function padRows(rows: number[][], seqLen: number, padding: "left" | "right"): Int32Array {
  const out = new Int32Array(rows.length * seqLen);
  rows.forEach((row, b) => {
    const window = row.slice(-seqLen);
    out.set(window, b * seqLen + (padding === "left" ? seqLen - window.length : 0));
  });
  return out;
}

/** A training batch from full sequences: inputs s[:-1], positives s[1:], K negatives per target (not the target). */
export function trainBatch(
  sequences: number[][],
  opts: { seqLen: number; numItems: number; numNegatives?: number; padding?: "left" | "right"; seed?: number },
): TrainBatch {
  const { seqLen, numItems, numNegatives = 2, padding = "left", seed = 5 } = opts;
  const rng = new Rng(seed);
  const inputs = padRows(sequences.map((s) => s.slice(0, -1)), seqLen, padding);
  const positives = padRows(sequences.map((s) => s.slice(1)), seqLen, padding);
  const negatives = new Int32Array(positives.length * numNegatives);
  positives.forEach((p, cell) => {
    if (p === 0) return;
    for (let k = 0; k < numNegatives; k++) {
      let id = p;
      while (id === p) id = rng.int(1, numItems + 1);
      negatives[cell * numNegatives + k] = id;
    }
  });
  return {
    users: Int32Array.from(sequences, (_, b) => b),
    inputs,
    positives,
    negatives,
    batchSize: sequences.length,
    seqLen,
    numNegatives,
    seed,
  };
}

/** An evaluation batch of input rows (users 0..B-1), with optional candidates [B][C]. */
export function evalBatch(
  inputs: number[][],
  opts: { seqLen: number; padding?: "left" | "right"; candidates?: number[][] },
): EvalBatch {
  const { seqLen, padding = "left", candidates } = opts;
  return {
    users: Int32Array.from(inputs, (_, b) => b),
    inputs: padRows(inputs, seqLen, padding),
    targets: new Int32Array(inputs.length),
    candidates: candidates ? Int32Array.from(candidates.flat()) : undefined,
    numCandidates: candidates ? candidates[0].length : 0,
    history: inputs,
    batchSize: inputs.length,
    seqLen,
  };
}

/** A scalar of every score the model returned: softplus(neg - pos) on masked SASRec cells, retriever, fused, aux. */
export function scoresLoss(scores: TrainScores): tf.Scalar {
  return tf.tidy(() => {
    const terms: tf.Tensor[] = [];
    if (scores.sasrec) {
      const { pos, neg, mask } = scores.sasrec;
      terms.push(tf.softplus(neg.sub(pos.expandDims(2))).sum(2).mul(mask).sum());
    }
    for (const part of [scores.retriever, scores.fused]) {
      if (part) terms.push(tf.softplus(part.neg.sub(part.pos.expandDims(1))).sum());
    }
    for (const aux of Object.values(scores.aux ?? {})) terms.push(aux);
    return terms.reduce((a, b) => a.add(b)).asScalar();
  });
}

/** Loss and gradients of every variable of `model` (by stable name) for one training batch. */
export function lossAndGrads(
  model: Recommender,
  batch: TrainBatch,
): { loss: number; grads: Map<string, Float32Array> } {
  const variables = Object.values(model.modules()).flat();
  const { value, grads } = tf.variableGrads(() => scoresLoss(model.trainScores(batch)), variables);
  const out = new Map<string, Float32Array>();
  for (const v of variables) {
    const g = grads[v.name];
    out.set(stableName(v), g ? (g.dataSync() as Float32Array) : new Float32Array(v.size));
  }
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/** The variable of `model` with the given stable name. */
export function variable(model: Recommender, name: string): tf.Variable {
  const found = Object.values(model.modules()).flat().find((v) => stableName(v) === name);
  if (!found) throw new Error(`no variable ${name}`);
  return found;
}

/** Reads and disposes a tensor. */
export function take(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** Disposes every tensor of a TrainScores. */
export function disposeScores(scores: TrainScores): void {
  tf.dispose(scores as unknown as tf.TensorContainer);
}

/** A probe that copies every forward tensor it sees, keyed `${layer}.${op}`. */
export class CaptureProbe implements Probe {
  readonly watchBackward = false;
  readonly seen = new Map<string, { shape: number[]; values: Float32Array }>();

  forward(layer: string, op: string, t: tf.Tensor): void {
    this.seen.set(`${layer}.${op}`, { shape: t.shape, values: t.dataSync() as Float32Array });
  }

  gradient(): void {}

  /** The captured tensor `name`; throws when it was never tapped. */
  get(name: string): { shape: number[]; values: Float32Array } {
    const found = this.seen.get(name);
    if (!found) throw new Error(`probe saw no ${name} (saw ${[...this.seen.keys()].join(", ")})`);
    return found;
  }
}

/**
 * Central finite difference of the batch loss along coordinate `index` of variable `name` (variable restored),
 * to compare with `lossAndGrads`.
 */
export function finiteDifference(
  model: Recommender,
  batch: TrainBatch,
  name: string,
  index: number,
  eps: number,
): number {
  const v = variable(model, name);
  const original = v.clone();
  const lossAt = (delta: number) => {
    tf.tidy(() => v.assign(original.add(tf.oneHot(index, v.size).reshape(v.shape).mul(delta))));
    return tf.tidy(() => scoresLoss(model.trainScores(batch)).dataSync()[0]);
  };
  const diff = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
  v.assign(original);
  original.dispose();
  return diff;
}

/**
 * Asserts that, for each named variable, the autodiff gradient at its largest coordinate matches a central finite
 * difference: |fd - g| <= 2% |g| + `atol`, after checking |g| > `minGrad` so the comparison means something.
 */
export function assertFiniteDifferences(
  label: string,
  model: Recommender,
  batch: TrainBatch,
  grads: Map<string, Float32Array>,
  names: string[],
  tolerances: { minGrad: number; atol: number },
): void {
  for (const name of names) {
    const g = grads.get(name)!;
    const i = argMaxAbs(g);
    const fd = finiteDifference(model, batch, name, i, 1e-2);
    assert.ok(Math.abs(g[i]) > tolerances.minGrad, `${label} ${name}: gradient ${g[i]} too small to check`);
    assert.ok(
      Math.abs(fd - g[i]) <= 2e-2 * Math.abs(g[i]) + tolerances.atol,
      `${label} ${name}[${i}]: autodiff ${g[i]}, FD ${fd}`,
    );
  }
}

/** What a backend-agreement check compares: loss, gradients by variable name, full-ranking scores. */
export interface BackendRun {
  loss: number;
  grads: Map<string, Float32Array>;
  all: Float32Array | number[];
}

/** Runs `run` on cpu and on wasm and asserts loss, scores and every gradient agree within 1e-4; returns both. */
export async function assertBackendsAgree<T extends BackendRun>(run: () => T): Promise<{ cpu: T; wasm: T }> {
  const cpu = await onBackend("cpu", run);
  const wasm = await onBackend("wasm", run);
  assertClose([wasm.loss], [cpu.loss], 1e-4, "loss");
  assertClose(wasm.all, cpu.all, 1e-4, "scoreAll");
  for (const [name, g] of cpu.grads) assertClose(wasm.grads.get(name)!, g, 1e-4, `grad ${name}`);
  return { cpu, wasm };
}

/** Index of the largest |value|. */
export function argMaxAbs(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (Math.abs(values[i]) > Math.abs(values[best])) best = i;
  return best;
}
