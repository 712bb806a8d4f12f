/**
 * The project's SIMD matrix product on the wasm heap: `simd/gemm.wasm` (AssemblyScript source `simd/gemm.as.ts`),
 * working on tensors in place (./simd.ts). Against XNNPACK through tfjs (which packs the right operand on every call
 * and takes no transposed or strided operand) it skips the packing, reads Aᵀ through strides, fuses the accumulation
 * or the bias into C, and uses fused multiply-adds (relaxed SIMD), which tfjs's XNNPACK build does not; measured in
 * docs/performance.md "Own SIMD kernels".
 */
import type { WasmBackend } from "./override.ts";
import { simdModule } from "./simd.ts";

/** The module's exports (see `simd/gemm.as.ts`). */
interface GemmExports {
  gemm(
    m: number,
    n: number,
    k: number,
    a: number,
    sai: number,
    sap: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    accumulate: number,
    bias: number,
  ): void;
}

/** Where one operand of `heapGemm` lies: a byte offset in the heap and element strides. */
export interface StridedMatrix {
  /** Byte offset of element [0, 0]. */
  at: number;
  /** Elements between consecutive rows. */
  rowStride: number;
  /** Elements between consecutive columns (A only; B and C are contiguous along their rows). */
  colStride?: number;
}

/**
 * C[m, n] = A[m, k] · B[k, n] (+ bias[n] on every row, `bias` a byte offset), or C += A · B with `accumulate`,
 * float32 on the wasm heap of `backend`. A may be strided both ways (`colStride` defaults to 1;
 * `{ rowStride: 1, colStride: m }` reads a row-major [k, m] as its transpose); B and C are row-major with row strides
 * `rowStride`. C must not overlap A, B or the bias. Throws nothing; shapes are the caller's to check (an offset
 * outside the heap traps).
 */
export function heapGemm(
  backend: WasmBackend,
  m: number,
  n: number,
  k: number,
  a: StridedMatrix,
  b: StridedMatrix,
  c: StridedMatrix,
  options: { accumulate?: boolean; bias?: number } = {},
): void {
  const { accumulate = false, bias = 0 } = options;
  simdModule<GemmExports>(backend, "gemm").gemm(
    m,
    n,
    k,
    a.at,
    a.rowStride,
    a.colStride ?? 1,
    b.at,
    b.rowStride,
    c.at,
    c.rowStride,
    +accumulate,
    bias,
  );
}
