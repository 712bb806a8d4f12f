/**
 * `deno task bench`: training-step, evaluation and epoch timings on the configured backend, one JSON line per case
 * (`--compare` also alternates the tfjs attention path with the tiled kernels, bench/attention.ts).
 * Usage and flags: `BENCH_SPEC` (`deno task bench --help`).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, parseBackend } from "../src/backend/backend.ts";
import { setFastKernels } from "../src/backend/override.ts";
import { loadConfig, resolveConfig } from "../src/config/load.ts";
import { evalOptions, optimizerOptions, sasRecOptions } from "../src/config/resolve.ts";
import type { Config } from "../src/config/schema.ts";
import { evalBatches, trainBatches } from "../src/data/batches.ts";
import { loadDataset } from "../src/data/dataset.ts";
import type { Dataset, TrainBatch } from "../src/data/types.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { SasRec } from "../src/models/sasrec.ts";
import type { Recommender } from "../src/models/types.ts";
import { Ur4Rec } from "../src/models/ur4rec.ts";
import { Rng } from "../src/rng.ts";
import { ModuleOptimizer } from "../src/train/optimizer.ts";
import { epochRng } from "../src/train/run.ts";
import { trainStep } from "../src/train/step.ts";
import { type CommandSpec, commonFlags, parseCli } from "../src/cli/args.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { median } from "../src/util/stats.ts";
import { attentionCase, compareAttention } from "./attention.ts";
import { type BenchRecord, measure, type RunCounts } from "./measure.ts";

/** ML-100K's item id count (ids 1..1682 plus the padding row). */
const ML100K_ITEMS = 1682;
const ML100K_USERS = 943;
const SASREC_ML100K = new URL("../configs/sasrec_ml100k.yaml", import.meta.url).pathname;
const UR4REC_ML100K = new URL("../configs/ur4rec_moe_100k.yaml", import.meta.url).pathname;
const TORCH_SCRIPT = new URL("./sasrec_torch.py", import.meta.url).pathname;

/** A timed case: `run` does one unit of work and reads its result back; `dispose` frees what it holds. */
export interface BenchCase {
  name: string;
  run: () => Promise<void>;
  dispose: () => void;
  extra?: Record<string, unknown>;
}

/** A random training batch like the PyTorch reference's: first quarter of every row padded, targets everywhere
 * (or only at the last position with `train_targets: last`). */
function randomBatch(config: Config, numItems: number, rng: Rng): TrainBatch {
  const { batch_size: b, max_seq_len: t, num_negatives: k } = config;
  const inputs = new Int32Array(b * t), positives = new Int32Array(b * t), negatives = new Int32Array(b * t * k);
  for (let cell = 0; cell < b * t; cell++) {
    const pos = cell % t;
    if (pos < Math.floor(t / 4)) continue;
    inputs[cell] = rng.int(1, numItems + 1);
    if (config.train_targets === "last" && pos !== t - 1) continue;
    positives[cell] = rng.int(1, numItems + 1);
    for (let j = 0; j < k; j++) negatives[cell * k + j] = rng.int(1, numItems + 1);
  }
  const users = Int32Array.from({ length: b }, (_, i) => i);
  return { users, inputs, positives, negatives, batchSize: b, seqLen: t, numNegatives: k, seed: 1 };
}

/** Repeated training steps of `model` on one fixed batch. */
function stepCase(name: string, model: Recommender, config: Config, batch: TrainBatch): BenchCase {
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(config));
  const active = Object.keys(model.modules()).filter((m) => model.modules()[m].length > 0);
  let step = 0;
  return {
    name,
    run: async () => {
      batch.seed = step;
      const outcome = await trainStep(model, optimizer, batch, config, active, step++);
      if (outcome.action !== "ok") throw new Error(`${name}: step ${step} was ${outcome.action}`);
    },
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
    extra: { batch: config.batch_size, seq_len: config.max_seq_len },
  };
}

/**
 * The SASRec step at the first-profile shape (docs/performance.md#first-profile: B128 L50 d64 H2 N2, ML-100K items,
 * BCE, Adam).
 */
