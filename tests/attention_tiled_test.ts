/**
 * The tiled causal attention kernels (src/backend/causal_attention.ts) against the tfjs attention path
 * (`attentionCore` with the additive mask and materialised dropout masks) on wasm: values and gradients, left and
 * right padding, holes in the sequence, several tiles, dropout, one query row per sequence, and whole SASRec models
 * (both paddings and norms) with the kernels switched on and off.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { CAUSAL_ATTENTION, CAUSAL_ATTENTION_GRAD, MIN_TILED_KEYS, TILE_ROWS } from "../src/backend/causal_attention.ts";
import { sasRecOptions } from "../src/config/resolve.ts";
import {
  attentionCore,
  mergeHeads,
  sequenceMasks,
  setTiledAttention,
  splitHeads,
  tiledAttention,
} from "../src/models/attention.ts";
import { bernoulliMultipliers } from "../src/models/layers.ts";
import { SasRec } from "../src/models/sasrec.ts";
import { statePositions } from "../src/models/sequence.ts";
import type { Config } from "../src/config/schema.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";
import { evalBatch, lossAndGrads, take, tinyConfig, trainBatch } from "./models_fixtures.ts";

/** dk above the tile's row count: the scratch holds [dk, rows], [keys, rows] and [keys, dk] tiles. */
const [H, DK] = [2, TILE_ROWS + 3];
/** Longer than two tiles, so that tiles above the diagonal are skipped and the diagonal tile is partial. */
const T = 2 * TILE_ROWS + 7;

/** B = 4 rows of ids: left-padded, right-padded, a pad in the middle, all pads (every row fully masked). */
function inputRows(): Int32Array {
  const ids = new Int32Array(4 * T);
  for (let s = 0; s < T; s++) {
    if (s >= 20) ids[s] = 1 + s; // left padding, 20 pads
    if (s < T - 9) ids[T + s] = 2 + s; // right padding, 9 pads
    if (s !== TILE_ROWS + 3) ids[2 * T + s] = 3 + s; // one pad inside a tile
  }
  return ids;
}

/** Normal values of `shape` as a tensor. */
function randn(rng: Rng, shape: [number, number, number]): tf.Tensor3D {
  return tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape) as tf.Tensor3D;
}

