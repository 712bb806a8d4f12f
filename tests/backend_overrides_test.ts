import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { WASM_OVERRIDES } from "../src/backend/wasm_kernels.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";

/** Deterministic normal values of `shape`. */
function values(shape: number[], seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

/** Runs `fn` on wasm and on cpu; returns both flat results. */
async function both(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ wasm: number[][]; cpu: number[][] }> {
  const read = () => tf.tidy(() => [fn()].flat()).map((t) => Array.from(t.dataSync()));
  return { wasm: await onBackend("wasm", read), cpu: await onBackend("cpu", read) };
}

/** The backend's count of live buffers (views registered by the overrides must not stay behind). */
function liveBuffers(): number {
  return tf.engine().backend.numDataIds();
}

Deno.test("every override replaces a stock wasm kernel that the cpu backend also has", async () => {
  await initBackend("wasm");
  for (const k of WASM_OVERRIDES) {
    assert.equal(tf.getKernel(k.kernelName, "wasm")?.kernelFunc, k.kernelFunc, `${k.kernelName} overridden`);
    assert.ok(tf.getKernel(k.kernelName, "cpu"), `${k.kernelName} on cpu`);
  }
});

Deno.test("BatchMatMul fast path: hand-computed batched product (ones times per-slice constants)", async () => {
  const out = await onBackend("wasm", () =>
    tf.tidy(() => {
      const a = tf.ones([2, 16, 16]);
      const b = tf.concat([tf.fill([1, 16, 16], 1), tf.fill([1, 16, 16], 2)]);
      return Array.from(tf.matMul(a, b, true, false).dataSync());
    }));
  assert.deepEqual([...new Set(out.slice(0, 256))], [16]);
  assert.deepEqual([...new Set(out.slice(256))], [32]);
});

/** [a shape, b shape] pairs: batched, broadcast (one side without batch: rank-2 b or a), 2-D, odd sizes. (tfjs
 * 4.22's cpu kernel does not broadcast two batch shapes against each other, e.g. [3,1,..] x [1,4,..].) */
const MATMUL_SHAPES: [number[], number[]][] = [
  [[5, 17, 23], [5, 23, 13]],
  [[6, 17, 23], [23, 13]],
  [[17, 23], [6, 23, 13]],
  [[2, 3, 19, 31], [31, 9]],
  [[2, 3, 19, 31], [2, 3, 31, 9]],
  [[37, 29], [29, 41]],
  [[3, 4, 5], [3, 5, 2]], // narrower than one vector: only edge tiles
  [[2, 9, 300], [300, 11]], // the summed dimension in three blocks (128 + 128 + 44)
  [[4, 0], [0, 3]], // nothing to sum: zeros
];

/** The operand shape that, with the flag set, gives the product `shape` describes. */
function stored(shape: number[], transposed: boolean): number[] {
  const r = shape.length;
  return transposed ? [...shape.slice(0, r - 2), shape[r - 1], shape[r - 2]] : shape;
}

Deno.test("BatchMatMul on wasm equals cpu for every transpose flag combination and broadcast shape", async () => {
  for (const [sa, sb] of MATMUL_SHAPES) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const [shapeA, shapeB] = [stored(sa, ta), stored(sb, tb)];
      const [va, vb] = [values(shapeA, 1), values(shapeB, 2)];
      const { wasm, cpu } = await both(() => tf.matMul(tf.tensor(va, shapeA), tf.tensor(vb, shapeB), ta, tb));
      assertClose(wasm[0], cpu[0], 1e-4, `matMul [${shapeA}] x [${shapeB}] tA=${ta} tB=${tb}`);
    }
  }
});