function sasrecStepL50(): BenchCase {
  const config = resolveConfig({
    model: "sasrec",
    max_seq_len: 50,
    sasrec_hidden_dim: 64,
    sasrec_num_heads: 2,
    sasrec_num_blocks: 2,
    batch_size: 128,
  });
  const rng = new Rng(0);
  const model = new SasRec(sasRecOptions(config), ML100K_ITEMS, rng.fork("init"));
  return stepCase("sasrec_step_b128_l50_d64_h2_n2", model, config, randomBatch(config, ML100K_ITEMS, rng));
}

/** The SASRec step at configs/sasrec_ml100k.yaml's shape (B128 L200 d50 H1 N2, the SASRec.pytorch-comparable one). */
async function sasrecStepL200(): Promise<BenchCase> {
  const config = await loadConfig(SASREC_ML100K);
  const rng = new Rng(0);
  const model = new SasRec(sasRecOptions(config), ML100K_ITEMS, rng.fork("init"));
  return stepCase("sasrec_step_b128_l200_d50_h1_n2", model, config, randomBatch(config, ML100K_ITEMS, rng));
}

/** A UR4Rec MoE step (all modules) at d = D = 64, batch 32, 20 negatives, with random text vectors. */
async function ur4recStep(): Promise<BenchCase> {
  const config = await loadConfig(UR4REC_ML100K, [
    "sasrec_hidden_dim=64",
    "sasrec_num_heads=2",
    "sasrec_num_blocks=2",
    "retriever_output_dim=64",
    "text_embedding_dim=64",
    "moe_num_heads=4",
    "batch_size=32",
    "attention_mask=safe", // torch masks make NaN rows by design (docs/original.md#nan-mechanism): time a clean step
  ]);
  const rng = new Rng(0);
  const dim = config.text_embedding_dim;
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const texts = { dim, user: random(ML100K_USERS * dim), item: random((ML100K_ITEMS + 1) * dim) };
  const userIds = Array.from({ length: ML100K_USERS }, (_, i) => i + 1);
  const model = new Ur4Rec(config, { numItems: ML100K_ITEMS, userIds }, texts, rng.fork("init"));
  const name = `ur4rec_step_b32_l50_d64_neg${config.num_negatives}`;
  return stepCase(name, model, config, randomBatch(config, ML100K_ITEMS, rng));
}

/** configs/sasrec_ml100k.yaml (plus `sets`) and its dataset: ML-100K when the data is there (UR4REC_DATA_DIR or
 * ../shared/data), else synthetic data of ML-100K's size generated in a temporary directory; `data` says which. */
