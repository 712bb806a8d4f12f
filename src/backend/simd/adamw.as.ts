// AssemblyScript source of src/backend/simd/adamw.wasm (build: `bash scripts/build_simd.sh`): one AdamW update of a
// variable (Loshchilov & Hutter 2019, as src/train/optimizer.ts), in one SIMD pass, on tfjs-backend-wasm's memory like
// gemm.wasm (offsets in bytes). Every float32 operation is the one the optimizer's tfjs ops do, in the same order and
// with no fused multiply-add, so the numbers are those of the ops.

/**
 * With g = grad·scale (grad itself when scale is 1): m' = m·β1 + g·(1 − β1), v' = v·β2 + g²·(1 − β2),
 * u = (m' / c1) / (sqrt(v' / c2) + eps) (+ p·wd when wd > 0), p' = p − u·lr, for `count` floats; the constants
 * arrive as float32 (the scalar tensors of the ops).
 */
export function adamw(p: usize, m: usize, v: usize, grad: usize, count: i32, scale: f32, beta1: f32, rest1: f32, beta2: f32, rest2: f32, c1: f32, c2: f32, eps: f32, wd: f32, lr: f32, outP: usize, outM: usize, outV: usize): void {
  const vScale = f32x4.splat(scale), vBeta1 = f32x4.splat(beta1), vRest1 = f32x4.splat(rest1);
  const vBeta2 = f32x4.splat(beta2), vRest2 = f32x4.splat(rest2), vC1 = f32x4.splat(c1), vC2 = f32x4.splat(c2);
  const vEps = f32x4.splat(eps), vWd = f32x4.splat(wd), vLr = f32x4.splat(lr);
  const scaled = scale != 1, decay = wd > 0;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>i << 2;
    let g = v128.load(grad + at);
    if (scaled) g = f32x4.mul(g, vScale);
    const m1 = f32x4.add(f32x4.mul(v128.load(m + at), vBeta1), f32x4.mul(g, vRest1));
    const v1 = f32x4.add(f32x4.mul(v128.load(v + at), vBeta2), f32x4.mul(f32x4.mul(g, g), vRest2));
    const pv = v128.load(p + at);
    let u = f32x4.div(f32x4.div(m1, vC1), f32x4.add(f32x4.sqrt(f32x4.div(v1, vC2)), vEps));
    if (decay) u = f32x4.add(u, f32x4.mul(pv, vWd));
    v128.store(outM + at, m1);
    v128.store(outV + at, v1);
    v128.store(outP + at, f32x4.sub(pv, f32x4.mul(u, vLr)));
  }
  for (; i < count; i++) {
    const at = <usize>i << 2;
    let g = load<f32>(grad + at);
    if (scaled) g = g * scale;
    const m1 = load<f32>(m + at) * beta1 + g * rest1;
    const v1 = load<f32>(v + at) * beta2 + (g * g) * rest2;
    const pv = load<f32>(p + at);
    let u = (m1 / c1) / (sqrt<f32>(v1 / c2) + eps);
    if (decay) u = u + pv * wd;
    store<f32>(outM + at, m1);
    store<f32>(outV + at, v1);
    store<f32>(outP + at, pv - u * lr);
  }
}