Deno.test("_FusedMatMul (x W + b) on wasm equals cpu: bias or none, transposes, batches; values and gradients", async () => {
  // (tfjs 4.22's fused matMul gradient does not reduce a broadcast b, on any backend: no [6, 17, 23] x [23, 13] here)
  for (const [sa, sb] of [[[37, 29], [29, 41]], [[5, 17, 23], [5, 23, 13]]]) {
    const n = sb[sb.length - 1];
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      for (const withBias of [true, false]) {
        const [shapeA, shapeB] = [stored(sa, ta), stored(sb, tb)];
        const [va, vb, vbias] = [values(shapeA, 6), values(shapeB, 7), values([n], 8)];
        const { wasm, cpu } = await both(() => {
          const [a, b, bias] = [tf.tensor(va, shapeA), tf.tensor(vb, shapeB), tf.tensor1d(vbias)];
          const fused = (x: tf.Tensor, w: tf.Tensor, c?: tf.Tensor) =>
            tf.fused.matMul({ a: x, b: w, transposeA: ta, transposeB: tb, bias: c });
          const f = (...xs: tf.Tensor[]) => fused(xs[0], xs[1], xs[2]).square().sum();
          return [fused(a, b, withBias ? bias : undefined), ...tf.grads(f)(withBias ? [a, b, bias] : [a, b])];
        });
        const what = `[${shapeA}] x [${shapeB}] tA=${ta} tB=${tb} bias=${withBias}`;
        assert.equal(wasm.length, withBias ? 4 : 3);
        ["y", "da", "db", "dbias"].slice(0, wasm.length).forEach((name, i) =>
          assertClose(wasm[i], cpu[i], 2e-3, `${what} ${name}`)
        );
      }
    }
  }
});

Deno.test("BatchMatMul gradients on wasm equal cpu (attention-like shapes, all flags)", async () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const [shapeA, shapeB] = [stored([6, 21, 16], ta), stored([6, 16, 21], tb)];
    const [va, vb, vw] = [values(shapeA, 3), values(shapeB, 4), values([6, 21, 21], 5)];
    const { wasm, cpu } = await both(() => {
      const w = tf.tensor(vw, [6, 21, 21]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb).mul(w).sum();
      return tf.grads(f)([tf.tensor(va, shapeA), tf.tensor(vb, shapeB)]);
    });
    assertClose(wasm[0], cpu[0], 1e-4, `d a tA=${ta} tB=${tb}`);
    assertClose(wasm[1], cpu[1], 1e-4, `d b tA=${ta} tB=${tb}`);
  }
});

Deno.test("the overrides leave no tensors or heap buffers behind", async () => {
  await initBackend("wasm");
  const a = tf.tensor(values([4, 30, 20], 6), [4, 30, 20]);
  const b = tf.tensor(values([4, 30, 20], 7), [4, 30, 20]);
  const before = { tensors: tf.memory().numTensors, buffers: liveBuffers() };
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      tf.matMul(a, b, true, false).dataSync();
      tf.matMul(a, b, false, true).dataSync();
      tf.gather(a, [3, 0, 3]).sum(0).transpose().dataSync();
      tf.transpose(b, [0, 2, 1]).dataSync();
    });
  }
  assert.deepEqual({ tensors: tf.memory().numTensors, buffers: liveBuffers() }, before);
  tf.dispose([a, b]);
});

Deno.test("GatherV2 on wasm equals cpu (axes, batchDims, int32) and rejects out-of-range ids", async () => {
  const x = values([7, 5, 6], 8);
  const cases: [string, () => tf.Tensor][] = [
    ["axis 0", () => tf.gather(tf.tensor(x, [7, 5, 6]), tf.tensor2d([[6, 0, 2], [2, 2, 1]], [2, 3], "int32"))],
    ["axis 1", () => tf.gather(tf.tensor(x, [7, 5, 6]), tf.tensor1d([4, 0, 4, 1], "int32"), 1)],
    ["axis 2", () => tf.gather(tf.tensor(x, [7, 5, 6]), tf.tensor1d([5, 0], "int32"), 2)],
    [
      "batchDims 1",
      () =>
        tf.gather(
          tf.tensor(x, [7, 5, 6]),
          tf.tensor2d(values([7, 2], 9).map((v) => Math.abs(Math.round(v * 2)) % 5), [7, 2], "int32"),
          1,
          1,
        ),
    ],
    ["int32", () => tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], "int32"), tf.tensor1d([2, 0, 2], "int32"))],
  ];
  for (const [what, fn] of cases) {
    const { wasm, cpu } = await both(fn);
    assert.deepEqual(wasm[0], cpu[0], `gather ${what}`);
  }
  const { wasm } = await both(cases[4][1]);
  assert.deepEqual(wasm[0], [5, 6, 1, 2, 5, 6]);
  await initBackend("wasm");
  assert.throws(() => tf.gather(tf.tensor2d([[1, 2]]), tf.tensor1d([1], "int32")), /not in \[0, 0\]/);
});