async function ml100k(sets: string[]): Promise<{ config: Config; ds: Dataset; data: string }> {
  const shared = new URL("../../shared/data", import.meta.url).pathname;
  const dirs = [Deno.env.get("UR4REC_DATA_DIR"), shared].filter((d): d is string => !!d);
  for (const dir of dirs) {
    try {
      await Deno.stat(`${dir}/ml-100k/u.data`);
    } catch {
      continue;
    }
    const config = await loadConfig(SASREC_ML100K, [...sets, `data_dir=${dir}`]);
    return { config, ds: await loadDataset(config), data: `${dir}/ml-100k` };
  }
  const synthetic = [`synthetic_users=${ML100K_USERS}`, `synthetic_items=${ML100K_ITEMS}`, "dataset=synthetic"];
  const dir = await Deno.makeTempDir({ prefix: "ur4rec-bench-" });
  try {
    const config = await loadConfig(SASREC_ML100K, [...sets, ...synthetic, `data_dir=${dir}`]);
    return { config, ds: await loadDataset(config), data: `synthetic ${ML100K_USERS}x${ML100K_ITEMS} (no ML-100K)` };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The first-profile SASRec shape (L50 d64 H2 N2, docs/performance.md#first-profile) as `--set`s over
 * configs/sasrec_ml100k.yaml.
 */
const L50_SETS = ["max_seq_len=50", "sasrec_hidden_dim=64", "sasrec_num_heads=2"];

/** Full-ranking evaluation (test split) of every ML-100K user with an untrained SASRec of configs/sasrec_ml100k.yaml
 * plus `sets`. */
async function evalFull(name: string, sets: string[]): Promise<BenchCase> {
  const { config, ds, data } = await ml100k([...sets, "eval_protocol=full"]);
  const model = new SasRec(sasRecOptions(config), ds.numItems, new Rng(0).fork("init"));
  const batches = evalBatches(ds, config, "test");
  const opts = { ...evalOptions(config), itemExists: ds.itemExists };
  return {
    name,
    run: async () => void await evaluate(model, batches, opts),
    dispose: () => model.dispose(),
    extra: {
      data,
      users: ds.splits.length,
      items: ds.numItems,
      seq_len: config.max_seq_len,
      hidden: config.sasrec_hidden_dim,
      eval_batch_size: config.eval_batch_size,
    },
  };
}

/** One real training epoch of configs/sasrec_ml100k.yaml (batches built inside the timing). */
async function sasrecEpoch(): Promise<BenchCase> {
  const { config, ds, data } = await ml100k([]);
  const model = new SasRec(sasRecOptions(config), ds.numItems, new Rng(0).fork("init"));
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(config));
  let epoch = 0, step = 0;
  const steps = Math.ceil(ds.splits.length / config.batch_size);
  return {
    name: "sasrec_epoch_ml100k_l200",
    run: async () => {
      for (const batch of trainBatches(ds, config, epochRng(config.seed, "bench", epoch++))) {
        batch.seed = step;
        await trainStep(model, optimizer, batch, config, ["sasrec"], step++);
      }
    },
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
    extra: { data, steps_per_epoch: steps },
  };
}

/** A case's maker; `long` cases get fewer runs; `torch` is the PyTorch reference's shape for a SASRec step. */
interface CaseEntry {
  make: () => BenchCase | Promise<BenchCase>;
  long?: boolean;
  torch?: Record<string, number>;
}

const TORCH_ITEMS = ML100K_ITEMS + 1;
/** The attention cores of the l50 and l200 steps (dropout as in their configs). */
const ATTN_L50 = { batch: 128, len: 50, heads: 2, dk: 32, dropout: 0.2 };
const ATTN_L200 = { batch: 128, len: 200, heads: 1, dk: 50, dropout: 0.2 };

/** Every case by short name (`--only`, bench/profile.ts), in run order. */
export const CASES: Record<string, CaseEntry> = {
  l50: { make: sasrecStepL50, torch: { batch: 128, len: 50, dim: 64, heads: 2, blocks: 2, items: TORCH_ITEMS } },
  l200: { make: sasrecStepL200, torch: { batch: 128, len: 200, dim: 50, heads: 1, blocks: 2, items: TORCH_ITEMS } },
  ur4rec: { make: ur4recStep },
  eval: { make: () => evalFull("eval_full_ml100k", L50_SETS), long: true },
  eval200: { make: () => evalFull("eval_full_ml100k_l200", []), long: true },
  epoch: { make: sasrecEpoch, long: true },
  attn50: { make: () => attentionCase("attention_core_b128_l50_h2_dk32", ATTN_L50) },
  attn200: { make: () => attentionCase("attention_core_b128_l200_h1_dk50", ATTN_L200) },
};

/** Runs a case and prints its record. */
async function report(c: BenchCase, counts: RunCounts): Promise<BenchRecord> {
  const record = await measure(c.name, c.run, counts, c.extra);
  console.log(JSON.stringify(record));
  return record;
}

/** Alternates the stock wasm kernels and the overrides (WASM_OVERRIDES) on one case, round-robin; prints both
 * medians. */
async function compareKernels(c: BenchCase, counts: RunCounts): Promise<void> {
  const times: Record<string, number[]> = { stock: [], fast: [] };
  for (const variant of ["stock", "fast"]) {
    setFastKernels(variant === "fast");
    for (let i = 0; i < counts.warmup; i++) await c.run();
  }
  for (let i = 0; i < counts.runs; i++) {
    for (const variant of ["stock", "fast"]) {
      setFastKernels(variant === "fast");
      const start = performance.now();
      await c.run();
      times[variant].push(performance.now() - start);
    }
  }
  setFastKernels(true);
  const [stock, fast] = [median(times.stock), median(times.fast)];
  console.log(JSON.stringify({
    name: `${c.name}_stock_vs_fast_kernels`,
    stock_median_ms: Math.round(stock),
    fast_median_ms: Math.round(fast),
    speedup: Math.round((stock / fast) * 100) / 100,
    runs: counts.runs,
  }));
}

/** The PyTorch reference step at one shape, or null (with a JSON line saying why) when torch is unavailable. */
async function torchStep(name: string, shape: Record<string, number>, steps: number): Promise<BenchRecord | null> {
  const args = [TORCH_SCRIPT, "--name", name, "--steps", String(steps)];
  for (const [k, v] of Object.entries(shape)) args.push(`--${k}`, String(v));
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("/usr/bin/python3", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    console.log(JSON.stringify({ name, skipped: `cannot run /usr/bin/python3: ${(e as Error).message}` }));
    return null;
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    console.log(JSON.stringify({ name, skipped: why }));
    return null;
  }
  const record = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as BenchRecord;
  console.log(JSON.stringify(record));
  return record;
}

/** The command line of `deno task bench`. */
export const BENCH_SPEC: CommandSpec = {
  usage: "deno task bench",
  summary: "Training-step, evaluation and epoch timings on the configured backend (wasm by default).",
  details: [
    "Prints one JSON line per case, plus the PyTorch reference (bench/sasrec_torch.py) at the two SASRec shapes " +
    "and the tfjs/PyTorch ratios.",
  ],
  flags: {
    quick: { type: "boolean", description: "fewer warm-up and timed runs" },
    compare: {
      type: "boolean",
      description: "also time the stock wasm kernels against the overrides of src/backend, alternated in one process",
    },
    only: { type: "string", value: "CASES", description: "comma-separated case names (l50,l200,...)" },
    ...commonFlags("backend"),
  },
};

async function main() {
  const { values } = parseCli(BENCH_SPEC, Deno.args) as {
    values: { quick?: boolean; compare?: boolean; only?: string; backend?: string };
  };
  const quick = values.quick ?? false;
  const steps: RunCounts = quick ? { warmup: 1, runs: 3 } : { warmup: 2, runs: 8 };
  const long: RunCounts = quick ? { warmup: 1, runs: 2 } : { warmup: 1, runs: 5 };
  const backend = await initBackend(parseBackend(values.backend, "--backend"));
  console.log(JSON.stringify({ name: "env", backend, deno: Deno.version.deno, tfjs: tf.version.tfjs, quick }));
  const only = values.only?.split(",");
  for (const key of only ?? []) {
    if (!(key in CASES)) throw new UserError(`--only ${key}: expected one of ${Object.keys(CASES).join(", ")}`);
  }
  let torchMissing = false;
  for (const [key, entry] of Object.entries(CASES)) {
    if (only && !only.includes(key)) continue;
    const c = await entry.make();
    let tfjsMs: number;
    try {
      tfjsMs = (await report(c, entry.long ? long : steps)).median_ms;
      if (values.compare && backend === "wasm") {
        await compareKernels(c, entry.long ? long : steps);
        await compareAttention(c, entry.long ? long : steps);
      }
    } finally {
      c.dispose();
    }
    if (!entry.torch || torchMissing) continue;
    const torch = await torchStep(`torch_${c.name}`, entry.torch, steps.runs);
    torchMissing = torch === null;
    if (torch) {
      const ratio = Math.round((tfjsMs / torch.median_ms) * 100) / 100;
      console.log(JSON.stringify({ name: `ratio_tfjs_over_torch_${c.name}`, ratio_tfjs_over_torch: ratio }));
    }
  }
}

if (import.meta.main) runMain(main);
