// AssemblyScript source of src/backend/simd/gemm.wasm (build: `bash scripts/build_simd.sh`; a test checks that the
// committed binary is this file's build). The module imports tfjs-backend-wasm's memory and works on tensors in
// place: it has no memory, data, globals or runtime of its own.
//
// C[i, j] (+)= Σ_p A[i, p] · B[p, j], float32, with A read through element strides (so Aᵀ costs nothing: the
// weight gradient xᵀ·dy reads x [M, d] as A with strides (1, d)), B and C row-major. The microkernel keeps a 6 × 8
// block of C in twelve 128-bit registers (eight measured 15 % slower: too few independent sums to hide the FMA
// latency) and adds, per step p, six broadcast elements of A times two vectors of B's row p with fused
// multiply-adds (`f32x4.relaxed_madd`: an FMA on x86 with FMA3 and on ARM; a multiply and an add elsewhere, so
// numbers may differ across machines in the last bits, never across runs on one machine). Nothing is
// packed: B's rows are read in place, blocked so that a block of B (KB rows, <= NB_FLOATS floats) stays in L2 while
// every row block of A passes over it (the loop order of Goto & van de Geijn 2008, "Anatomy of high-performance
// matrix multiplication", without its packing).

/** Rows of B (the summed dimension) per block: C is loaded and stored once per block (128 measured ~10 % faster
 * than 256 on the weight gradients, [50, 25600]·[25600, 50]). */
const KB: i32 = 128;
/** Floats of B per block (64 KiB): decides the columns per block. */
const NB_FLOATS: i32 = 16384;

// Each tile starts from C (`keep`: a later block of k, or accumulate), from the bias row (`bias` != 0: the same
// vector for every row) or from 0, and adds a · b over kc steps.

