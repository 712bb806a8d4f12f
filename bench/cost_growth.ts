/**
 * `deno run -A bench/cost_growth.ts [--backend NAME] [--only ml100k,ml1m,...] [--steps N]`: how training and
 * full-ranking evaluation cost grows with users × items × sequence length, at MovieLens shapes, with the SASRec of
 * configs/sasrec_ml100k.yaml (L200, d50, 1 head, 2 blocks; eval batch 256, items scored in chunks of
 * `FULL_RANK_CHUNK`). Each shape runs in its own process (so peak RSS is that shape's) and prints one JSON line:
 * - `step_ms`: median training step (B128, fixed random batch) after one warm-up; `epoch_s` = step × ceil(users / 128)
 *   (the cost of building batches is not in it); `step_cpu_ms`: the process's CPU time (user + system) per step, a
 *   figure that moves less than wall time when the machine is shared (wasm runs on one thread);
 * - `eval_s`: full-ranking evaluation of `eval_users` users (every user, or a sample for the ML-20M shape), and
 *   `eval_all_s` = eval_s × users / eval_users (ranking cost is linear in users: the same work per batch);
 *   `eval_cpu_s`: its CPU time;
 * - `eval_peak_rss_mib` (the process's VmHWM from /proc/self/status after the evaluation, which runs first) and
 *   `peak_rss_mib` (after the training steps too); `peak_tf_mib` (largest tf.memory().numBytes seen between
 *   operations: the live tensors, not the backend's heap); `tensors_before` / `tensors_after` (live tensors around
 *   the evaluation).
 * Sequences are generated directly (lengths uniform in [5, 2 × mean − 5], items uniform): an untrained model's cost
 * does not depend on which items they hold, only on their number, each user's history length and L.
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { initBackend, parseBackend } from "../src/backend/backend.ts";
import { loadConfig } from "../src/config/load.ts";
import { evalOptions, optimizerOptions, sasRecOptions } from "../src/config/resolve.ts";
import type { EvalBatch, TrainBatch } from "../src/data/types.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { SasRec } from "../src/models/sasrec.ts";
import { Rng } from "../src/rng.ts";
import { ModuleOptimizer } from "../src/train/optimizer.ts";
import { trainStep } from "../src/train/step.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { median } from "../src/util/stats.ts";

/** A dataset shape: users, items, mean history length; `evalUsers` < users times a sample. */
interface Shape {
  users: number;
  items: number;
  meanLength: number;
  evalUsers: number;
}

/** MovieLens shapes (users, items, mean ratings per user) and a 100,000-item catalogue. */
export const SHAPES: Record<string, Shape> = {
  ml100k: { users: 943, items: 1682, meanLength: 106, evalUsers: 943 },
  ml1m: { users: 6040, items: 3706, meanLength: 165, evalUsers: 6040 },
  ml20m: { users: 138_493, items: 26_744, meanLength: 144, evalUsers: 2048 },
  items100k: { users: 138_493, items: 100_000, meanLength: 144, evalUsers: 1024 },
};