Deno.test("Sum on wasm equals cpu over leading, inner and all axes, with keepDims", async () => {
  const x = values([6, 5, 4], 10);
  for (const axis of [0, [0, 1], [1, 0], 1, 2, [0, 2], [0, 1, 2], -3]) {
    for (const keepDims of [false, true]) {
      const { wasm, cpu } = await both(() => tf.sum(tf.tensor(x, [6, 5, 4]), axis, keepDims));
      assertClose(wasm[0], cpu[0], 1e-5, `sum axis=${axis} keepDims=${keepDims}`);
    }
  }
  const { wasm } = await both(() => tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), 0, true));
  assert.deepEqual(wasm[0], [9, 12]);
  const rows = [[1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60], [0.5, -2, NaN, 4, -5, 0]]; // a vector and a tail of 2
  assert.deepEqual((await both(() => tf.sum(tf.tensor2d(rows), 0))).wasm[0], [11.5, 20, NaN, 48, 50, 66]);
});

Deno.test("Transpose on wasm equals cpu: tall block swaps (the fast path) and other permutations (float32, int32)", async () => {
  // [shape, perm]: the first four are tall swaps (rows >= 16 cols) that take the override, the rest the stock kernel
  const cases: [number[], number[]][] = [
    [[50, 3], [1, 0]],
    [[3, 40, 2], [0, 2, 1]],
    [[2, 20, 3, 2], [0, 3, 1, 2]],
    [[37, 33, 2], [2, 0, 1]],
    [[3, 4, 5, 2], [0, 1, 3, 2]],
    [[3, 4, 5, 2], [2, 3, 0, 1]],
    [[3, 4, 5, 2], [3, 2, 1, 0]],
    [[3, 4, 5, 2], [1, 0, 2, 3]],
    [[4, 6, 1, 5], [0, 2, 1, 3]], // only a unit axis moves: the buffer is shared
    [[4, 1, 6, 5], [0, 2, 1, 3]],
    [[1, 6, 1, 5], [2, 1, 3, 0]],
    [[4, 6, 1, 5], [1, 2, 0, 3]], // a unit axis and a real swap: a copy
  ];
  for (const [shape, perm] of cases) {
    const x = values(shape, 11);
    const { wasm, cpu } = await both(() => tf.transpose(tf.tensor(x, shape), perm));
    assert.deepEqual(wasm[0], cpu[0], `transpose [${shape}] perm ${perm}`);
  }
  const ints = () => tf.transpose(tf.tensor2d(Array.from({ length: 64 }, (_, i) => i), [32, 2], "int32"));
  const { wasm } = await both(ints);
  assert.deepEqual(wasm[0], [
    ...Array.from({ length: 32 }, (_, i) => 2 * i),
    ...Array.from({ length: 32 }, (_, i) => 2 * i + 1),
  ]);
});

Deno.test("Identity on wasm shares the buffer: a clone outlives its source, and both free it together", async () => {
  await initBackend("wasm");
  const buffers = liveBuffers();
  const x = tf.tensor1d([1.5, -2, 3]);
  const y = x.clone();
  assert.equal(liveBuffers(), buffers + 1, "no copy");
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2, 3]);
  y.dispose();
  assert.equal(liveBuffers(), buffers);
});

