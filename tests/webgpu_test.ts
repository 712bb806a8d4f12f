/**
 * The webgpu backend against cpu: a few SASRec training steps (same losses and gradient norms), a full-ranking
 * evaluation (same metrics), the NaN locator on the NaN-era setup (same first non-finite value, same diagnosis) and a
 * one-step `investigate` run. On this image webgpu runs on a software adapter (llvmpipe), ~10× slower than wasm, so the
 * cases are tiny. Skipped, with the reason printed, where `navigator.gpu?.requestAdapter()` finds no adapter.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { resolveConfig } from "../src/config/load.ts";
import { optimizerOptions, sasRecOptions } from "../src/config/resolve.ts";
import type { EvalBatch } from "../src/data/types.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { SasRec } from "../src/models/sasrec.ts";
import { Rng } from "../src/rng.ts";
import { investigate } from "../src/train/investigate.ts";
import { batchLayout, diagnose, probeStep } from "../src/train/locator.ts";
import { ModuleOptimizer } from "../src/train/optimizer.ts";
import { trainStep } from "../src/train/step.ts";
import type { ProbeStat } from "../src/run/records.ts";
import { onBackend, tempDir } from "./helpers.ts";
import { tinyConfig, trainBatch } from "./models_fixtures.ts";

const adapter = await (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter();
const skip = adapter ? false : "no WebGPU adapter (navigator.gpu?.requestAdapter() returned null)";
if (skip) console.log(`webgpu_test: skipped: ${skip}`);

const NUM_ITEMS = 30;
const SEQ_LEN = 8;
const CONFIG = tinyConfig({ max_seq_len: SEQ_LEN, sasrec_dropout: 0.2, grad_clip: 1, attention_mask: "safe" });

function sequences(seed: number, users: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: users }, () => Array.from({ length: rng.int(3, 12) }, () => rng.int(1, NUM_ITEMS + 1)));
}

/** Three guarded steps from the same initial weights: losses and gradient norms per step. */
async function threeSteps(): Promise<{ loss: number[]; norm: number[] }> {
  const model = new SasRec(sasRecOptions(CONFIG), NUM_ITEMS, new Rng(3).fork("init"));
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(CONFIG));
  const loss: number[] = [], norm: number[] = [];
  try {
    for (let step = 0; step < 3; step++) {
      const batch = trainBatch(sequences(10 + step, 6), { seqLen: SEQ_LEN, numItems: NUM_ITEMS, seed: step });
      const outcome = await trainStep(model, optimizer, batch, CONFIG, ["sasrec"], step);
      assert.equal(outcome.action, "ok", `step ${step} on ${tf.getBackend()}`);
      loss.push(outcome.loss.total!);
      norm.push(outcome.grad_norm.sasrec!);
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return { loss, norm };
}

Deno.test(
  { name: "webgpu: three training steps give cpu's losses and gradient norms (1e-4 relative)", ignore: !!skip },
  async () => {
    const cpu = await onBackend("cpu", threeSteps);
    const gpu = await onBackend("webgpu", threeSteps);
    await initBackend("wasm");
    for (const key of ["loss", "norm"] as const) {
      cpu[key].forEach((c, i) => {
        const rel = Math.abs(gpu[key][i] - c) / Math.abs(c);
        assert.ok(rel < 1e-4, `step ${i} ${key}: webgpu ${gpu[key][i]} vs cpu ${c} (relative ${rel})`);
      });
    }
  },
);

/** Full-ranking metrics of an untrained SASRec over 40 items in chunks of 16 (3 chunks), with history masking. */
async function fullRanking() {
  const model = new SasRec(sasRecOptions(CONFIG), NUM_ITEMS + 10, new Rng(4).fork("init"));
  const rows = sequences(20, 12);
  const batches: EvalBatch[] = [0, 6].map((start) => {
    const part = rows.slice(start, start + 6);
    return {
      users: Int32Array.from(part, (_, i) => start + i),
      inputs: Int32Array.from(part.flatMap((s) => [...Array(SEQ_LEN).fill(0), ...s.slice(0, -1)].slice(-SEQ_LEN))),
      targets: Int32Array.from(part, (s) => s.at(-1)!),
      numCandidates: 0,
      history: part.map((s) => s.slice(0, -1)),
      batchSize: part.length,
      seqLen: SEQ_LEN,
    };
  });
  const itemExists = Uint8Array.from({ length: NUM_ITEMS + 11 }, (_, i) => (i === 0 ? 0 : 1));
  try {
    const before = tf.memory().numTensors;
    const result = await evaluate(model, batches, {
      protocol: "full",
      tiePolicy: "average",
      itemExists,
      chunkItems: 16,
    });
    assert.equal(tf.memory().numTensors, before, `no tensors leak on ${tf.getBackend()}`);
    return result;
  } finally {
    model.dispose();
  }
}

Deno.test({ name: "webgpu: chunked full-ranking evaluation gives cpu's metrics", ignore: !!skip }, async () => {
  const cpu = await onBackend("cpu", fullRanking);
  const gpu = await onBackend("webgpu", fullRanking);
  await initBackend("wasm");
  assert.equal(gpu.users, 12);
  assert.deepEqual(gpu, cpu);
});

/**
 * The probes saw the same tensors in the same order, and up to cpu's first non-finite one the same non-finite counts
 * and min/max/mean/std (1e-4 relative). Not after it: webgpu's batched matMul with transposeB spreads a NaN of batch
 * entry b into entry b-1 (docs/performance.md "## webgpu"), so later counts differ.
 */
function assertProbesAgree(gpu: ProbeStat[], cpu: ProbeStat[]): void {
  const where = (p: ProbeStat) => `${p.step} ${p.phase} ${p.layer.replace(/@\d+$/, "")} ${p.op}`; // variables: name@N
  assert.deepEqual(gpu.map(where), cpu.map(where));
  const firstIndex = cpu.findIndex((p) => p.nonfinite > 0);
  gpu.slice(0, firstIndex + 1).forEach((g, i) => {
    const c = cpu[i];
    assert.deepEqual([g.nonfinite, g.nan, g.posinf], [c.nonfinite, c.nan, c.posinf], where(c));
    for (const key of ["min", "max", "mean", "std"] as const) {
      const [a, b] = [g[key]!, c[key]!];
      assert.ok(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)), `${where(c)} ${key}: webgpu ${a} vs cpu ${b}`);
    }
  });
}

