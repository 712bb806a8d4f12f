import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { setFastKernels } from "../src/backend/override.ts";
import { RANK_COUNTS } from "../src/backend/rank_counts.ts";
import type { EvalBatch } from "../src/data/types.ts";
import { evaluate, type EvaluateOptions, type Evaluation } from "../src/eval/evaluate.ts";
import { metricsFromRanks, rankOf, type TiePolicy } from "../src/eval/metrics.ts";
import { BprMf } from "../src/models/baselines.ts";
import type { Recommender } from "../src/models/types.ts";
import { Rng } from "../src/rng.ts";
import { assertClose, onBackend } from "./helpers.ts";

/** A recommender whose scores are the rows of a fixed [users, W] matrix. */
function matrixModel(matrix: number[][]): Recommender {
  return {
    name: "matrix",
    modules: () => ({}),
    parameterCounts: () => ({}),
    dispose: () => {},
    trainScores: () => {
      throw new Error("not used");
    },
    scoreAll: (b) => tf.tensor2d(Array.from(b.users, (u) => matrix[u]), [b.batchSize, matrix[0].length]),
    scoreCandidates: (b) =>
      tf.tensor2d(
        Array.from(b.users, (u, r) => {
          const ids = b.candidates!.subarray(r * b.numCandidates, (r + 1) * b.numCandidates);
          return Array.from(ids, (id) => matrix[u][id]);
        }),
        [b.batchSize, b.numCandidates],
      ),
  };
}

/** `matrixModel` with its own chunk scorer: each chunk is built from the matrix's columns alone. */
function chunkedMatrixModel(matrix: number[][]): Recommender {
  return {
    ...matrixModel(matrix),
    name: "chunked",
    scoreAll: () => {
      throw new Error("scoreAll is not used when the model has an itemScorer");
    },
    itemScorer: (b) => ({
      score: (start, end) =>
        tf.tensor2d(Array.from(b.users, (u) => matrix[u].slice(start, end)), [b.batchSize, end - start]),
      dispose: () => {},
    }),
  };
}

function batch(users: number[], targets: number[], history: number[][], candidates?: number[][]): EvalBatch {
  return {
    users: Int32Array.from(users),
    inputs: new Int32Array(users.length),
    targets: Int32Array.from(targets),
    candidates: candidates ? Int32Array.from(candidates.flat()) : undefined,
    numCandidates: candidates ? candidates[0].length : 0,
    history,
    batchSize: users.length,
    seqLen: 1,
  };
}

// Item ids 0..7; id 0 is padding and id 4 is not an item.
const ITEM_EXISTS = Uint8Array.from([0, 1, 1, 1, 0, 1, 1, 1]);
const SCORES = [
  // user 0: target 3 (5); history 1 (NaN) and 2 (8) and ids 0 (11), 4 (10) are masked; only id 6 (6) beats it.
  [11, NaN, 8, 5, 10, 1, 6, 2],
  // user 1: target 7 (2); id 5 beats it, ids 1 and 2 tie; -Inf on the non-item id 4 is ignored.
  [0, 2, 2, 0, -Infinity, 3, -1, 2],
  // user 2: target 1 (4), itself in the history (stays in); NaN on the competing id 6.
  [0, 4, 1, 7, 0, 9, NaN, 0],
  // user 3: target 5 (3) tied with all four competitors 1, 3, 6, 7; history 2 (100) masked.
  [0, 3, 100, 3, 0, 3, 3, 3],
];
const FULL_BATCHES = [
  batch([0, 1], [3, 7], [[1, 2], []]),
  batch([2, 3], [1, 5], [[5, 1], [2]]),
];

