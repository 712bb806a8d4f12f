import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { attentionCore, maskValues, sequenceMasks } from "../src/models/attention.ts";
import { fanInUniform, paddedEmbedding, xavierUniform } from "../src/models/init.ts";
import {
  dropout,
  forwardContext,
  l2Normalize,
  layerNormFast,
  LN_EPS,
  nanToZero,
  stopGradient,
} from "../src/models/layers.ts";
import { ParamStore, stableName } from "../src/models/params.ts";
import { candidatesAt, lastTargetPositions, statePositions } from "../src/models/sequence.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";

function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  return tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * std), shape);
}

function std(values: ArrayLike<number>): number {
  const n = values.length;
  const mean = Array.from(values).reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(Array.from(values).reduce((a, b) => a + (b - mean) ** 2, 0) / n);
}

Deno.test("init: padded embedding has a zero row 0 and the requested std; uniform inits stay in their bounds", async () => {
  await onBackend("cpu", () => {
    const e = paddedEmbedding(new Rng(1), 201, 10, 0.1).arraySync() as number[][];
    assert.deepEqual(e[0], new Array(10).fill(0));
    const rest = e.slice(1).flat();
    assert.ok(Math.abs(std(rest) - 0.1) < 0.006, `std ${std(rest)}`);
    const x = xavierUniform(new Rng(2), [30, 50], 30, 50).dataSync();
    const bound = Math.sqrt(6 / 80);
    assert.ok(Math.max(...x) <= bound && Math.min(...x) >= -bound);
    assert.ok(Math.max(...x) > 0.95 * bound, "xavier fills its range");
    const f = fanInUniform(new Rng(3), [400], 16).dataSync();
    assert.ok(Math.max(...f) <= 0.25 && Math.min(...f) >= -0.25 && Math.max(...f) > 0.24);
  });
});

Deno.test("params: init depends only on seed and name; tfjs names are unique per store, stable names are not", async () => {
  await onBackend("cpu", () => {
    const a = new ParamStore(new Rng(9));
    const va = a.create("m/x", (r) => paddedEmbedding(r, 4, 3, 1));
    a.create("m/y", (r) => xavierUniform(r, [3, 3], 3, 3));
    const b = new ParamStore(new Rng(9));
    b.create("m/y", (r) => xavierUniform(r, [3, 3], 3, 3)); // other order
    const vb = b.create("m/x", (r) => paddedEmbedding(r, 4, 3, 1));
    assert.deepEqual(Array.from(va.dataSync()), Array.from(vb.dataSync()));
    assert.notEqual(va.name, vb.name);
    assert.equal(stableName(va), "m/x");
    assert.deepEqual(a.module("m").map(stableName), ["m/x", "m/y"]);
    assert.throws(() => a.create("m/x", () => tf.zeros([1])), /created twice/);
    const before = tf.memory().numTensors;
    a.dispose();
    b.dispose();
    assert.equal(tf.memory().numTensors, before - 4);
  });
});

Deno.test("layer norm: hand-computed values and hand-written backward equal to autodiff", async () => {
  await onBackend("cpu", () => {
    const out = layerNormFast(tf.tensor2d([[1, 2, 3, 4]]), tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D);
    const r = 1 / Math.sqrt(1.25 + LN_EPS); // mean 2.5, biased variance 1.25
    assertClose(out.dataSync(), [-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r], 1e-6, "LN([1,2,3,4])");

    const rng = new Rng(5);
    const [x, g, b, dy] = [randn(rng, [6, 5], 3), randn(rng, [5]), randn(rng, [5]), randn(rng, [6, 5])];
    const reference = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) => {
      const { mean, variance } = tf.moments(xs, -1, true);
      return xs.sub(mean).div(variance.add(LN_EPS).sqrt()).mul(gs).add(bs);
    };
    const fast = tf.grads((xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) =>
      layerNormFast(xs as tf.Tensor2D, gs as tf.Tensor1D, bs as tf.Tensor1D).mul(dy).sum()
    )([x, g, b]);
    const plain = tf.grads((xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) => reference(xs, gs, bs).mul(dy).sum())([
      x,
      g,
      b,
    ]);
    for (let i = 0; i < 3; i++) assertClose(fast[i].dataSync(), plain[i].dataSync(), 1e-4, `LN grad ${i}`);
  });
});

