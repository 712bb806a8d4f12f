// AssemblyScript source of src/backend/simd/layer_norm.wasm (build: `bash scripts/build_simd.sh`): LayerNorm over
// the last axis of a [rows, d] float matrix (Ba et al. 2016), forward and backward in one pass per row each, on
// tfjs-backend-wasm's memory like gemm.wasm (offsets in bytes). Kernels: src/backend/layer_norm.ts.

/** The sum of a vector's four lanes. */
@inline function lanesSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * Per row r of x: mean μ, variance σ² = mean((x − μ)²), rstd[r] = 1 / sqrt(σ² + eps), xhat = (x − μ)·rstd and
 * y = xhat·gamma + beta.
 */
export function layerNorm(x: usize, rows: i32, d: i32, gamma: usize, beta: usize, eps: f32, y: usize, xhat: usize, rstd: usize): void {
  const vectors = d & ~3, scale = <f32>1 / <f32>d;
  for (let r = 0; r < rows; r++) {
    const row = <usize>(r * d) << 2, px = x + row;
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c < vectors; c += 4) acc = f32x4.add(acc, v128.load(px + (<usize>c << 2)));
    let sum = lanesSum(acc);
    for (; c < d; c++) sum += load<f32>(px + (<usize>c << 2));
    const mean = sum * scale, vmean = f32x4.splat(mean);
    acc = f32x4.splat(0);
    for (c = 0; c < vectors; c += 4) {
      const centred = f32x4.sub(v128.load(px + (<usize>c << 2)), vmean);
      acc = f32x4.relaxed_madd(centred, centred, acc);
    }
    let squares = lanesSum(acc);
    for (; c < d; c++) {
      const centred = load<f32>(px + (<usize>c << 2)) - mean;
      squares += centred * centred;
    }
    const inv = <f32>1 / sqrt<f32>(squares * scale + eps), vinv = f32x4.splat(inv);
    store<f32>(rstd + (<usize>r << 2), inv);
    for (c = 0; c < vectors; c += 4) {
      const at = <usize>c << 2;
      const h = f32x4.mul(f32x4.sub(v128.load(px + at), vmean), vinv);
      v128.store(xhat + row + at, h);
      v128.store(y + row + at, f32x4.add(f32x4.mul(h, v128.load(gamma + at)), v128.load(beta + at)));
    }
    for (; c < d; c++) {
      const at = <usize>c << 2;
      const h = (load<f32>(px + at) - mean) * inv;
      store<f32>(xhat + row + at, h);
      store<f32>(y + row + at, h * load<f32>(gamma + at) + load<f32>(beta + at));
    }
  }
}

/**
 * The backward of `layerNorm` from its saved xhat and rstd: with ĝ = dy·gamma,
 * dx = (ĝ − mean(ĝ) − xhat·mean(ĝ·xhat))·rstd per row; dgammaAcc[c] += Σ_r dy·xhat and dbetaAcc[c] += Σ_r dy in
 * float64, row by row.
 */
export function layerNormGrad(dy: usize, xhat: usize, rstd: usize, gamma: usize, rows: i32, d: i32, dx: usize, dgammaAcc: usize, dbetaAcc: usize): void {
  const vectors = d & ~3, scale = <f32>1 / <f32>d;
  for (let r = 0; r < rows; r++) {
    const row = <usize>(r * d) << 2, pdy = dy + row, ph = xhat + row;
    let sumG = f32x4.splat(0), sumGH = f32x4.splat(0);
    let c = 0;
    for (; c < vectors; c += 4) {
      const at = <usize>c << 2, dyv = v128.load(pdy + at), h = v128.load(ph + at);
      const g = f32x4.mul(dyv, v128.load(gamma + at));
      sumG = f32x4.add(sumG, g);
      sumGH = f32x4.relaxed_madd(g, h, sumGH);
      const prod = f32x4.mul(dyv, h), gat = dgammaAcc + (<usize>c << 3), bat = dbetaAcc + (<usize>c << 3);
      v128.store(gat, f64x2.add(v128.load(gat), f64x2.promote_low_f32x4(prod)));
      v128.store(gat, f64x2.add(v128.load(gat, 16), f64x2.promote_low_f32x4(i32x4.shuffle(prod, prod, 2, 3, 0, 1))), 16);
      v128.store(bat, f64x2.add(v128.load(bat), f64x2.promote_low_f32x4(dyv)));
      v128.store(bat, f64x2.add(v128.load(bat, 16), f64x2.promote_low_f32x4(i32x4.shuffle(dyv, dyv, 2, 3, 0, 1))), 16);
    }
    let g1 = lanesSum(sumG), g2 = lanesSum(sumGH);
    for (; c < d; c++) {
      const at = <usize>c << 2, dyc = load<f32>(pdy + at), h = load<f32>(ph + at), g = dyc * load<f32>(gamma + at);
      g1 += g;
      g2 += g * h;
      const gat = dgammaAcc + (<usize>c << 3), bat = dbetaAcc + (<usize>c << 3);
      store<f64>(gat, load<f64>(gat) + <f64>(dyc * h));
      store<f64>(bat, load<f64>(bat) + <f64>dyc);
    }
    const m1 = f32x4.splat(g1 * scale), m2 = f32x4.splat(g2 * scale), inv = load<f32>(rstd + (<usize>r << 2));
    const vinv = f32x4.splat(inv);
    for (c = 0; c < vectors; c += 4) {
      const at = <usize>c << 2, h = v128.load(ph + at);
      const g = f32x4.mul(v128.load(pdy + at), v128.load(gamma + at));
      v128.store(dx + row + at, f32x4.mul(f32x4.sub(f32x4.sub(g, m1), f32x4.mul(h, m2)), vinv));
    }
    for (; c < d; c++) {
      const at = <usize>c << 2, g = load<f32>(pdy + at) * load<f32>(gamma + at);
      store<f32>(dx + row + at, (g - g1 * scale - load<f32>(ph + at) * (g2 * scale)) * inv);
    }
  }
}
