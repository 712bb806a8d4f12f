/**
 * The NaN probe's read-back: statistics of many tensors read at once (asynchronously), the choice of the first
 * non-finite record, and a StatsProbe that keeps what it records until `read()` and leaks nothing.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { ProbeStat } from "../src/run/records.ts";
import { firstNonfiniteRecord, StatsProbe } from "../src/train/probes.ts";
import { readStats } from "../src/train/tensor_stats.ts";
import { onBackend } from "./helpers.ts";

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`readStats (${backend}): finite-only min/max/mean/std and NaN/±Infinity counts, one tensor after another`, async () => {
    await onBackend(backend, async () => {
      const mixed = tf.tensor2d([[1, 2, NaN], [Infinity, -Infinity, 3]]);
      const allNan = tf.tensor1d([NaN, NaN]);
      const [a, b] = await readStats([mixed, allNan]);
      // finite values 1, 2, 3: mean 2, population variance (1 + 0 + 1) / 3
      assert.deepEqual({ ...a, std: Number(a.std!.toFixed(6)) }, {
        min: 1,
        max: 3,
        mean: 2,
        std: Number(Math.sqrt(2 / 3).toFixed(6)),
        nonfinite: 3,
        nan: 1,
        posinf: 1,
        neginf: 1,
        size: 6,
      });
      assert.deepEqual(b, {
        min: null,
        max: null,
        mean: null,
        std: null,
        nonfinite: 2,
        nan: 2,
        posinf: 0,
        neginf: 0,
        size: 2,
      });
      assert.deepEqual(await readStats([]), []);
      tf.dispose([mixed, allNan]);
    });
  });
}

function stat(layer: string, counts: Partial<Pick<ProbeStat, "nan" | "posinf" | "neginf">> = {}): ProbeStat {
  const { nan = 0, posinf = 0, neginf = 0 } = counts;
  const nonfinite = nan + posinf + neginf;
  return {
    step: 0,
    phase: "forward",
    layer,
    op: "out",
    min: 0,
    max: 0,
    mean: 0,
    std: 0,
    nonfinite,
    nan,
    posinf,
    neginf,
    size: 8,
  };
}

Deno.test("firstNonfiniteRecord: the first NaN with the infinities before it, else the first infinity, else null", () => {
  const infA = stat("a", { neginf: 2 });
  const infB = stat("b", { posinf: 1 });
  assert.deepEqual(
    firstNonfiniteRecord([stat("x"), infA, infB, stat("n", { nan: 1, posinf: 1 }), stat("c", { nan: 3 })]),
    {
      index: 3,
      kind: "nan",
      precededBy: [
        { phase: "forward", layer: "a", op: "out", posinf: 0, neginf: 2 },
        { phase: "forward", layer: "b", op: "out", posinf: 1, neginf: 0 },
      ],
    },
  );
  assert.deepEqual(firstNonfiniteRecord([stat("x"), infA, infB]), { index: 1, kind: "inf", precededBy: [] });
  assert.equal(firstNonfiniteRecord([stat("x"), stat("y")]), null);
});

Deno.test("StatsProbe: keeps what it records past the caller's dispose, locates the first NaN on read, leaks nothing", async () => {
  await onBackend("cpu", async () => {
    const before = tf.memory().numTensors;
    // two rows of three positions, left padded: row 0 has one pad (position 0), row 1 none
    const probe = new StatsProbe({ batchSize: 2, seqLen: 3, padsPerRow: [1, 0], leftPadded: true });
    probe.step = 4;
    probe.stage = "pretrain_sasrec";
    tf.tidy(() => {
      probe.forward("emb", "sum", tf.tensor2d([[-Infinity, 0, 0], [0, 0, 0]]));
      probe.forward("block0.attn", "softmax", tf.tensor2d([[NaN, 1, 2], [3, 4, 5]]));
    });
    const { stats, first } = await probe.read();
    assert.equal(tf.memory().numTensors, before, "read() releases the recorded tensors");
    assert.deepEqual(stats.map((s) => [s.step, s.layer, s.op, s.min, s.max, s.nan, s.neginf]), [
      [4, "emb", "sum", 0, 0, 0, 1],
      [4, "block0.attn", "softmax", 1, 5, 1, 0],
    ]);
    assert.deepEqual(first, {
      step: 4,
      stage: "pretrain_sasrec",
      phase: "forward",
      layer: "block0.attn",
      op: "softmax",
      kind: "nan",
      count: 1,
      shape: [2, 3],
      rows: [0],
      positions: [0],
      row_padding: [1],
      all_in_padding: true,
      cells: [[0, 0]],
      cell_count: 1,
      blind_cells: 1, // position 0 of a row with one left pad sees no key
      preceded_by: [{ phase: "forward", layer: "emb", op: "sum", posinf: 0, neginf: 1 }],
    });

    const unread = new StatsProbe({ batchSize: 1, seqLen: 1, padsPerRow: [0], leftPadded: true });
    tf.tidy(() => unread.record("backward", "p", "param_grad", tf.ones([3])));
    assert.equal(tf.memory().numTensors, before + 1, "the probe holds its record");
    unread.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
