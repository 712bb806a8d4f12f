import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { type OptimizerKeys, optimizerOptions } from "../src/config/resolve.ts";
import { ModuleOptimizer, type OptimizerState } from "../src/train/optimizer.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose, flat } from "./helpers.ts";

const baseConfig: OptimizerKeys = {
  sasrec_lr: 0.1,
  retriever_lr: 0.01,
  weight_decay: 0,
  grad_clip: 0,
  warmup_steps: 0,
  lr_schedule: "constant",
  cosine_t_max: 1000,
};

/** Two modules with fixed starting values: sasrec [a (2), b (2x2)], retriever [c (3)]. */
function makeModules(): Record<string, tf.Variable[]> {
  return {
    sasrec: [tf.variable(tf.tensor1d([1, -2])), tf.variable(tf.tensor2d([[0.5, 0], [-1, 3]]))],
    retriever: [tf.variable(tf.tensor1d([0.2, 0.4, -0.6]))],
  };
}

/** Gradients of sum(w^2 * (i + 1)) + sum(w) per variable: deterministic and step-dependent. */
function quadraticGrads(modules: Record<string, tf.Variable[]>): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const grads: Record<string, tf.Tensor> = {};
    for (const vars of Object.values(modules)) {
      vars.forEach((v, i) => grads[v.name] = tf.keep(v.mul(2 * (i + 1)).add(1)));
    }
    return grads;
  });
}

function values(modules: Record<string, tf.Variable[]>): number[][] {
  return Object.values(modules).flat().map(flat);
}

function disposeModules(modules: Record<string, tf.Variable[]>): void {
  tf.dispose(Object.values(modules).flat());
}

/** Runs `steps` steps of the quadratic objective from global step `from` on the given modules. */
async function run(
  opt: ModuleOptimizer,
  modules: Record<string, tf.Variable[]>,
  active: string[],
  from: number,
  steps: number,
) {
  for (let s = from; s < from + steps; s++) {
    const grads = quadraticGrads(modules);
    await opt.step(grads, active, s);
    tf.dispose(Object.values(grads));
  }
}

Deno.test("optimizer: AdamW matches a hand-computed 2-step example with weight decay", async () => {
  await initBackend("wasm");
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new ModuleOptimizer(
    { sasrec: [p] },
    optimizerOptions({ ...baseConfig, sasrec_lr: 0.1, weight_decay: 0.1 }),
  );
  const gradSteps = [[0.5, -1], [0.1, 0.3]];
  // Reference in float64: PyTorch AdamW, p <- p (1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps).
  const ref = [1, -2];
  const m = [0, 0];
  const v = [0, 0];
  for (const [t, g] of gradSteps.entries()) {
    for (let i = 0; i < 2; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2;
      const mHat = m[i] / (1 - 0.9 ** (t + 1));
      const vHat = v[i] / (1 - 0.999 ** (t + 1));
      ref[i] = ref[i] * (1 - 0.1 * 0.1) - 0.1 * mHat / (Math.sqrt(vHat) + 1e-8);
    }
    const grad = tf.tensor1d(g);
    const stats = await opt.step({ [p.name]: grad }, ["sasrec"], t);
    grad.dispose();
    assert.deepEqual(stats.lr, { sasrec: 0.1 });
    assertClose([stats.gradNorm.sasrec], [Math.hypot(...g)], 1e-6, "grad norm");
  }
  // Step 1: [1 * 0.99 - 0.1, -2 * 0.99 + 0.1] = [0.89, -1.88]; step 2 by the loop above.
  assertClose(flat(p), ref, 1e-6, "parameters after 2 steps");
  assertClose(flat(opt.getState().tensors["sasrec/0/m"]), m, 1e-7, "first moments");
  assertClose(flat(opt.getState().tensors["sasrec/0/v"]), v, 1e-9, "second moments");
  opt.dispose();
  p.dispose();
});

Deno.test("optimizer: with weight_decay 0 it matches tf.train.adam (eps 1e-8) within 1e-6 over 5 steps", async () => {
  await initBackend("wasm");
  const ours = makeModules();
  const theirs = makeModules();
  // tf.train.adam keeps beta^t in float32 (1 - 0.999 is off by 1e-5 relative), we use float64 as PyTorch does:
  // each step's update differs by about 5e-6 * lr, so the comparison runs at lr 0.01.
  const opt = new ModuleOptimizer(ours, optimizerOptions({ ...baseConfig, sasrec_lr: 0.01, retriever_lr: 0.01 }));
  const adam = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
  for (let s = 0; s < 5; s++) {
    await run(opt, ours, ["sasrec", "retriever"], s, 1);
    const grads = quadraticGrads(theirs);
    adam.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose(Object.values(grads));
  }
  const [a, b] = [values(ours).flat(), values(theirs).flat()];
  assertClose(a, b, 1e-6, "parameters");
  assert.ok(Math.abs(a[0] - 1) > 0.04, "the parameters moved");
  opt.dispose();
  adam.dispose();
  disposeModules(ours);
  disposeModules(theirs);
});