Deno.test("Cast on wasm: to its own dtype shares the buffer; bool to float32 (a block of 16 and a tail) equals cpu", async () => {
  await initBackend("wasm");
  const buffers = liveBuffers();
  const x = tf.tensor1d([1.5, -2, NaN]);
  const y = tf.cast(x, "float32");
  assert.equal(liveBuffers(), buffers + 1, "no copy");
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2, NaN]);
  y.dispose();
  assert.equal(liveBuffers(), buffers);
  const flags = Array.from({ length: 19 }, (_, i) => (i * 7) % 3 === 0);
  const { wasm, cpu } = await both(
    () => [tf.cast(tf.tensor1d(flags, "bool"), "float32"), tf.cast(tf.tensor1d(flags, "bool"), "int32")],
  );
  assert.deepEqual(wasm, cpu);
  assert.deepEqual(wasm[0], flags.map(Number));
});

Deno.test("Slice on wasm equals cpu: column blocks (the fast path, float32 and int32) and other slices", async () => {
  const x = values([4, 5, 6], 13);
  const cases: [number[], number[]][] = [
    [[0, 0, 2], [4, 5, 3]], // a column block
    [[0, 0, 0], [-1, -1, 1]], // one column (the positive logits)
    [[0, 0, 1], [4, 5, -1]], // to the end
    [[1, 0, 0], [2, 5, 6]], // rows: the stock kernel
    [[0, 2, 1], [4, 3, 2]],
  ];
  for (const [begin, size] of cases) {
    const { wasm, cpu } = await both(() => [
      tf.slice(tf.tensor(x, [4, 5, 6]), begin, size),
      tf.slice(tf.tensor(x.map((v) => Math.round(v * 10)), [4, 5, 6], "int32"), begin, size),
    ]);
    assert.deepEqual(wasm, cpu, `slice begin ${begin} size ${size}`);
  }
  const { wasm } = await both(() => tf.slice(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, 2]));
  assert.deepEqual(wasm[0], [2, 3, 5, 6]);
});

Deno.test("Maximum against 0 and GreaterEqual against a scalar on wasm equal cpu (both orders, NaN, infinities, broadcast)", async () => {
  const x = [...values([3, 5], 12), NaN, -Infinity, Infinity, 0]; // 19: a block of 16 and a tail of 3
  const cases: [string, () => tf.Tensor][] = [
    ["max(x, 0)", () => tf.maximum(tf.tensor1d(x), 0)],
    ["max(0, x)", () => tf.maximum(tf.scalar(0), tf.tensor1d(x))],
    ["max(x, [[0]])", () => tf.maximum(tf.tensor1d(x), tf.tensor2d([[0]]))],
    ["max([[[0]]], x)", () => tf.maximum(tf.tensor3d([[[0]]]), tf.tensor2d(x, [1, x.length]))],
    ["max(x, y)", () => tf.maximum(tf.tensor1d(x), tf.tensor1d(x.map((v) => -v)))],
    ["x >= 0", () => tf.greaterEqual(tf.tensor1d(x), 0)],
    ["-0.2 >= x", () => tf.greaterEqual(tf.scalar(-0.2), tf.tensor1d(x))],
  ];
  for (const [what, fn] of cases) {
    const { wasm, cpu } = await both(fn);
    assert.deepEqual(wasm[0], cpu[0], what);
  }
  const { wasm } = await both(
    () => [tf.maximum(tf.tensor1d([NaN, -1, 2]), 0), tf.greaterEqual(tf.tensor1d([NaN, 0, -1]), 0)],
  );
  assert.deepEqual(wasm, [[NaN, 0, 2], [0, 1, 0]]);
  // max(-0, 0) is +0 as on cpu (the stock wasm kernel gives -0)
  assert.ok(Object.is((await both(() => tf.maximum(tf.tensor1d([-0]), 0))).wasm[0][0], 0));
});
