import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../src/data/dataset.ts";
import { lsaVectors, symmetricEigen } from "../src/data/lsa.ts";
import { decodeNpy, encodeNpy } from "../src/data/npy.ts";
import { encodeTexts, loadTextVectors } from "../src/data/text_encoder.ts";
import { type CsrMatrix, tfidfMatrix, tokenize } from "../src/data/tfidf.ts";
import { Rng } from "../src/rng.ts";
import { UserError } from "../src/util/errors.ts";
import { testConfig } from "./data_fixtures.ts";
import { assertClose, tempDir } from "./helpers.ts";

/** A dense row-major matrix as CSR. */
function csr(rows: number, cols: number, dense: number[]): CsrMatrix {
  const rowPtr = new Int32Array(rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (dense[r * cols + c] !== 0) {
        colIdx.push(c);
        values.push(dense[r * cols + c]);
      }
    }
    rowPtr[r + 1] = colIdx.length;
  }
  return { rows, cols, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
}

Deno.test("tfidf: tokens, min document frequency, sublinear tf, smoothed idf, unit rows", () => {
  assert.deepEqual(tokenize("The Cat's 2 cats, and a DOG!"), ["cat", "cats", "dog"]);
  const { matrix, vocabulary } = tfidfMatrix(["apple banana", "apple cherry", "banana banana", ""]);
  assert.deepEqual(vocabulary, ["apple", "banana"]); // cherry is in one document only
  assert.deepEqual([...matrix.rowPtr], [0, 2, 3, 4, 4]);
  assert.deepEqual([...matrix.colIdx], [0, 1, 0, 1]);
  // doc 0: apple and banana have equal tf and idf -> 1/sqrt(2) each; docs 1 and 2 have one term -> 1
  assertClose(matrix.values, [Math.SQRT1_2, Math.SQRT1_2, 1, 1], 1e-12);
  // unequal weights: tf 2 vs 1 -> (1 + ln 2) : 1 with the same idf
  const m = tfidfMatrix(["apple apple banana", "apple banana"]).matrix;
  const w = 1 + Math.log(2);
  assertClose(m.values.subarray(0, 2), [w / Math.hypot(w, 1), 1 / Math.hypot(w, 1)], 1e-12);
});

Deno.test("lsa: Jacobi eigen-decomposition and the SVD of a hand-computed matrix", () => {
  const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
  assertClose(values, [3, 1], 1e-12);
  assertClose(vectors.map(Math.abs), [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2], 1e-12);
  assert.ok(Math.abs(vectors[0] * vectors[1] + vectors[2] * vectors[3]) < 1e-12, "orthogonal");
  // A = [[3, 0], [0, 4], [0, 0]]: singular values 4 (e2) then 3 (e1), so U S = [[0, 3], [4, 0], [0, 0]]
  assertClose(lsaVectors(csr(3, 2, [3, 0, 0, 4, 0, 0]), 2, 1), [0, 3, 4, 0, 0, 0], 1e-9);
  // asking for more components than the rank gives zero columns
  assertClose(lsaVectors(csr(3, 2, [3, 0, 0, 4, 0, 0]), 3, 1), [0, 3, 0, 4, 0, 0, 0, 0, 0], 1e-9);
});

Deno.test("lsa: randomized SVD matches the exact singular values of a random sparse matrix", () => {
  const rng = new Rng(5);
  const [rows, cols, k] = [40, 12, 4];
  const dense = Array.from({ length: rows * cols }, () => (rng.next() < 0.3 ? rng.next() : 0));
  const us = lsaVectors(csr(rows, cols, dense), k, 9);
  // exact: eigenvalues of AᵀA are the squared singular values
  const gram = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) gram[i * cols + j] += dense[r * cols + i] * dense[r * cols + j];
    }
  }
  const exact = symmetricEigen(gram, cols).values.slice(0, k);
  // columns of U S have norm sigma and are orthogonal
  const col = (c: number) => Array.from({ length: rows }, (_, r) => us[r * k + c]);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  assertClose(Array.from({ length: k }, (_, c) => dot(col(c), col(c))), exact, 1e-9);
  assert.ok(Math.abs(dot(col(0), col(1))) < 1e-9);
  assert.deepEqual(lsaVectors(csr(rows, cols, dense), k, 9), us, "deterministic");
});

Deno.test("npy: round trip, header alignment and format errors", () => {
  const m = { rows: 2, cols: 3, data: Float32Array.from([1, 2, 3, 4.5, -5, 6]) };
  const bytes = encodeNpy(m);
  assert.equal((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64, 0);
  assert.deepEqual(decodeNpy(bytes, "m.npy"), m);
  const header = new TextDecoder().decode(bytes.subarray(10, 80));
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \}/);
  const f8 = bytes.slice();
  f8[header.indexOf("<f4") + 12] = "8".charCodeAt(0); // '<f4' -> '<f8'
  assert.throws(() => decodeNpy(f8, "m.npy"), /m\.npy: expected a 2-D C-order float32 array/);
  assert.throws(
    () => decodeNpy(bytes.subarray(0, bytes.length - 4), "m.npy"),
    /holds 20 data bytes, shape \(2, 3\) needs 24/,
  );
  assert.throws(
    () => decodeNpy(new Uint8Array(20), "m.npy"),
    new UserError("m.npy: not a .npy file (missing the \\x93NUMPY magic)"),
  );
});