Deno.test("optimizer: per-module learning rates and schedule; inactive modules stay untouched", async () => {
  await initBackend("wasm");
  const modules = makeModules();
  const config: OptimizerKeys = { ...baseConfig, warmup_steps: 4 };
  const opt = new ModuleOptimizer(modules, optimizerOptions(config));
  const before = values(modules);
  const grads = quadraticGrads(modules);
  const stats = await opt.step(grads, ["sasrec"], 1);
  assert.deepEqual(stats.lr, { sasrec: 0.1 * 2 / 4 });
  assert.deepEqual(Object.keys(stats.gradNorm), ["sasrec"]);
  const after = values(modules);
  assert.notDeepEqual(after[0], before[0]);
  assert.deepEqual(after[2], before[2], "retriever not stepped");
  assert.deepEqual(opt.getState().meta.steps, { "sasrec/0": 1, "sasrec/1": 1, "retriever/0": 0 });
  assert.deepEqual((await opt.step(grads, ["retriever"], 3)).lr, { retriever: 0.01 });
  assert.equal(opt.learningRate("bprmf", 0), 0.1 / 4, "bprmf trains at sasrec_lr");
  assert.equal(opt.learningRate("fusion", 10), 0.01, "fusion trains at retriever_lr");
  // A variable without a gradient is skipped and keeps its own step count.
  const onlyFirst = { [modules.sasrec[0].name]: grads[modules.sasrec[0].name] };
  await opt.step(onlyFirst, ["sasrec"], 4);
  assert.deepEqual(opt.getState().meta.steps, { "sasrec/0": 2, "sasrec/1": 1, "retriever/0": 1 });
  await assert.rejects(() => opt.step(grads, ["moe"], 5), /unknown module "moe"/);
  tf.dispose(Object.values(grads));
  opt.dispose();
  disposeModules(modules);
});

Deno.test("optimizer: clips each module's global L2 norm to grad_clip and reports the pre-clip norm", async () => {
  await initBackend("wasm");
  for (const clip of [0, 1, 10]) {
    const a = tf.variable(tf.zeros([1]));
    const b = tf.variable(tf.zeros([1]));
    const c = tf.variable(tf.zeros([1]));
    const opt = new ModuleOptimizer(
      { sasrec: [a, b], retriever: [c] },
      optimizerOptions({ ...baseConfig, grad_clip: clip }),
    );
    const grads = { [a.name]: tf.tensor1d([3]), [b.name]: tf.tensor1d([4]), [c.name]: tf.tensor1d([0.5]) };
    const stats = await opt.step(grads, ["sasrec", "retriever"], 0);
    assertClose([stats.gradNorm.sasrec, stats.gradNorm.retriever], [5, 0.5], 1e-6, "pre-clip norms");
    // The first moment is (1 - beta1) * clipped gradient; clipping scales by clip / (5 + 1e-6).
    const scale = clip > 0 && clip < 5 ? clip / (5 + 1e-6) : 1;
    const state = opt.getState().tensors;
    assertClose([...flat(state["sasrec/0/m"]), ...flat(state["sasrec/1/m"])], [0.3 * scale, 0.4 * scale], 1e-7);
    assertClose(flat(state["retriever/0/m"]), [0.05], 1e-7, "retriever under the clip: unchanged");
    tf.dispose([...Object.values(grads), a, b, c]);
    opt.dispose();
  }
});