Deno.test("layer norm on wasm: the kernels equal the tfjs ops (values, three gradients; d with and without a tail)", async () => {
  await onBackend("wasm", () => {
    const r = 1 / Math.sqrt(1.25 + LN_EPS);
    const hand = layerNormFast(
      tf.tensor2d([[1, 2, 3, 4]]),
      tf.ones([4]) as tf.Tensor1D,
      tf.zeros([4]) as tf.Tensor1D,
      true,
    );
    assertClose(hand.dataSync(), [-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r], 1e-6, "LN([1,2,3,4]) by the kernel");
    const rng = new Rng(6);
    for (const d of [3, 5, 8, 50, 64]) {
      const [x, g, b, dy] = [randn(rng, [7, d], 3), randn(rng, [d]), randn(rng, [d]), randn(rng, [7, d])];
      const run = (useKernels: boolean) => {
        const f = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) =>
          layerNormFast(xs as tf.Tensor2D, gs as tf.Tensor1D, bs as tf.Tensor1D, useKernels).mul(dy).sum();
        const y = layerNormFast(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, useKernels);
        return [y, ...tf.grads(f)([x, g, b])].map((t) => t.dataSync());
      };
      const [kernels, ops] = [run(true), run(false)];
      ["y", "dx", "dgamma", "dbeta"].forEach((what, i) => assertClose(kernels[i], ops[i], 1e-4, `d=${d} ${what}`));
    }
    const nanRow = layerNormFast(
      tf.tensor2d([[1, NaN, 3], [1, 2, 3]]),
      tf.ones([3]) as tf.Tensor1D,
      tf.zeros([3]) as tf.Tensor1D,
      true,
    );
    const values = Array.from(nanRow.dataSync());
    assert.ok(values.slice(0, 3).every(Number.isNaN), "a NaN input makes its whole row NaN");
    assertClose(values.slice(3), [-Math.sqrt(1.5), 0, Math.sqrt(1.5)], 1e-4, "the other row is untouched");
  });
});

Deno.test("attention masks: hand-checked causal + key-padding values for left and right padding", () => {
  // left padding [0, 5, 6]: row 0 sees nothing; row 1 sees key 1; row 2 sees keys 1, 2
  const left = maskValues({ inputs: Int32Array.from([0, 5, 6]), batchSize: 1, seqLen: 3 }, "torch");
  const I = -Infinity;
  assert.deepEqual(Array.from(left.additive), [I, I, I, I, 0, I, I, 0, 0]);
  assert.deepEqual(Array.from(left.rowKeep), [0, 1, 1]);
  assert.deepEqual(Array.from(left.timeline), [0, 1, 1]);
  // right padding [5, 6, 0]: the pad query row 2 still sees keys 0, 1
  const right = maskValues({ inputs: Int32Array.from([5, 6, 0]), batchSize: 1, seqLen: 3 }, "safe");
  const M = -1e9;
  assert.deepEqual(Array.from(right.additive), [0, M, M, 0, 0, M, 0, 0, M]);
  assert.deepEqual(Array.from(right.rowKeep), [1, 1, 1]);
  assert.deepEqual(Array.from(right.timeline), [1, 1, 0]);
});

Deno.test("attention masks for the tiled kernels: no dense masks, the same timeline and layout; safe mode only", async () => {
  await onBackend("cpu", () => {
    const seq = { inputs: Int32Array.from([0, 5, 6, 7, 8, 0]), batchSize: 2, seqLen: 3 };
    for (const queries of [undefined, Int32Array.from([0, 2])]) {
      const dense = sequenceMasks(seq, "safe", { queries });
      const tiled = sequenceMasks(seq, "safe", { queries, tiled: true });
      assert.equal(tiled.additive, null);
      assert.equal(tiled.rowKeep, null);
      assert.deepEqual(tiled.layout, dense.layout);
      assert.deepEqual(tiled.timeline!.shape, dense.timeline!.shape);
      // every row: left [0, 5, 6] -> 0, 1, 1; right [7, 8, 0] -> 1, 1, 0; queries 0 and 2 -> 0 (pad), 0 (pad)
      const expected = queries ? [0, 0] : [0, 1, 1, 1, 1, 0];
      assert.deepEqual(Array.from(tiled.timeline!.dataSync()), expected);
      assert.deepEqual(Array.from(dense.timeline!.dataSync()), expected);
      tf.dispose([dense.additive!, dense.rowKeep!, dense.timeline!, tiled.timeline!]);
    }
    assert.throws(() => sequenceMasks(seq, "torch", { tiled: true }), /only take the safe mask/);
  });
});

