/**
 * Truncated SVD of a sparse matrix by seeded randomized range finding with power iterations (Halko, Martinsson &
 * Tropp 2011), giving LSA document vectors U_k * S_k. Dense blocks are row-major Float64Arrays.
 */
import { Rng } from "../rng.ts";
import type { CsrMatrix } from "./tfidf.ts";

/** Extra random directions beyond the k wanted. */
const OVERSAMPLE = 10;
/** Power iterations (sharpen the spectrum so the leading k directions are found accurately). */
const POWER_ITERATIONS = 2;

/** A · X for X of shape [a.cols, width]: result [a.rows, width]. */
export function csrTimesDense(a: CsrMatrix, x: Float64Array, width: number): Float64Array {
  const y = new Float64Array(a.rows * width);
  for (let r = 0; r < a.rows; r++) {
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) {
      const v = a.values[p];
      const xo = a.colIdx[p] * width;
      const yo = r * width;
      for (let c = 0; c < width; c++) y[yo + c] += v * x[xo + c];
    }
  }
  return y;
}

/** Aᵀ · Y for Y of shape [a.rows, width]: result [a.cols, width]. */
export function csrTransposeTimesDense(a: CsrMatrix, y: Float64Array, width: number): Float64Array {
  const z = new Float64Array(a.cols * width);
  for (let r = 0; r < a.rows; r++) {
    const yo = r * width;
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) {
      const v = a.values[p];
      const zo = a.colIdx[p] * width;
      for (let c = 0; c < width; c++) z[zo + c] += v * y[yo + c];
    }
  }
  return z;
}

/** Orthonormalises the columns of X [rows, width] in place (modified Gram-Schmidt); null columns become 0. */
export function orthonormalizeColumns(x: Float64Array, rows: number, width: number): void {
  // work on contiguous columns: the row-major layout would make every inner loop strided
  const cols = Array.from({ length: width }, (_, c) => Float64Array.from({ length: rows }, (_, r) => x[r * width + c]));
  cols.forEach((col, c) => {
    for (let prev = 0; prev < c; prev++) {
      const other = cols[prev];
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += col[r] * other[r];
      for (let r = 0; r < rows; r++) col[r] -= dot * other[r];
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += col[r] * col[r];
    const scale = norm > 1e-20 ? 1 / Math.sqrt(norm) : 0;
    for (let r = 0; r < rows; r++) col[r] *= scale;
  });
  cols.forEach((col, c) => col.forEach((v, r) => (x[r * width + c] = v)));
}

/**
 * Eigen-decomposition of a symmetric matrix S [n, n] by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching eigenvectors as the columns of `vectors` [n, n].
 */
export function symmetricEigen(s: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(s);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i * n + j] ** 2;
        if (i !== j) off += a[i * n + j] ** 2;
      }
    }
    if (off <= 1e-24 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) { // rotate columns p, q
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) { // rotate rows p, q
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * LSA vectors of the rows of A: U_k S_k [a.rows, k] of the rank-k truncated SVD, from a seeded randomized SVD.
 * Components beyond the rank of A are zero. Each component's sign makes its largest-magnitude entry positive.
 */
export function lsaVectors(a: CsrMatrix, k: number, seed: number): Float64Array {
  const width = Math.min(k + OVERSAMPLE, a.rows, a.cols);
  const out = new Float64Array(a.rows * k);
  if (width === 0) return out;
  const rng = new Rng(seed);
  const omega = Float64Array.from({ length: a.cols * width }, () => rng.normal());
  let q = csrTimesDense(a, omega, width);
  orthonormalizeColumns(q, a.rows, width);
  for (let i = 0; i < POWER_ITERATIONS; i++) {
    const z = csrTransposeTimesDense(a, q, width);
    orthonormalizeColumns(z, a.cols, width);
    q = csrTimesDense(a, z, width);
    orthonormalizeColumns(q, a.rows, width);
  }
  // B = Qᵀ A (width x cols); B Bᵀ = (AᵀQ)ᵀ(AᵀQ) = U_B S² U_Bᵀ, and A ≈ Q B gives U S = Q U_B S.
  const bt = csrTransposeTimesDense(a, q, width);
  const gram = new Float64Array(width * width);
  for (let r = 0; r < a.cols; r++) {
    for (let i = 0; i < width; i++) {
      const bi = bt[r * width + i];
      if (bi === 0) continue;
      for (let j = 0; j < width; j++) gram[i * width + j] += bi * bt[r * width + j];
    }
  }
  const { values, vectors } = symmetricEigen(gram, width);
  const components = Math.min(k, width);
  for (let c = 0; c < components; c++) {
    const sigma = Math.sqrt(Math.max(0, values[c]));
    let best = 0;
    for (let r = 0; r < a.rows; r++) {
      let sum = 0;
      for (let i = 0; i < width; i++) sum += q[r * width + i] * vectors[i * width + c];
      out[r * k + c] = sum * sigma;
      if (Math.abs(out[r * k + c]) > Math.abs(best)) best = out[r * k + c];
    }
    if (best < 0) {
      for (let r = 0; r < a.rows; r++) out[r * k + c] = -out[r * k + c] || 0; // `|| 0`: +0, not -0
    }
  }
  return out;
}