const CONFIG = new URL("../configs/sasrec_ml100k.yaml", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** User + system seconds of a `process.cpuUsage` delta. */
function cpuSeconds(usage: { user: number; system: number }): number {
  return (usage.user + usage.system) / 1e6;
}

/** Peak resident set size of this process so far, MiB (Linux VmHWM). */
function peakRssMib(): number {
  const line = Deno.readTextFileSync("/proc/self/status").split("\n").find((l) => l.startsWith("VmHWM:"));
  if (!line) throw new Error("no VmHWM in /proc/self/status");
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

/** Left-padded evaluation batches of `count` generated users (history = the whole sequence before the target). */
function evalBatches(shape: Shape, count: number, seqLen: number, batchSize: number, rng: Rng): EvalBatch[] {
  const batches: EvalBatch[] = [];
  for (let from = 0; from < count; from += batchSize) {
    const b = Math.min(batchSize, count - from);
    const inputs = new Int32Array(b * seqLen);
    const targets = new Int32Array(b);
    const history: number[][] = [];
    for (let r = 0; r < b; r++) {
      const length = rng.int(5, 2 * shape.meanLength - 4);
      const seq = Array.from({ length }, () => rng.int(1, shape.items + 1));
      const input = seq.slice(0, -1).slice(-seqLen);
      inputs.set(input, r * seqLen + seqLen - input.length);
      targets[r] = seq[length - 1];
      history.push([...new Set(seq.slice(0, -1))]);
    }
    const users = Int32Array.from({ length: b }, (_, i) => from + i);
    batches.push({ users, inputs, targets, numCandidates: 0, history, batchSize: b, seqLen });
  }
  return batches;
}

/** A full training batch (every position has a target and one negative). */
function trainBatch(items: number, batchSize: number, seqLen: number, rng: Rng): TrainBatch {
  const cells = batchSize * seqLen;
  const draw = () => Int32Array.from({ length: cells }, () => rng.int(1, items + 1));
  const users = Int32Array.from({ length: batchSize }, (_, i) => i);
  return {
    users,
    inputs: draw(),
    positives: draw(),
    negatives: draw(),
    batchSize,
    seqLen,
    numNegatives: 1,
    seed: 1,
  };
}

/** Measures one shape in this process and prints its JSON line. */
async function runShape(name: string, steps: number): Promise<void> {
  const shape = SHAPES[name];
  const config = await loadConfig(CONFIG);
  const rng = new Rng(0);
  const model = new SasRec(sasRecOptions(config), shape.items, rng.fork("init"));
  // Evaluation first: the wasm heap only grows, so the peak RSS after it is what evaluation alone needs.
  const batches = evalBatches(shape, shape.evalUsers, config.max_seq_len, config.eval_batch_size, rng.fork("eval"));
  const itemExists = Uint8Array.from({ length: shape.items + 1 }, (_, i) => (i === 0 ? 0 : 1));
  const opts = { ...evalOptions(config), protocol: "full" as const, itemExists };
  await evaluate(model, batches.slice(0, 1), opts); // warm-up
  const tensorsBefore = tf.memory().numTensors;
  const evalStart = performance.now();
  const evalCpu = process.cpuUsage();
  const result = await evaluate(model, batches, opts);
  const evalS = (performance.now() - evalStart) / 1000;
  const evalCpuS = cpuSeconds(process.cpuUsage(evalCpu));
  let peakTf = tf.memory().numBytes;
  const tensorsAfter = tf.memory().numTensors;
  const evalRss = peakRssMib();
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(config));
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const batch = trainBatch(shape.items, config.batch_size, config.max_seq_len, rng.fork("train"));
  for (let i = 0; i <= steps; i++) {
    batch.seed = i;
    const start = performance.now();
    const cpu = process.cpuUsage();
    const outcome = await trainStep(model, optimizer, batch, config, ["sasrec"], i);
    if (outcome.action !== "ok") throw new Error(`${name}: step ${i} was ${outcome.action}`);
    if (i > 0) {
      times.push(performance.now() - start);
      cpuTimes.push(cpuSeconds(process.cpuUsage(cpu)) * 1000);
    }
    peakTf = Math.max(peakTf, tf.memory().numBytes);
  }
  optimizer.dispose();
  model.dispose();
  const stepMs = median(times);
  const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
  console.log(JSON.stringify({
    name: `cost_${name}`,
    backend: tf.getBackend(),
    users: shape.users,
    items: shape.items,
    seq_len: config.max_seq_len,
    mean_history: shape.meanLength,
    step_ms: round(stepMs),
    step_cpu_ms: round(median(cpuTimes)),
    steps_timed: times.length,
    epoch_s: round((stepMs * Math.ceil(shape.users / config.batch_size)) / 1000),
    eval_users: result.users,
    eval_s: round(evalS, 2),
    eval_cpu_s: round(evalCpuS, 2),
    eval_all_s: round((evalS * shape.users) / result.users, 1),
    eval_peak_rss_mib: evalRss,
    peak_rss_mib: peakRssMib(),
    peak_tf_mib: round(peakTf / MIB),
    tensors_before: tensorsBefore,
    tensors_after: tensorsAfter,
  }));
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string" },
      only: { type: "string" },
      shape: { type: "string" },
      steps: { type: "string", default: "3" },
    },
  });
  const steps = Number(values.steps);
  if (!(Number.isInteger(steps) && steps > 0)) throw new UserError(`--steps ${values.steps}: expected an integer > 0`);
  const backend = parseBackend(values.backend, "--backend");
  if (values.shape) {
    if (!(values.shape in SHAPES)) {
      throw new UserError(`--shape ${values.shape}: expected one of ${Object.keys(SHAPES)}`);
    }
    await initBackend(backend);
    return await runShape(values.shape, steps);
  }
  const names = values.only?.split(",") ?? Object.keys(SHAPES);
  for (const name of names) {
    if (!(name in SHAPES)) throw new UserError(`--only ${name}: expected one of ${Object.keys(SHAPES).join(", ")}`);
  }
  for (const name of names) {
    const args = ["run", "-A", new URL(import.meta.url).pathname, "--shape", name, "--steps", String(steps)];
    if (backend) args.push("--backend", backend);
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" }).output();
    if (!out.success) throw new Error(`cost_growth: shape ${name} failed (exit ${out.code})`);
  }
}

if (import.meta.main) runMain(main);