Deno.test("attention: hand-written backward equals autodiff (safe masks, dropout, zeroed rows)", async () => {
  await onBackend("cpu", () => {
    const rng = new Rng(6);
    const [b, h, t, dk] = [2, 2, 4, 3];
    const inputs = Int32Array.from([0, 0, 3, 4, 1, 2, 3, 4]);
    const masks = sequenceMasks({ inputs, batchSize: b, seqLen: t }, "safe");
    const ctx = forwardContext(true, "test", { seed: 17 });
    const drop = dropout(ctx, tf.ones([b, h, t, t]), 0.3);
    const keep = drop.mul(masks.rowKeep!);
    const [q, k, v, dOut] = [0, 1, 2, 3].map(() => randn(rng, [b * h, t, dk]));
    const grads = (custom: boolean) =>
      tf.grads((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) =>
        attentionCore(qs as tf.Tensor3D, ks as tf.Tensor3D, vs as tf.Tensor3D, {
          additive: masks.additive!,
          keep,
          heads: h,
        }, custom)
          .mul(dOut).sum()
      )([q, k, v]);
    const fast = grads(true), plain = grads(false);
    for (let i = 0; i < 3; i++) assertClose(fast[i].dataSync(), plain[i].dataSync(), 1e-5, `d${"qkv"[i]}`);
    // fully masked query rows (row 0, positions 0 and 1) give exactly zero output
    const out = attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, {
      additive: masks.additive!,
      keep,
      heads: h,
    }, true);
    const rows = out.arraySync() as number[][][];
    for (const head of [0, 1]) for (const pos of [0, 1]) assert.deepEqual(rows[head][pos], [0, 0, 0]);
  });
});

Deno.test("dropout: identity in eval; seeded in training; kept values scaled by 1/(1-p)", async () => {
  await onBackend("cpu", () => {
    const x = tf.ones([2000]);
    assert.equal(dropout(forwardContext(false, "d", { seed: 1 }), x, 0.25), x);
    const a = dropout(forwardContext(true, "d", { seed: 1 }), x, 0.25).dataSync();
    const again = dropout(forwardContext(true, "d", { seed: 1 }), x, 0.25).dataSync();
    const other = dropout(forwardContext(true, "d", { seed: 2 }), x, 0.25).dataSync();
    assert.deepEqual(Array.from(a), Array.from(again));
    assert.notDeepEqual(Array.from(a), Array.from(other));
    assert.ok(Array.from(a).every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
    const kept = Array.from(a).filter((v) => v > 0).length / 2000;
    assert.ok(Math.abs(kept - 0.75) < 0.04, `kept ${kept}`);
  });
});

Deno.test("nanToZero, l2Normalize, stopGradient: values and gradients", async () => {
  await onBackend("cpu", () => {
    const x = tf.tensor1d([1, NaN, 3]);
    assert.deepEqual(Array.from(nanToZero(x).dataSync()), [1, 0, 3]);
    assert.deepEqual(Array.from(tf.grad((t: tf.Tensor) => nanToZero(t).mul(2).sum())(x).dataSync()), [2, 0, 2]);
    const rows = tf.tensor2d([[3, 4], [0, 0]]);
    assertClose(l2Normalize(rows).dataSync(), [0.6, 0.8, 0, 0], 1e-6);
    const g = tf.grad((t: tf.Tensor) => l2Normalize(t).sum())(rows).dataSync();
    assert.ok(Array.from(g).every(Number.isFinite), "finite gradient at a zero row");
    // d/dx of (x/|x|) summed, at (3,4): (1 - x·sum/|x|²)/|x| = [(1 - 3·7/25)/5, (1 - 4·7/25)/5]
    assertClose(g.slice(0, 2), [(1 - 21 / 25) / 5, (1 - 28 / 25) / 5], 1e-6);
    assert.deepEqual(Array.from(tf.grad((t: tf.Tensor) => stopGradient(t).mul(t).sum())(x.slice(0, 1)).dataSync()), [
      1,
    ]);
  });
});

Deno.test("sequence positions: state (last/stale) and last target, left and right padding", () => {
  const left = Int32Array.from([0, 0, 7, 8, 9, 0, 0, 0, 0, 0]); // rows [_, _, 7, 8, 9], [_, _, _, _, _]
  assert.deepEqual(Array.from(statePositions({ inputs: left, batchSize: 2, seqLen: 5 }, "last")), [4, 4]);
  assert.deepEqual(Array.from(statePositions({ inputs: left, batchSize: 2, seqLen: 5 }, "stale")), [2, 4]);
  const right = Int32Array.from([7, 8, 9, 0, 0]);
  assert.deepEqual(Array.from(statePositions({ inputs: right, batchSize: 1, seqLen: 5 }, "last")), [2]);
  assert.deepEqual(Array.from(statePositions({ inputs: right, batchSize: 1, seqLen: 5 }, "stale")), [2]);
  const positives = Int32Array.from([0, 4, 5, 0, 6, 7, 0, 0]);
  assert.deepEqual(Array.from(lastTargetPositions(positives, 2, 4)), [2, 1]);
  const negatives = Int32Array.from([0, 0, 10, 11, 12, 13, 0, 0, 0, 0, 14, 15, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(candidatesAt(positives, negatives, Int32Array.from([2, 1]), 4, 2)), [
    5,
    12,
    13,
    7,
    14,
    15,
  ]);
});