Deno.test("evaluate: full ranking masks history, id 0 and non-items but not the target; ties follow the policy", async () => {
  await initBackend("wasm");
  const model = matrixModel(SCORES);
  const expected: Record<TiePolicy, number[]> = {
    pessimistic: [2, 4, 5, 5],
    optimistic: [2, 2, 5, 1],
    average: [2, 3, 5, 3],
  };
  for (const [tiePolicy, ranks] of Object.entries(expected) as [TiePolicy, number[]][]) {
    const got = await evaluate(model, FULL_BATCHES, { protocol: "full", tiePolicy, itemExists: ITEM_EXISTS });
    assert.equal(got.users, 4);
    assert.deepEqual([got.perUser.users, got.perUser.targets], [
      Int32Array.from([0, 1, 2, 3]),
      Int32Array.from([3, 7, 1, 5]),
    ]);
    assert.equal(got.nonfinite, 1, "user 2 (NaN on a competing item) counted, ranked last");
    assert.deepEqual(got.metrics, metricsFromRanks(ranks), tiePolicy);
    assert.deepEqual(got.perUser.ranks, Float64Array.from(ranks), `${tiePolicy}: per-user ranks in batch order`);
  }
  const pessimistic = await evaluate(model, FULL_BATCHES, {
    protocol: "full",
    tiePolicy: "pessimistic",
    itemExists: ITEM_EXISTS,
  });
  assertClose([pessimistic.metrics.MRR], [(1 / 2 + 1 / 4 + 1 / 5 + 1 / 5) / 4], 1e-12, "MRR by hand");
  assertClose([pessimistic.metrics["HR@5"]], [1], 0, "HR@5: worst rank is 5 (4 competitors + target)");
  assertClose(
    [pessimistic.metrics["NDCG@5"]],
    [(1 / Math.log2(3) + 1 / Math.log2(5) + 2 / Math.log2(6)) / 4],
    1e-12,
    "NDCG@5",
  );
});

Deno.test("evaluate: sampled protocol ranks the target (column 0) against the batch's candidates", async () => {
  await initBackend("wasm");
  const model = matrixModel(SCORES);
  const batches = [batch([0, 1, 2], [3, 7, 1], [[], [], []], [[3, 5, 6, 2], [7, 1, 2, 6], [1, 6, 3, 7]])];
  const opts = (tiePolicy: TiePolicy): EvaluateOptions => ({
    protocol: "sampled100",
    tiePolicy,
    itemExists: ITEM_EXISTS,
  });
  // user 0: 5 vs [1, 6, 8] -> rank 3; user 1: 2 vs [2, 2, -1]; user 2: NaN among candidates -> rank 4.
  const pessimistic = await evaluate(model, batches, opts("pessimistic"));
  assert.deepEqual(pessimistic, {
    metrics: metricsFromRanks([3, 3, 4]),
    users: 3,
    nonfinite: 1,
    perUser: {
      users: Int32Array.from([0, 1, 2]),
      targets: Int32Array.from([3, 7, 1]),
      ranks: Float64Array.from([3, 3, 4]),
    },
  });
  assert.deepEqual((await evaluate(model, batches, opts("optimistic"))).metrics, metricsFromRanks([3, 1, 4]));
  assert.deepEqual((await evaluate(model, batches, opts("average"))).metrics, metricsFromRanks([3, 2, 4]));
});

Deno.test("evaluate: batched ranks equal the per-row reference rankOf on random tied scores, cpu, wasm kernel and wasm tensors", async () => {
  const rng = new Rng(7);
  const [users, width] = [40, 60];
  const itemExists = Uint8Array.from({ length: width }, (_, i) => (i > 0 && rng.next() > 0.1 ? 1 : 0));
  const items = [...itemExists.keys()].filter((i) => itemExists[i]);
  // Scores rounded to 0.1 so that ties are common; a few NaN and infinities (7 rows whose only non-finite
  // competitors are infinite).
  const scores = Array.from({ length: users }, () =>
    Array.from({ length: width }, () => {
      const u = rng.next();
      if (u < 0.003) return NaN;
      if (u < 0.012) return rng.next() < 0.5 ? Infinity : -Infinity;
      return Math.round(rng.normal() * 10) / 10;
    }));
  const targets = Array.from({ length: users }, () => items[rng.int(0, items.length)]);
  const history = Array.from({ length: users }, () => Array.from({ length: rng.int(0, 12) }, () => rng.int(1, width)));
  const batches = [0, 16, 32].map((s) => {
    const ids = Array.from({ length: Math.min(16, users - s) }, (_, i) => s + i);
    return batch(ids, ids.map((u) => targets[u]), ids.map((u) => history[u]));
  });
  for (const tiePolicy of ["pessimistic", "optimistic", "average"] as const) {
    const ranks: number[] = [];
    let nonfinite = 0;
    for (let u = 0; u < users; u++) {
      const masked = new Set([0, ...history[u]]);
      const others = items.filter((i) => i !== targets[u] && !masked.has(i)).map((i) => scores[u][i]);
      const row = rankOf(scores[u][targets[u]], others, tiePolicy);
      ranks.push(row.rank);
      nonfinite += row.nonfinite ? 1 : 0;
    }
    assert.ok(nonfinite > 0 && nonfinite < users, `the data exercise both cases (${nonfinite} non-finite rows)`);
    const perUser = {
      users: Int32Array.from({ length: users }, (_, u) => u),
      targets: Int32Array.from(targets),
      ranks: Float64Array.from(ranks),
    };
    const expected = { metrics: metricsFromRanks(ranks), users, nonfinite, perUser };
    // wasm counts with the RANK_COUNTS kernel, and with the tensor ops of cpu when the fast kernels are off
    for (const [backend, fast] of [["cpu", true], ["wasm", true], ["wasm", false]] as const) {
      // Whole catalogue in one chunk, then chunks smaller than it (7 and 13 do not divide 60), from the whole
      // scoreAll matrix and from a model's own chunk scorer.
      for (const chunkItems of [undefined, 7, 13]) {
        const opts: EvaluateOptions = { protocol: "full", tiePolicy, itemExists, chunkItems };
        for (const model of [matrixModel(scores), chunkedMatrixModel(scores)]) {
          setFastKernels(fast);
          let got: Evaluation | undefined;
          const profile = await onBackend(
            backend,
            () => tf.profile(async () => void (got = await evaluate(model, batches, opts))),
          );
          setFastKernels(true);
          const where = `${tiePolicy} on ${backend} (fast kernels ${fast}), ${model.name}, chunk ${chunkItems}`;
          assert.equal(profile.kernelNames.includes(RANK_COUNTS), backend === "wasm" && fast, where);
          assert.deepEqual(got, expected, where);
        }
      }
    }
  }
});