Deno.test("encoder: unit rows, zero rows for empty texts, similar texts closer", () => {
  const texts = [
    "space adventure with starships and aliens",
    "aliens invade in a space war with starships",
    "a romantic comedy about a wedding",
    "wedding plans go wrong in this romantic comedy",
    "",
  ];
  const v = encodeTexts(texts, 2);
  const rowOf = (i: number) => [...v.subarray(i * 2, i * 2 + 2)];
  const cos = (a: number, b: number) => rowOf(a)[0] * rowOf(b)[0] + rowOf(a)[1] * rowOf(b)[1];
  for (let i = 0; i < 4; i++) assertClose([Math.hypot(...rowOf(i))], [1], 1e-6);
  assert.deepEqual(rowOf(4), [0, 0]);
  assert.ok(cos(0, 1) > 0.9 && cos(2, 3) > 0.9, `${cos(0, 1)} ${cos(2, 3)}`);
  assert.ok(Math.abs(cos(0, 2)) < 0.2, `${cos(0, 2)}`);
});

Deno.test("encoder: loadTextVectors shapes, on-disk cache, user_text none", async () => {
  await using dir = await tempDir();
  const config = testConfig({ data_dir: dir.path, synthetic_users: 30, synthetic_items: 40, text_embedding_dim: 8 });
  const ds = await loadDataset(config);
  const v = await loadTextVectors(ds, config);
  assert.equal(v.dim, 8);
  assert.equal(v.user.length, 30 * 8);
  assert.equal(v.item.length, 41 * 8);
  assert.deepEqual([...v.item.subarray(0, 8)], Array(8).fill(0));
  for (let r = 1; r <= 40; r++) assertClose([Math.hypot(...v.item.subarray(r * 8, r * 8 + 8))], [1], 1e-5);
  const cacheDir = join(dir.path, ".cache", "text");
  const [cacheFile] = [...Deno.readDirSync(cacheDir)].map((e) => join(cacheDir, e.name));
  assert.match(cacheFile, /[0-9a-f]{64}\.npy$/);
  // the second call reads the cache: replace it with a marked matrix of the same shape
  const marked = decodeNpy(Deno.readFileSync(cacheFile), cacheFile);
  marked.data.fill(0).set([1], 0);
  Deno.writeFileSync(cacheFile, encodeNpy(marked));
  assert.deepEqual([...(await loadTextVectors(ds, config)).user.subarray(0, 2)], [1, 0]);
  // a corrupt cache is recomputed
  Deno.writeFileSync(cacheFile, new Uint8Array([1, 2, 3]));
  assert.deepEqual(await loadTextVectors(ds, config), v);
  const none = await loadTextVectors(ds, testConfig({ ...config, user_text: "none" }));
  assert.ok(none.user.every((x) => x === 0));
});

Deno.test("encoder: precomputed embeddings from JSON and .npy", async () => {
  await using dir = await tempDir();
  const base = { data_dir: dir.path, synthetic_users: 20, synthetic_items: 30 };
  const ds = await loadDataset(testConfig(base));
  const emb = join(dir.path, "emb");
  await Deno.mkdir(emb);
  await Deno.writeTextFile(join(emb, "items.json"), JSON.stringify({ 1: [3, 4], 2: [0, 2] }));
  const items = new Float32Array(31 * 2).fill(1);
  Deno.writeFileSync(join(emb, "users.npy"), encodeNpy({ rows: 31, cols: 2, data: items }));
  const config = testConfig({ ...base, text_encoder: "precomputed", text_embeddings_path: emb, text_embedding_dim: 2 });
  const v = await loadTextVectors(ds, config);
  assertClose(v.item.subarray(0, 6), [0, 0, 0.6, 0.8, 0, 1], 1e-7);
  assert.deepEqual(v.report, { items_missing_vector: 28, users_missing_vector: 0 });
  // users.npy rows are user ids: user 1 -> row 1 = (1, 1) normalised
  assertClose(v.user.subarray(0, 2), [Math.SQRT1_2, Math.SQRT1_2], 1e-7);
  await assert.rejects(
    loadTextVectors(ds, testConfig({ ...config, text_embedding_dim: 3 })),
    /items: vectors have 2 dimensions but text_embedding_dim is 3; set text_embedding_dim: 2/,
  );
  await Deno.writeTextFile(join(emb, "items.json"), JSON.stringify({ 1: [3, 4], 2: [0] }));
  await assert.rejects(loadTextVectors(ds, config), /items\.json: key "2": vector has 1 numbers, earlier ones have 2/);
  // The schema rejects precomputed without a path before any data is read.
  assert.throws(
    () => testConfig({ ...base, text_encoder: "precomputed", text_embedding_dim: 2 }),
    /text_encoder: precomputed needs text_embeddings_path/,
  );
});