/** Output and gradients (dq, dk, dv) of both paths for one case; `queries` picks one query row per sequence. */
function bothPaths(rate: number, queries?: Int32Array): { tiled: Float32Array[]; plain: Float32Array[] } {
  return tf.tidy(() => {
    const inputs = inputRows(), b = 4, tq = queries ? 1 : T;
    const masks = sequenceMasks({ inputs, batchSize: b, seqLen: T }, "safe", { queries });
    const rng = new Rng(3);
    const [q, k, v] = [randn(rng, [b, tq, H * DK]), randn(rng, [b, T, H * DK]), randn(rng, [b, T, H * DK])];
    const dOut = randn(rng, [b, tq, H * DK]);
    const seed = 12345;
    const drop = rate > 0 ? tf.tensor(bernoulliMultipliers(seed, b * H * tq * T, 1 - rate), [b, H, tq, T]) : null;
    const keep = drop ? drop.mul(masks.rowKeep!) : masks.rowKeep;
    const attrs = { ...masks.layout!, heads: H, seed, keep: 1 - rate };
    const run = (f: (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D) => {
      const { value, grads } = tf.valueAndGrads((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) =>
        f(qs as tf.Tensor3D, ks as tf.Tensor3D, vs as tf.Tensor3D).mul(dOut).sum()
      )([q, k, v]);
      const out = f(q, k, v);
      return [out, ...grads, value.div(tf.abs(value).add(1))].map((t) => t.dataSync() as Float32Array);
    };
    return {
      tiled: run((qs, ks, vs) => tiledAttention(qs, ks, vs, attrs)),
      plain: run((qs, ks, vs) => {
        const [sq, sk, sv] = [qs, ks, vs].map((x) => splitHeads(x, H));
        return mergeHeads(attentionCore(sq, sk, sv, { additive: masks.additive!, keep, heads: H }, true), H);
      }),
    };
  });
}

/** What `bothPaths` returns, in order (the loss relative to 1 + |loss|). */
const PARTS = ["out", "dq", "dk", "dv", "loss"];

Deno.test("tiled attention equals the tfjs path on wasm: values and gradients, paddings, holes, dropout", async () => {
  await onBackend("wasm", () => {
    for (const rate of [0, 0.3]) {
      const { tiled, plain } = bothPaths(rate);
      PARTS.forEach((part, i) => assertClose(tiled[i], plain[i], 2e-5, `rate ${rate} ${part}`));
      // the all-pad sequence (the last of 4) attends nothing: output and gradients exactly 0
      for (const i of [0, 1]) assert.deepEqual([...new Set(tiled[i].slice(3 * T * H * DK))], [0]);
      assert.ok(tiled[0].slice(0, 3 * T * H * DK).some((x) => Math.abs(x) > 0.1), "other outputs are not all zero");
    }
  });
});

Deno.test("tiled attention from one query row per sequence equals the tfjs path", async () => {
  await onBackend("wasm", () => {
    const { tiled, plain } = bothPaths(0, Int32Array.from([T - 1, T - 10, TILE_ROWS + 3, T - 1]));
    PARTS.forEach((part, i) => assertClose(tiled[i], plain[i], 2e-5, part));
  });
});

/** Loss and gradients of a tiny SASRec on `sequences` with the tiled kernels on or off; asserts which path ran. */
async function sasrecRun(config: Config, sequences: number[][], tiled: boolean, expectTiled: boolean) {
  const batch = trainBatch(sequences, { seqLen: config.max_seq_len, numItems: 30, padding: config.padding });
  setTiledAttention(tiled ? "auto" : "never");
  const model = new SasRec(sasRecOptions(config), 30, new Rng(1));
  try {
    let result: ReturnType<typeof lossAndGrads> | undefined;
    const profile = await tf.profile(() => void (result = lossAndGrads(model, batch)));
    const used = [CAUSAL_ATTENTION, CAUSAL_ATTENTION_GRAD].map((name) => profile.kernelNames.includes(name));
    assert.deepEqual(used, [expectTiled, expectTiled], `tiled kernels ran: ${used}`);
    return result!;
  } finally {
    model.dispose();
    setTiledAttention("auto");
  }
}

/** Every padding x norm with dropout 0.2, and without dropout for two of them. */
const PADDING_NORM_DROPOUT = [
  ...(["left", "right"] as const).flatMap((p) => (["pre", "post"] as const).map((n) => [p, n, 0.2] as const)),
  ["left", "pre", 0],
  ["right", "post", 0],
] as const;

Deno.test("SASRec with the tiled kernels equals the tfjs path: loss and every gradient, paddings x norms, dropout", async () => {
  await onBackend("wasm", async () => {
    const rng = new Rng(8);
    const seqLen = MIN_TILED_KEYS + 5;
    const sequences = [40, 12, 140, 3].map((n) => Array.from({ length: n }, () => rng.int(1, 30)));
    for (const [padding, norm, dropout] of PADDING_NORM_DROPOUT) {
      {
        const config = tinyConfig({
          padding,
          norm,
          max_seq_len: seqLen,
          sasrec_dropout: dropout,
          attention_mask: "safe",
        });
        const fast = await sasrecRun(config, sequences, true, true);
        const plain = await sasrecRun(config, sequences, false, false);
        const what = `${padding}/${norm}/dropout ${dropout}`;
        assert.ok(Math.abs(fast.loss - plain.loss) <= 1e-4 * Math.abs(plain.loss), `${what} loss`);
        for (const [name, g] of plain.grads) assertClose(fast.grads.get(name)!, g, 1e-4, `${what} ${name}`);
      }
    }
  });
});

Deno.test("SASRec keeps the tfjs attention path below MIN_TILED_KEYS and in torch mode (its NaN rows)", async () => {
  await onBackend("wasm", async () => {
    const sequences = [[1, 2, 3], [4, 5, 6, 7, 8]];
    await sasrecRun(tinyConfig({ max_seq_len: MIN_TILED_KEYS - 1, attention_mask: "safe" }), sequences, true, false);
    const torch = tinyConfig({ max_seq_len: MIN_TILED_KEYS, attention_mask: "torch", padding: "left" });
    const { loss } = await sasrecRun(torch, sequences, true, false);
    assert.ok(Number.isNaN(loss), "torch mode: left-padded pad rows make the loss NaN, as before");
  });
});

Deno.test("SASRec user states through the tiled kernels (last block on state rows, length groups) equal the tfjs full pass", async () => {
  await onBackend("wasm", async () => {
    const seqLen = 168;
    assert.ok(seqLen >= MIN_TILED_KEYS);
    // 40 rows, two length groups (LENGTH_GROUP_ROWS = 32), both trimmed (to 134 and 150 of 168 columns) and tiled
    const more = Array.from(
      { length: 36 },
      (_, i) => Array.from({ length: (i * 37) % 150 }, (_, j) => 1 + ((i + j) % 29)),
    );
    const sequences = [
      [1, 2, 3, 4, 5, 6, 7],
      Array.from({ length: 150 }, (_, i) => 1 + (i % 29)),
      [3, 5, 7],
      [4],
      ...more,
    ];
    for (const padding of ["left", "right"] as const) {
      for (const norm of ["pre", "post"] as const) {
        const m = new SasRec(
          sasRecOptions(tinyConfig({ padding, norm, max_seq_len: seqLen, attention_mask: "safe" })),
          30,
          new Rng(2),
        );
        const eb = evalBatch(sequences, { seqLen, padding });
        const ctx = m.context(false);
        let fast = new Float32Array() as Float32Array<ArrayBufferLike>;
        const profile = await tf.profile(() => void (fast = take(m.userStates(ctx, eb))));
        assert.ok(profile.kernelNames.includes(CAUSAL_ATTENTION), "the tiled kernel ran");
        setTiledAttention("never");
        const hidden = m.encode(ctx, eb);
        const full = take(m.gatherPositions(hidden, statePositions(eb, "last")));
        setTiledAttention("auto");
        hidden.dispose();
        m.dispose();
        assertClose(fast, full, 1e-5, `${padding}/${norm}`);
        assert.ok(
          full.every(Number.isFinite) && full.some((x) => Math.abs(x) > 0.1),
          `${padding}/${norm}: real values`,
        );
      }
    }
  });
});

Deno.test("the tiled kernels leave no tensors or backend buffers behind (forward and backward, with dropout)", async () => {
  await onBackend("wasm", () => {
    const masks = sequenceMasks({ inputs: inputRows(), batchSize: 4, seqLen: T }, "safe");
    const attrs = { ...masks.layout!, heads: H, seed: 1, keep: 0.8 };
    const rng = new Rng(4);
    const [q, k, v] = [0, 1, 2].map(() => randn(rng, [4, T, H * DK]));
    const [tensors, buffers] = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
    const attend = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tiledAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, attrs).sum();
    tf.tidy(() => tf.grads(attend)([q, k, v]).forEach((g) => g.dataSync()));
    assert.deepEqual([tf.memory().numTensors, tf.engine().backend.numDataIds()], [tensors, buffers]);
    tf.dispose([q, k, v, masks.additive!, masks.rowKeep!, masks.timeline!]);
  });
});