Deno.test("evaluate: no tensors leak; a wrong score shape is an error naming the model", async () => {
  await initBackend("wasm");
  const model = matrixModel(SCORES);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    await evaluate(model, FULL_BATCHES, { protocol: "full", tiePolicy: "average", itemExists: ITEM_EXISTS });
  }
  assert.equal(tf.memory().numTensors, before);
  const wider = Uint8Array.from([...ITEM_EXISTS, 1]);
  await assert.rejects(
    () => evaluate(model, FULL_BATCHES, { protocol: "full", tiePolicy: "average", itemExists: wider }),
    /matrix\.scoreAll returned shape \[2,8\], expected \[2,9\]/,
  );
  assert.equal(tf.memory().numTensors, before, "no leak on the error path either");
});

Deno.test("evaluate: chunked full ranking of BPR-MF over 100,000 items equals one chunk, with flat tensor counts", async () => {
  await initBackend("wasm");
  const numItems = 100_000;
  const rng = new Rng(3);
  const model = new BprMf(
    { dim: 4, initStd: 0.5 },
    { numItems, userIds: [1, 2, 3, 4, 5, 6] },
    rng,
  );
  const itemExists = Uint8Array.from({ length: numItems + 1 }, (_, i) => (i === 0 || i % 97 === 0 ? 0 : 1));
  const users = [0, 1, 2, 3, 4, 5];
  const targets = [5, 16_384, 16_385, 50_000, 99_999, 100_000]; // on, just past and inside chunk edges
  const history = users.map(() => Array.from({ length: 20 }, () => rng.int(1, numItems + 1)));
  const batches = [
    batch(users.slice(0, 4), targets.slice(0, 4), history.slice(0, 4)),
    batch([4, 5], targets.slice(4), history.slice(4)),
  ];
  try {
    const whole = await evaluate(model, batches, {
      protocol: "full",
      tiePolicy: "average",
      itemExists,
      chunkItems: numItems + 1,
    });
    const before = tf.memory().numTensors;
    for (const chunkItems of [numItems + 1, undefined, 4096, 30_001]) {
      const chunked = await evaluate(model, batches, {
        protocol: "full",
        tiePolicy: "average",
        itemExists,
        chunkItems,
      });
      assert.deepEqual(chunked, whole, `chunk ${chunkItems}`);
      assert.equal(tf.memory().numTensors, before, `no tensors leak with chunk ${chunkItems}`);
    }
    assert.equal(whole.users, 6);
    assert.ok(whole.metrics.MRR > 0 && whole.metrics.MRR < 1, `a real ranking: MRR ${whole.metrics.MRR}`);
  } finally {
    model.dispose();
  }
});