Deno.test("optimizer: state round-trips exactly: 3 steps + restore + 2 steps equals 5 uninterrupted steps", async () => {
  await initBackend("wasm");
  const config: OptimizerKeys = { ...baseConfig, weight_decay: 0.01, grad_clip: 1, warmup_steps: 2 };
  const straight = makeModules();
  const straightOpt = new ModuleOptimizer(straight, optimizerOptions(config));
  await run(straightOpt, straight, ["sasrec", "retriever"], 0, 5);

  const first = makeModules();
  const firstOpt = new ModuleOptimizer(first, optimizerOptions(config));
  await run(firstOpt, first, ["sasrec", "retriever"], 0, 3);
  // What a checkpoint holds: plain arrays of the parameters and of the optimizer state.
  const savedParams = values(first);
  const state = firstOpt.getState();
  const savedState = Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => [k, [t.shape, t.dataSync()]]));
  const savedMeta = structuredClone(state.meta);
  firstOpt.dispose();
  disposeModules(first);

  const resumed = makeModules();
  Object.values(resumed).flat().forEach((v, i) => v.assign(tf.tensor(savedParams[i], v.shape)));
  const resumedOpt = new ModuleOptimizer(resumed, optimizerOptions(config));
  const restored: OptimizerState = {
    tensors: Object.fromEntries(
      Object.entries(savedState).map(([k, [shape, data]]) => [k, tf.tensor(data as Float32Array, shape as number[])]),
    ),
    meta: savedMeta,
  };
  resumedOpt.setState(restored);
  tf.dispose(Object.values(restored.tensors));
  await run(resumedOpt, resumed, ["sasrec", "retriever"], 3, 2);

  assert.deepEqual(values(resumed), values(straight), "bit-for-bit equal parameters");
  const moments = (o: ModuleOptimizer) => Object.values(o.getState().tensors).map(flat);
  assert.deepEqual(moments(resumedOpt), moments(straightOpt), "bit-for-bit equal moments");
  assert.deepEqual(resumedOpt.getState().meta, straightOpt.getState().meta);
  for (const o of [resumedOpt, straightOpt]) o.dispose();
  disposeModules(resumed);
  disposeModules(straight);
});

Deno.test("optimizer: setState rejects missing, unexpected and mis-shaped entries with a UserError", async () => {
  await initBackend("wasm");
  const modules = makeModules();
  const opt = new ModuleOptimizer(modules, optimizerOptions(baseConfig));
  const good = opt.getState();
  const { ["retriever/0/v"]: _dropped, ...missing } = good.tensors;
  const wrongShape = tf.zeros([4]);
  const cases: [OptimizerState, RegExp][] = [
    [{ ...good, tensors: missing }, /missing retriever\/0\/v/],
    [{ ...good, tensors: { ...good.tensors, "moe/0/m": wrongShape } }, /unexpected entries moe\/0\/m/],
    [
      { ...good, tensors: { ...good.tensors, "sasrec/0/m": wrongShape } },
      /sasrec\/0\/m has shape \[4\], expected \[2\]/,
    ],
    [{ ...good, meta: { steps: { ...good.meta.steps, "sasrec/1": -1 } } }, /step count of sasrec\/1 is -1/],
    [{ ...good, meta: { steps: {} } }, /step count of sasrec\/0 is undefined/],
  ];
  for (const [state, message] of cases) {
    assert.throws(() => opt.setState(state), (e: Error) => e instanceof UserError && message.test(e.message));
  }
  wrongShape.dispose();
  opt.dispose();
  disposeModules(modules);
});

Deno.test("optimizer: no tensors leak across 20 steps; dispose frees the moments", async () => {
  await initBackend("wasm");
  const modules = makeModules();
  const before = tf.memory().numTensors;
  const opt = new ModuleOptimizer(modules, optimizerOptions({ ...baseConfig, weight_decay: 0.01, grad_clip: 0.5 }));
  const withState = tf.memory().numTensors;
  assert.equal(withState - before, 6, "two moments for each of the 3 variables");
  await run(opt, modules, ["sasrec", "retriever"], 0, 20);
  assert.equal(tf.memory().numTensors, withState);
  opt.dispose();
  assert.equal(tf.memory().numTensors, before);
  disposeModules(modules);
});

Deno.test("optimizer: on wasm the AdamW kernel gives the tfjs ops' numbers bit for bit (clip, weight decay, 4 steps)", async () => {
  await initBackend("wasm");
  const config = { ...baseConfig, weight_decay: 0.05, grad_clip: 0.5 };
  const results = [true, false].map(async (fused) => {
    const modules = {
      sasrec: [tf.variable(tf.linspace(-2, 3, 37)), tf.variable(tf.tensor2d([[0.5, 0, 1], [-1, 3, 2]]))],
      retriever: [tf.variable(tf.tensor1d([0.2, 0.4, -0.6, 7, -7, 0.01, 1e-6]))],
    };
    const opt = new ModuleOptimizer(modules, optimizerOptions(config));
    opt.fusedUpdate = fused;
    await run(opt, modules, ["sasrec", "retriever"], 0, 4);
    const out = [...values(modules), ...Object.values(opt.getState().tensors).map(flat)];
    opt.dispose();
    disposeModules(modules);
    return out;
  });
  const [fused, ops] = await Promise.all(results);
  assert.deepEqual(fused, ops);
});
