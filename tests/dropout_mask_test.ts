import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { DROPOUT_MASK } from "../src/backend/dropout_mask.ts";
import { bernoulliMultipliers } from "../src/models/layers.ts";

Deno.test("bernoulliMultipliers: values 0 or 1/keep, kept share = keep within 4 sigma, seeded, odd counts filled", () => {
  const count = 100_001;
  for (const keep of [0.8, 0.1, 0.5]) {
    const m = bernoulliMultipliers(7, count, keep);
    let kept = 0;
    for (const v of m) {
      assert.ok(v === 0 || v === Math.fround(1 / keep), `value ${v}`);
      if (v !== 0) kept++;
    }
    const sigma = Math.sqrt((keep * (1 - keep)) / count);
    assert.ok(Math.abs(kept / count - keep) < 4 * sigma, `keep ${keep}: kept share ${kept / count}`);
  }
  assert.deepEqual(bernoulliMultipliers(3, 1001, 0.5), bernoulliMultipliers(3, 1001, 0.5));
  assert.notDeepEqual(bernoulliMultipliers(3, 1001, 0.5), bernoulliMultipliers(4, 1001, 0.5));
  // the last element of an odd count comes from the low half of the last hash, like every even index
  const odd = bernoulliMultipliers(9, 5, 0.5), even = bernoulliMultipliers(9, 6, 0.5);
  assert.deepEqual(Array.from(odd), Array.from(even.subarray(0, 5)));
  // neighbouring elements (two halves of one hash) are not correlated: P(both kept) ≈ keep²
  const pairs = bernoulliMultipliers(11, count - 1, 0.5);
  let both = 0;
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] && pairs[i + 1]) both++;
  assert.ok(Math.abs(both / (pairs.length / 2) - 0.25) < 4 * Math.sqrt(0.1875 / (pairs.length / 2)));
});

Deno.test("the wasm dropout-mask kernel equals bernoulliMultipliers (SIMD blocks and a tail, seeds past 2^31)", async () => {
  await initBackend("wasm");
  for (const [seed, count, keep] of [[7, 1003, 0.8], [0xfffffff0, 17, 0.5], [3, 4, 0.1], [5, 1, 0.9]]) {
    const mask = tf.engine().runKernel(DROPOUT_MASK, {}, { shape: [count], seed, keep }) as tf.Tensor;
    assert.deepEqual(Array.from(mask.dataSync()), Array.from(bernoulliMultipliers(seed, count, keep)), `${seed}`);
    mask.dispose();
  }
});
