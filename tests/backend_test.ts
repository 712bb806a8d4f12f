import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend, parseBackend } from "../src/backend/backend.ts";
import { WASM_POLYFILLS } from "../src/backend/wasm_kernels.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";

Deno.test("wasm is the default backend and has SIMD", async () => {
  const name = await initBackend();
  assert.equal(name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), true);
});

Deno.test("parseBackend: names pass, empty means unset, anything else is a UserError naming the flag", () => {
  assert.equal(parseBackend("webgpu", "--backend"), "webgpu");
  assert.equal(parseBackend(undefined, "--backend"), undefined);
  assert.equal(parseBackend("", "--backend"), undefined);
  assert.throws(() => parseBackend("tpu", "--backend"), {
    name: "UserError",
    message: "--backend=tpu: expected one of wasm, cpu, webgpu",
  });
});

Deno.test("every polyfilled wasm kernel is registered and was missing upstream", async () => {
  await initBackend("wasm");
  assert.ok(WASM_POLYFILLS.length > 0);
  for (const k of WASM_POLYFILLS) {
    assert.ok(tf.getKernel(k.kernelName, "wasm"), `${k.kernelName} registered on wasm`);
    assert.ok(tf.getKernel(k.kernelName, "cpu"), `${k.kernelName} exists on cpu to compare against`);
  }
});

function segmentSumCase(dtype: "float32" | "int32") {
  const rng = new Rng(7);
  const rows = 37, inner = 5, segments = 11;
  const xs = Array.from({ length: rows * inner }, () => dtype === "int32" ? rng.int(-50, 50) : rng.normal());
  const ids = Array.from({ length: rows }, () => rng.int(0, segments));
  return () => {
    const x = tf.tensor2d(xs, [rows, inner], dtype);
    const out = tf.unsortedSegmentSum(x, tf.tensor1d(ids, "int32"), segments);
    return Array.from(out.dataSync());
  };
}

Deno.test("UnsortedSegmentSum on wasm equals cpu (float32 and int32, with hand-checked buckets)", async () => {
  for (const dtype of ["float32", "int32"] as const) {
    const run = segmentSumCase(dtype);
    const cpu = await onBackend("cpu", run);
    const wasm = await onBackend("wasm", run);
    assertClose(wasm, cpu, 1e-5, `UnsortedSegmentSum ${dtype}`);
  }
  // hand-computed: rows [1],[2],[3],[4] into segments [2,0,2,1] -> [2,4,4]
  const out = await onBackend(
    "wasm",
    () =>
      Array.from(
        tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4], [4, 1]), tf.tensor1d([2, 0, 2, 1], "int32"), 3).dataSync(),
      ),
  );
  assert.deepEqual(out, [2, 4, 4]);
});

Deno.test("gather gradient (uses UnsortedSegmentSum) agrees between wasm and cpu", async () => {
  const rng = new Rng(3);
  const table = Array.from({ length: 20 * 6 }, () => rng.normal());
  const ids = Array.from({ length: 4 * 9 }, () => rng.int(0, 20));
  const weights = Array.from({ length: 4 * 9 * 6 }, () => rng.normal());
  const run = () => {
    const e = tf.tensor2d(table, [20, 6]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.gather(t, tf.tensor2d(ids, [4, 9], "int32")).mul(tf.tensor3d(weights, [4, 9, 6])).sum()
    )(e);
    return Array.from(g.dataSync());
  };
  assertClose(await onBackend("wasm", run), await onBackend("cpu", run), 1e-5, "d table");
});

/** A 2-block causal self-attention model with gather embeddings: one full loss + gradient evaluation. */
function attentionStep(seed: number) {
  const rng = new Rng(seed);
  const [B, L, D, N] = [3, 7, 8, 15];
  const init = (shape: number[], std: number) =>
    tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal() * std), shape);
  const params: Record<string, tf.Tensor> = { emb: init([N, D], 0.3), pos: init([L, D], 0.3) };
  for (let b = 0; b < 2; b++) {
    for (const w of ["q", "k", "v", "o", "f1", "f2"]) params[`${w}${b}`] = init([D, D], 0.3);
    params[`g${b}`] = tf.ones([D]);
  }
  const ids = Array.from({ length: B * L }, (_, i) => (i % L) < 2 && i < L ? 0 : rng.int(1, N));
  const targets = Array.from({ length: B * L }, () => rng.int(1, N));
  const mask = tf.linalg.bandPart(tf.ones([L, L]), -1, 0).sub(1).mul(1e9);
  const names = Object.keys(params);
  const loss = (...vals: tf.Tensor[]) => {
    const p = Object.fromEntries(names.map((n, i) => [n, vals[i]]));
    let x = tf.gather(p.emb, tf.tensor2d(ids, [B, L], "int32")).add(p.pos) as tf.Tensor3D;
    for (let b = 0; b < 2; b++) {
      const flatX = x.reshape([B * L, D]);
      const q = flatX.matMul(p[`q${b}`]).reshape([B, L, D]);
      const k = flatX.matMul(p[`k${b}`]).reshape([B, L, D]);
      const v = flatX.matMul(p[`v${b}`]).reshape([B, L, D]);
      const att = tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(D)).add(mask));
      const a = tf.matMul(att, v).reshape([B * L, D]).matMul(p[`o${b}`]);
      const h = flatX.add(a);
      const { mean, variance } = tf.moments(h, -1, true);
      const n = h.sub(mean).div(variance.add(1e-5).sqrt()).mul(p[`g${b}`]);
      x = n.add(tf.relu(n.matMul(p[`f1${b}`])).matMul(p[`f2${b}`])).reshape([B, L, D]);
    }
    const logits = x.reshape([B * L, D]).matMul(p.emb, false, true);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, "int32"), N), logits) as tf.Scalar;
  };
  return () => {
    const { value, grads } = tf.valueAndGrads(loss)(names.map((n) => params[n]));
    return { loss: value.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
  };
}

Deno.test("a 2-block self-attention training step runs on wasm and its gradients match cpu (< 1e-4)", async () => {
  const wasm = await onBackend("wasm", attentionStep(11));
  const cpu = await onBackend("cpu", attentionStep(11));
  assert.ok(Number.isFinite(wasm.loss));
  assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-4, `loss ${wasm.loss} vs ${cpu.loss}`);
  wasm.grads.forEach((g, i) => assertClose(g, cpu.grads[i], 1e-4, `grad ${i}`));
  await initBackend("wasm");
});
