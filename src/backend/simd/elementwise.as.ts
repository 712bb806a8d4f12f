// AssemblyScript source of src/backend/simd/elementwise.wasm (build: `bash scripts/build_simd.sh`): single-pass
// kernels of src/backend/heap_kernels.ts, on tfjs-backend-wasm's memory like gemm.wasm. Offsets are in bytes.

/**
 * acc[c] += Σ_r x[r, c] for an x of [rows, cols] floats and float64 accumulators acc[cols]: each column summed in
 * row order in float64, the same additions, in the same order, as a scalar loop over the rows.
 */
export function sumRows(x: usize, rows: i32, cols: i32, acc: usize): void {
  const vectors = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let c = 0;
    for (; c < vectors; c += 4) {
      const v = v128.load(row + (<usize>c << 2)), at = acc + (<usize>c << 3);
      v128.store(at, f64x2.add(v128.load(at), f64x2.promote_low_f32x4(v)));
      const high = i32x4.shuffle(v, v, 2, 3, 0, 1);
      v128.store(at, f64x2.add(v128.load(at, 16), f64x2.promote_low_f32x4(high)), 16);
    }
    for (; c < cols; c++) {
      const at = acc + (<usize>c << 3);
      store<f64>(at, load<f64>(at) + <f64>load<f32>(row + (<usize>c << 2)));
    }
  }
}

/** out[i] = x[i] >= value (1 or 0, one byte each) or, with `scalarFirst`, value >= x[i]; NaN compares false. */
export function greaterEqualScalar(x: usize, n: i32, value: f32, scalarFirst: bool, out: usize): void {
  const v = f32x4.splat(value), one = i8x16.splat(1);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const at = x + (<usize>i << 2);
    const a = v128.load(at), b = v128.load(at, 16), c = v128.load(at, 32), d = v128.load(at, 48);
    const ma = scalarFirst ? f32x4.ge(v, a) : f32x4.ge(a, v), mb = scalarFirst ? f32x4.ge(v, b) : f32x4.ge(b, v);
    const mc = scalarFirst ? f32x4.ge(v, c) : f32x4.ge(c, v), md = scalarFirst ? f32x4.ge(v, d) : f32x4.ge(d, v);
    const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(ma, mb), i16x8.narrow_i32x4_s(mc, md));
    v128.store(out + <usize>i, v128.and(bytes, one));
  }
  for (; i < n; i++) {
    const a = load<f32>(x + (<usize>i << 2));
    store<u8>(out + <usize>i, scalarFirst ? <u8>(value >= a) : <u8>(a >= value));
  }
}

/** out[i] = max(x[i], 0): negative numbers and −0 become +0, NaN stays NaN (ReLU that keeps NaN). */
export function maximumZero(x: usize, n: i32, out: usize): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.max(v128.load(x + (<usize>i << 2)), zero));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), max(load<f32>(x + (<usize>i << 2)), <f32>0));
}

/** out[i] = x[i] (a bool byte, 0 or 1) as a float. */
export function boolToFloat(x: usize, n: i32, out: usize): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const bytes = v128.load(x + <usize>i), low = i16x8.extend_low_i8x16_u(bytes), high = i16x8.extend_high_i8x16_u(bytes);
    const at = out + (<usize>i << 2);
    v128.store(at, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(low)));
    v128.store(at, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(low)), 16);
    v128.store(at, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(high)), 32);
    v128.store(at, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(high)), 48);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<u8>(x + <usize>i));
}

/** Copies row ids[i] of `x` (rows of `rowFloats` floats) to row i of `out`, for i < count; ids are in range. */
export function gatherRows(x: usize, ids: usize, count: i32, rowFloats: i32, out: usize): void {
  const rowBytes = <usize>rowFloats << 2;
  for (let i = 0; i < count; i++) {
    memory.copy(out + <usize>i * rowBytes, x + <usize>load<i32>(ids + (<usize>i << 2)) * rowBytes, rowBytes);
  }
}

/**
 * out[s] = Σ_{i: ids[i] = s} x[i] over rows of `rowFloats` floats, for s < segments (the gradient of a gather); rows
 * whose id is out of range are dropped, as in TensorFlow. `out` is overwritten.
 */
export function segmentSumRows(x: usize, ids: usize, count: i32, rowFloats: i32, segments: i32, out: usize): void {
  const rowBytes = <usize>rowFloats << 2, vectors = rowFloats & ~3;
  memory.fill(out, 0, <usize>segments * rowBytes);
  for (let i = 0; i < count; i++) {
    const segment = load<i32>(ids + (<usize>i << 2));
    if (segment < 0 || segment >= segments) continue;
    const from = x + <usize>i * rowBytes, to = out + <usize>segment * rowBytes;
    let c = 0;
    for (; c < vectors; c += 4) {
      const at = <usize>c << 2;
      v128.store(to + at, f32x4.add(v128.load(to + at), v128.load(from + at)));
    }
    for (; c < rowFloats; c++) {
      const at = <usize>c << 2;
      store<f32>(to + at, load<f32>(to + at) + load<f32>(from + at));
    }
  }
}

/** out[r, 0..width) = x[r, first..first + width) for r < rows, x with `cols` floats per row: a column block. */
export function copyColumns(x: usize, rows: i32, cols: i32, first: i32, width: i32, out: usize): void {
  const widthBytes = <usize>width << 2, rowBytes = <usize>cols << 2;
  let from = x + (<usize>first << 2), to = out;
  if (width == 1) {
    for (let r = 0; r < rows; r++, from += rowBytes, to += 4) store<u32>(to, load<u32>(from));
    return;
  }
  for (let r = 0; r < rows; r++, from += rowBytes, to += widthBytes) memory.copy(to, from, widthBytes);
}