/** configs/nan_repro.yaml's SASRec side at tiny sizes: torch mask with left padding, dropout 0.1, naive BPR, post-LN. */
const NAN_CONFIG = tinyConfig({
  max_seq_len: SEQ_LEN,
  attention_mask: "torch",
  padding: "left",
  sasrec_dropout: 0.1,
  loss: "bpr_naive",
  norm: "post",
});

/** The locator on one step of 6 users (rows with 2..7 pads): what it saw, its diagnosis and the tensor count change. */
async function locate() {
  const model = new SasRec(sasRecOptions(NAN_CONFIG), NUM_ITEMS, new Rng(5).fork("init"));
  const batch = trainBatch(sequences(30, 6), { seqLen: SEQ_LEN, numItems: NUM_ITEMS, seed: 7 });
  try {
    const before = tf.memory().numTensors;
    const probed = await probeStep(model, batch, NAN_CONFIG, ["sasrec"], { step: 0, stage: "pretrain_sasrec" });
    return {
      ...probed,
      backend: tf.getBackend(),
      diagnosis: diagnose(probed.first, batchLayout(batch, NAN_CONFIG), 1),
      leaked: tf.memory().numTensors - before,
    };
  } finally {
    model.dispose();
  }
}

Deno.test(
  {
    name: "webgpu: the NaN locator finds cpu's first non-finite value and diagnosis (torch mask, left padding)",
    ignore: !!skip,
  },
  async () => {
    const cpu = await onBackend("cpu", locate);
    const gpu = await onBackend("webgpu", locate);
    await initBackend("wasm");
    assert.equal(cpu.first?.op, "softmax", "the setup produces the softmax NaN on cpu");
    assert.equal(gpu.backend, "webgpu");
    assert.equal(gpu.leaked, 0, "no tensors leak on webgpu");
    assert.deepEqual(gpu.first, cpu.first);
    assert.equal(gpu.diagnosis, cpu.diagnosis);
    assertProbesAgree(gpu.stats, cpu.stats);
  },
);

Deno.test(
  { name: "webgpu: a one-step `investigate` run reports cpu's first non-finite value", ignore: !!skip },
  async () => {
    await using data = await tempDir();
    const config = (backend: "cpu" | "webgpu") =>
      resolveConfig({
        dataset: "synthetic",
        data_dir: data.path,
        synthetic_users: 16,
        synthetic_items: 30,
        max_seq_len: 30,
        sasrec_hidden_dim: 8,
        batch_size: 8,
        attention_mask: "torch",
        padding: "left",
        investigate_steps: 1,
        seed: 3,
        backend,
      }, "test");
    const cpu = await investigate(config("cpu"));
    const gpu = await investigate(config("webgpu"));
    await initBackend("wasm");
    assert.equal(cpu.first_nonfinite?.op, "softmax", "the setup produces the softmax NaN on cpu");
    assert.deepEqual(gpu.first_nonfinite, cpu.first_nonfinite);
    assert.equal(gpu.diagnosis, cpu.diagnosis);
    assertProbesAgree(gpu.probes, cpu.probes);
  },
);
