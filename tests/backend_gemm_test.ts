import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { heapGemm } from "../src/backend/gemm.ts";
import type { WasmBackend } from "../src/backend/override.ts";
import { Rng } from "../src/rng.ts";

/** A float32 tensor of normal values on the wasm heap and its byte offset. */
function onHeap(backend: WasmBackend, count: number, rng: Rng): { t: tf.Tensor; at: number; values: Float32Array } {
  const values = Float32Array.from({ length: count }, () => rng.normal());
  const t = tf.tensor1d(values);
  return { t, at: backend.dataIdMap.get(t.dataId).memoryOffset, values };
}

/** The product in float64, for comparison: c[i, j] = base[i, j] + Σ_p a(i, p) b[p, j]. */
function reference(
  m: number,
  n: number,
  k: number,
  a: (i: number, p: number) => number,
  b: Float32Array,
  ldb: number,
  base: (i: number, j: number) => number,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = base(i, j);
      for (let p = 0; p < k; p++) sum += a(i, p) * b[p * ldb + j];
      out[i * n + j] = sum;
    }
  }
  return out;
}

Deno.test("heapGemm equals a float64 product: every edge of the 6 x 8 tiles, blocks of k, Aᵀ, strides, C or bias start", async () => {
  await initBackend("wasm");
  const backend = tf.backend() as unknown as WasmBackend;
  const rng = new Rng(11);
  let cases = 0;
  for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 14]) {
    for (const n of [1, 3, 4, 5, 8, 9, 12, 17, 19]) {
      for (const k of [0, 1, 5, 130, 300]) {
        for (const transposed of [false, true]) {
          for (const start of ["zero", "accumulate", "bias"] as const) {
            const ldb = n + (k % 3), ldc = n + 2; // padded rows: only the first n columns are read / written
            const a = onHeap(backend, m * k, rng), b = onHeap(backend, Math.max(1, k * ldb), rng);
            const c = onHeap(backend, m * ldc, rng), bias = onHeap(backend, n, rng);
            const [sai, sap] = transposed ? [1, m] : [k, 1];
            heapGemm(backend, m, n, k, { at: a.at, rowStride: sai, colStride: sap }, { at: b.at, rowStride: ldb }, {
              at: c.at,
              rowStride: ldc,
            }, { accumulate: start === "accumulate", bias: start === "bias" ? bias.at : 0 });
            const got = c.t.dataSync();
            const want = reference(
              m,
              n,
              k,
              (i, p) => a.values[i * sai + p * sap],
              b.values,
              ldb,
              (i, j) => start === "accumulate" ? c.values[i * ldc + j] : start === "bias" ? bias.values[j] : 0,
            );
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < ldc; j++) {
                const at = `m${m} n${n} k${k} Aᵀ ${transposed} from ${start} [${i}, ${j}]`;
                if (j >= n) assert.equal(got[i * ldc + j], c.values[i * ldc + j], `${at}: padding untouched`);
                else assert.ok(Math.abs(got[i * ldc + j] - want[i * n + j]) <= 1e-4 * (1 + Math.sqrt(k)), at);
              }
            }
            tf.dispose([a.t, b.t, c.t, bias.t]);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, 11 * 9 * 5 * 2 * 3);
});

Deno.test("heapGemm: hand-computed 2 x 2 product, NaN and Infinity propagate as in any product", async () => {
  await initBackend("wasm");
  const backend = tf.backend() as unknown as WasmBackend;
  const [a, b, c] = [[1, 2, 3, 4], [5, NaN, 7, 8], [0, 0, 0, 0]].map((v) => tf.tensor1d(v));
  const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
  heapGemm(backend, 2, 2, 2, { at: at(a), rowStride: 2 }, { at: at(b), rowStride: 2 }, { at: at(c), rowStride: 2 });
  assert.deepEqual(Array.from(c.dataSync()), [19, NaN, 43, NaN]); // [1 2; 3 4] [5 NaN; 7 8]
  tf.dispose([a, b, c]);
});

Deno.test("src/backend/simd/*.wasm are the builds of their AssemblyScript sources (scripts/build_simd.sh)", async () => {
  const asc = new URL("../tools/node_modules/.bin/asc", import.meta.url).pathname;
  try {
    await Deno.stat(asc);
  } catch {
    throw new Error(`${asc} is missing: run \`bash scripts/setup.sh\` (it installs the AssemblyScript compiler)`);
  }
  const out = await Deno.makeTempDir();
  try {
    const script = new URL("../scripts/build_simd.sh", import.meta.url).pathname;
    const built = await new Deno.Command("bash", { args: [script, out], stderr: "piped" }).output();
    assert.ok(built.success, new TextDecoder().decode(built.stderr));
    for await (const entry of Deno.readDir(out)) {
      const fresh = await Deno.readFile(`${out}/${entry.name}`);
      const committed = await Deno.readFile(new URL(`../src/backend/simd/${entry.name}`, import.meta.url));
      assert.deepEqual(committed, fresh, `${entry.name} is stale: run \`bash scripts/build_simd.sh\` and commit it`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("gemm.wasm reads nothing past B's end: narrow B (n 1-3, row stride n) at the very end of a memory", async () => {
  const bytes = await Deno.readFile(new URL("../src/backend/simd/gemm.wasm", import.meta.url));
  const memory = new WebAssembly.Memory({ initial: 1 }); // 65,536 bytes, nothing after them
  const { gemm } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as {
    gemm: (...args: number[]) => void;
  };
  const heap = new Float32Array(memory.buffer);
  for (const [m, n, k] of [[5, 1, 300], [7, 2, 129], [3, 3, 40]]) {
    const bAt = memory.buffer.byteLength - 4 * k * n, cAt = 4 * m * k; // A at 0, C after it, B last
    for (let i = 0; i < m * k; i++) heap[i] = (i % 7) - 3;
    for (let i = 0; i < k * n; i++) heap[bAt / 4 + i] = (i % 5) - 2;
    gemm(m, n, k, 0, k, 1, bAt, n, cAt, n, 0, 0); // a trap (RangeError) would fail the test
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += heap[i * k + p] * heap[bAt / 4 + p * n + j];
        assert.equal(heap[cAt / 4 + i * n + j], sum, `m${m} n${n} k${k} [${i}, ${j}]`);
      }
    }
  }
});
