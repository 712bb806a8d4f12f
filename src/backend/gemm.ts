/**
 * The project's SIMD matrix product on the wasm heap: `simd/gemm.wasm` (AssemblyScript source `simd/gemm.as.ts`),
 * instantiated once per wasm backend on the backend's own `WebAssembly.Memory`, so that it reads and writes tensors
 * in place. Against XNNPACK through tfjs (which packs the right operand on every call, and takes no transposed or
 * strided operand) it skips the packing, reads Aᵀ through strides and fuses the accumulation into C, and it uses fused
 * multiply-adds (relaxed SIMD), which tfjs's XNNPACK build does not; measured in docs/performance.md "Own SIMD
 * product".
 */
import type { WasmBackend } from "./override.ts";

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
  ): void;
}

const MODULE_URL = new URL("./simd/gemm.wasm", import.meta.url);
let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<object, GemmExports>();

/** The module instantiated on `backend`'s memory (compiled on first use; a few kB, synchronous). */
function gemmOf(backend: WasmBackend): GemmExports {
  let exports = instances.get(backend);
  if (exports === undefined) {
    compiled ??= new WebAssembly.Module(Deno.readFileSync(MODULE_URL));
    const memory = backend.wasm.asm.memory;
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as GemmExports;
    instances.set(backend, exports);
  }
  return exports;
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
 * C[m, n] = A[m, k] · B[k, n] (or C += A · B with `accumulate`), float32 on the wasm heap of `backend`. A may be
 * strided both ways (`colStride` defaults to 1; `{ rowStride: 1, colStride: m }` reads a row-major [k, m] as its
 * transpose); B and C are row-major with row strides `rowStride`. C must not overlap A or B. Throws nothing; shapes
 * are the caller's to check (an offset outside the heap traps).
 */
export function heapGemm(
  backend: WasmBackend,
  m: number,
  n: number,
  k: number,
  a: StridedMatrix,
  b: StridedMatrix,
  c: StridedMatrix,
  accumulate = false,
): void {
  gemmOf(backend).gemm(m, n, k, a.at, a.rowStride, a.colStride ?? 1, b.at, b.rowStride, c.at, c.rowStride, +accumulate);
}