/** c[4 rows, 8 columns] (+)= a[4 rows, kc] · b[kc, 8 columns]; strides in bytes. */
@inline function tile4x8(kc: i32, a: usize, sai: usize, sap: usize, b: usize, ldb: usize, c: usize, ldc: usize, keep: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (keep) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  } else if (bias != 0) {
    c00 = v128.load(bias); c01 = v128.load(bias, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    c00 = f32x4.relaxed_madd(s, b0, c00); c01 = f32x4.relaxed_madd(s, b1, c01);
    s = v128.load32_splat(pa + sai);
    c10 = f32x4.relaxed_madd(s, b0, c10); c11 = f32x4.relaxed_madd(s, b1, c11);
    s = v128.load32_splat(pa + 2 * sai);
    c20 = f32x4.relaxed_madd(s, b0, c20); c21 = f32x4.relaxed_madd(s, b1, c21);
    s = v128.load32_splat(pa + 3 * sai);
    c30 = f32x4.relaxed_madd(s, b0, c30); c31 = f32x4.relaxed_madd(s, b1, c31);
    pa += sap; pb += ldb;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

/** c[6 rows, 8 columns] (+)= a[6 rows, kc] · b[kc, 8 columns]; strides in bytes. */
@inline function tile6x8(kc: i32, a: usize, sai: usize, sap: usize, b: usize, ldb: usize, c: usize, ldc: usize, keep: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  if (keep) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
    c40 = v128.load(c + 4 * ldc); c41 = v128.load(c + 4 * ldc, 16);
    c50 = v128.load(c + 5 * ldc); c51 = v128.load(c + 5 * ldc, 16);
  } else if (bias != 0) {
    c00 = v128.load(bias); c01 = v128.load(bias, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01; c40 = c00; c41 = c01; c50 = c00; c51 = c01;
  }
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    c00 = f32x4.relaxed_madd(s, b0, c00); c01 = f32x4.relaxed_madd(s, b1, c01);
    s = v128.load32_splat(pa + sai);
    c10 = f32x4.relaxed_madd(s, b0, c10); c11 = f32x4.relaxed_madd(s, b1, c11);
    s = v128.load32_splat(pa + 2 * sai);
    c20 = f32x4.relaxed_madd(s, b0, c20); c21 = f32x4.relaxed_madd(s, b1, c21);
    s = v128.load32_splat(pa + 3 * sai);
    c30 = f32x4.relaxed_madd(s, b0, c30); c31 = f32x4.relaxed_madd(s, b1, c31);
    s = v128.load32_splat(pa + 4 * sai);
    c40 = f32x4.relaxed_madd(s, b0, c40); c41 = f32x4.relaxed_madd(s, b1, c41);
    s = v128.load32_splat(pa + 5 * sai);
    c50 = f32x4.relaxed_madd(s, b0, c50); c51 = f32x4.relaxed_madd(s, b1, c51);
    pa += sap; pb += ldb;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
  v128.store(c + 4 * ldc, c40); v128.store(c + 4 * ldc, c41, 16);
  v128.store(c + 5 * ldc, c50); v128.store(c + 5 * ldc, c51, 16);
}

/** The first `lanes` (1-4) floats at `at` as a vector (the rest 0), without reading past them. */
@inline function loadLanes(at: usize, lanes: i32): v128 {
  if (lanes == 4) return v128.load(at);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(at));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(at, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(at, 8));
  return v;
}

/** Stores the first `lanes` (1-4) lanes of `v` at `at`. */
@inline function storeLanes(at: usize, v: v128, lanes: i32): void {
  if (lanes == 4) { v128.store(at, v); return; }
  store<f32>(at, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(at, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(at, f32x4.extract_lane(v, 2), 8);
}

/**
 * The edges: c[rows (1-4), lanes (1-4)] (+)= a · b. B's rows are read 4 wide (the extra lanes are computed and
 * dropped; they read the floats after the row) while those 4 floats end within the block's last row's `lanes`
 * floats, and lane by lane after that, so that nothing past B's end is touched.
 */
function tileEdge(rows: i32, lanes: i32, kc: i32, a: usize, sai: usize, sap: usize, b: usize, ldb: usize, c: usize, ldc: usize, keep: bool, bias: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  if (keep) {
    c0 = loadLanes(c, lanes);
    if (rows > 1) c1 = loadLanes(c + ldc, lanes);
    if (rows > 2) c2 = loadLanes(c + 2 * ldc, lanes);
    if (rows > 3) c3 = loadLanes(c + 3 * ldc, lanes);
  } else if (bias != 0) {
    c0 = loadLanes(bias, lanes); c1 = c0; c2 = c0; c3 = c0;
  }
  // Rows past `rows` repeat row 0 (in bounds) and are dropped.
  const r1: usize = rows > 1 ? sai : 0, r2: usize = rows > 2 ? 2 * sai : 0, r3: usize = rows > 3 ? 3 * sai : 0;
  const limit = <isize>(kc - 1) * <isize>ldb + 4 * lanes - 16; // the last byte offset a 4-wide read may start at
  const wide = limit < 0 ? 0 : min(kc, <i32>(limit / <isize>ldb) + 1);
  let pa = a, pb = b;
  for (let p = 0; p < kc; p++) {
    const b0 = p < wide ? v128.load(pb) : loadLanes(pb, lanes);
    c0 = f32x4.relaxed_madd(v128.load32_splat(pa), b0, c0);
    c1 = f32x4.relaxed_madd(v128.load32_splat(pa + r1), b0, c1);
    c2 = f32x4.relaxed_madd(v128.load32_splat(pa + r2), b0, c2);
    c3 = f32x4.relaxed_madd(v128.load32_splat(pa + r3), b0, c3);
    pa += sap; pb += ldb;
  }
  storeLanes(c, c0, lanes);
  if (rows > 1) storeLanes(c + ldc, c1, lanes);
  if (rows > 2) storeLanes(c + 2 * ldc, c2, lanes);
  if (rows > 3) storeLanes(c + 3 * ldc, c3, lanes);
}

/**
 * C[i, j] = Σ_p A[i, p] · B[p, j] (+ bias[j] when `bias` != 0) with `accumulate` 0, or C[i, j] += that sum with
 * `accumulate` 1 (the bias is then ignored), for i < m, j < n, p < k. `a`, `b`, `c`, `bias`: byte offsets in the
 * imported memory; A[i, p] is the float at a + 4·(i·sai + p·sap); B[p, j] at b + 4·(p·ldb + j); C[i, j] at
 * c + 4·(i·ldc + j); bias[j] at bias + 4·j. C must not overlap A, B or the bias.
 */
export function gemm(m: i32, n: i32, k: i32, a: usize, sai: i32, sap: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32, bias: usize): void {
  const saiB = <usize>sai << 2, sapB = <usize>sap << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  if (k == 0) {
    if (accumulate != 0) return;
    for (let i = 0; i < m; i++) {
      const row = c + <usize>i * ldcB;
      if (bias != 0) memory.copy(row, bias, <usize>n << 2);
      else memory.fill(row, 0, <usize>n << 2);
    }
    return;
  }
  const nb = max(8, (NB_FLOATS / min(KB, k)) & ~7);
  for (let p0 = 0; p0 < k; p0 += KB) {
    const kc = min(KB, k - p0);
    const keep = p0 > 0 || accumulate != 0;
    const ap = a + <usize>p0 * sapB, bp = b + <usize>p0 * ldbB;
    for (let j0 = 0; j0 < n; j0 += nb) {
      const j1 = min(n, j0 + nb), j8 = j0 + ((j1 - j0) & ~7);
      for (let i = 0; i < m; ) {
        const rows = m - i == 8 ? 4 : min(6, m - i); // 8 rows as 4 + 4, not 6 + an edge of 2
        const ai = ap + <usize>i * saiB, ci = c + <usize>i * ldcB;
        let j = j0;
        if (rows >= 4) {
          for (; j < j8; j += 8) {
            const bj = bp + (<usize>j << 2), cj = ci + (<usize>j << 2), biasJ = bias != 0 ? bias + (<usize>j << 2) : 0;
            if (rows == 6) tile6x8(kc, ai, saiB, sapB, bj, ldbB, cj, ldcB, keep, biasJ);
            else {
              tile4x8(kc, ai, saiB, sapB, bj, ldbB, cj, ldcB, keep, biasJ);
              if (rows > 4) {
                const a4 = ai + 4 * saiB, c4 = cj + 4 * ldcB;
                tileEdge(rows - 4, 4, kc, a4, saiB, sapB, bj, ldbB, c4, ldcB, keep, biasJ);
                tileEdge(rows - 4, 4, kc, a4, saiB, sapB, bj + 16, ldbB, c4 + 16, ldcB, keep, biasJ != 0 ? biasJ + 16 : 0);
              }
            }
          }
        }
        for (; j < j1; j += 4) {
          const lanes = min(4, j1 - j), bj = bp + (<usize>j << 2), cj = ci + (<usize>j << 2);
          const biasJ = bias != 0 ? bias + (<usize>j << 2) : 0;
          for (let r = 0; r < rows; r += 4) {
            tileEdge(min(4, rows - r), lanes, kc, ai + <usize>r * saiB, saiB, sapB, bj, ldbB, cj + <usize>r * ldcB, ldcB, keep, biasJ);
          }
        }
        i += rows;
      }
    }
  }
}
