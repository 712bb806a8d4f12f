import assert from "node:assert/strict";
import { evalBatches, trainBatches } from "../src/data/batches.ts";
import { buildDataset, loadDataset } from "../src/data/dataset.ts";
import { NegativeSampler } from "../src/data/negatives.ts";
import type { Dataset, Interactions, TrainBatch } from "../src/data/types.ts";
import { Rng } from "../src/rng.ts";
import { testConfig } from "./data_fixtures.ts";
import { sharedDataDir } from "./helpers.ts";

/** Two users over items 1..10: A = [1..6] (train [1, 2, 3, 4]), B = [7, 8, 9, 10, 1] (train [7, 8, 9]). */
function tinyDataset(): Dataset {
  const items = new Map(
    Array.from({ length: 10 }, (_, i) => [i + 1, { id: i + 1, title: `T${i + 1}`, year: null, genres: [] }]),
  );
  const interactions: Interactions = {
    userIds: [100, 200],
    sequences: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 1]],
    timestamps: [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5]],
    numItems: 10,
    items,
    report: {},
  };
  return buildDataset("tiny", interactions, "loo");
}

/** Row `r` of a [B, T] array. */
const row = (a: Int32Array, r: number, t: number) => [...a.subarray(r * t, (r + 1) * t)];

function epoch(ds: Dataset, values: Record<string, unknown>, seed = 1): TrainBatch[] {
  return [...trainBatches(ds, testConfig(values), new Rng(seed))];
}

Deno.test("batches: left and right padding layouts with targets at every position", () => {
  const ds = tinyDataset();
  for (const padding of ["left", "right"] as const) {
    const [batch] = epoch(ds, { max_seq_len: 5, batch_size: 2, num_negatives: 2, padding });
    const a = [...batch.users].indexOf(0);
    const b = [...batch.users].indexOf(1);
    if (padding === "left") {
      assert.deepEqual(row(batch.inputs, a, 5), [0, 0, 1, 2, 3]);
      assert.deepEqual(row(batch.positives, a, 5), [0, 0, 2, 3, 4]);
      assert.deepEqual(row(batch.inputs, b, 5), [0, 0, 0, 7, 8]);
      assert.deepEqual(row(batch.positives, b, 5), [0, 0, 0, 8, 9]);
    } else {
      assert.deepEqual(row(batch.inputs, a, 5), [1, 2, 3, 0, 0]);
      assert.deepEqual(row(batch.positives, a, 5), [2, 3, 4, 0, 0]);
      assert.deepEqual(row(batch.inputs, b, 5), [7, 8, 0, 0, 0]);
      assert.deepEqual(row(batch.positives, b, 5), [8, 9, 0, 0, 0]);
    }
    assert.deepEqual([batch.batchSize, batch.seqLen, batch.numNegatives], [2, 5, 2]);
    // negatives: 2 per target position, 0 elsewhere, never in the user's train sequence
    for (let r = 0; r < 2; r++) {
      const history = ds.splits[batch.users[r]].train;
      for (let t = 0; t < 5; t++) {
        const negs = [...batch.negatives.subarray((r * 5 + t) * 2, (r * 5 + t + 1) * 2)];
        if (batch.positives[r * 5 + t] === 0) assert.deepEqual(negs, [0, 0]);
        else assert.ok(negs.every((n) => n >= 1 && n <= 10 && !history.includes(n)), `${negs} vs ${history}`);
      }
    }
  }
});

Deno.test("batches: window keeps the last max_seq_len positions; train_targets last keeps one target", () => {
  const ds = tinyDataset();
  const [short] = epoch(ds, { max_seq_len: 2, batch_size: 2, padding: "left" });
  const a = [...short.users].indexOf(0);
  assert.deepEqual(row(short.inputs, a, 2), [2, 3]);
  assert.deepEqual(row(short.positives, a, 2), [3, 4]);
  const [last] = epoch(ds, { max_seq_len: 5, batch_size: 2, train_targets: "last", padding: "left" });
  const al = [...last.users].indexOf(0);
  assert.deepEqual(row(last.inputs, al, 5), [0, 0, 1, 2, 3]);
  assert.deepEqual(row(last.positives, al, 5), [0, 0, 0, 0, 4]);
  const [lastRight] = epoch(ds, { max_seq_len: 5, batch_size: 2, train_targets: "last", padding: "right" });
  assert.deepEqual(row(lastRight.positives, [...lastRight.users].indexOf(0), 5), [0, 0, 4, 0, 0]);
});

Deno.test("batches: same seed gives the same epoch; batch size, last batch and max_steps_per_epoch", () => {
  const ds = tinyDataset();
  const values = { max_seq_len: 4, batch_size: 1, num_negatives: 3 };
  const [e1, e2, e3] = [epoch(ds, values, 7), epoch(ds, values, 7), epoch(ds, values, 8)];
  assert.deepEqual(e1, e2);
  assert.notDeepEqual(e1.map((b) => [...b.negatives]), e3.map((b) => [...b.negatives]));
  assert.deepEqual(e1.map((b) => b.batchSize), [1, 1]);
  assert.deepEqual(epoch(ds, { batch_size: 3 }).map((b) => b.batchSize), [2]);
  assert.equal(epoch(ds, { ...values, max_steps_per_epoch: 1 }).length, 1);
});

Deno.test("batches: eval inputs, targets, history and padding", () => {
  const ds = tinyDataset();
  const [val] = evalBatches(ds, testConfig({ max_seq_len: 5, padding: "left" }), "val");
  assert.deepEqual([...val.users], [0, 1]);
  assert.deepEqual(row(val.inputs, 0, 5), [0, 1, 2, 3, 4]);
  assert.deepEqual(row(val.inputs, 1, 5), [0, 0, 7, 8, 9]);
  assert.deepEqual([...val.targets], [5, 10]);
  assert.deepEqual(val.history, [[1, 2, 3, 4], [7, 8, 9]]);
  assert.equal(val.candidates, undefined);
  assert.equal(val.numCandidates, 0);
  const [test] = evalBatches(ds, testConfig({ max_seq_len: 3, padding: "right" }), "test");
  assert.deepEqual(row(test.inputs, 0, 3), [3, 4, 5]);
  assert.deepEqual(row(test.inputs, 1, 3), [8, 9, 10]);
  assert.deepEqual([...test.targets], [6, 1]);
  assert.deepEqual(test.history, [[1, 2, 3, 4, 5], [7, 8, 9, 10]]);
  const [right] = evalBatches(ds, testConfig({ max_seq_len: 5, padding: "right" }), "val");
  assert.deepEqual(row(right.inputs, 1, 5), [7, 8, 9, 0, 0]);
  assert.deepEqual(evalBatches(ds, testConfig({ eval_batch_size: 1 }), "val").map((b) => b.batchSize), [1, 1]);
});

Deno.test("batches: sampled candidates avoid the whole history, are distinct and fixed across calls", () => {
  const ds = tinyDataset();
  const config = testConfig({ eval_protocol: "sampled100", eval_candidates: 4 });
  const [val] = evalBatches(ds, config, "val");
  assert.equal(val.numCandidates, 4);
  const a = row(val.candidates!, 0, 4);
  assert.equal(a[0], 5);
  // user A's whole sequence is 1..6: the only other real items are 7..10
  assert.ok(a.slice(1).every((c) => c >= 7 && c <= 10));
  assert.equal(new Set(a).size, 4);
  const b = row(val.candidates!, 1, 4);
  assert.equal(b[0], 10);
  assert.ok(b.slice(1).every((c) => c >= 2 && c <= 6), `${b}`);
  assert.deepEqual(evalBatches(ds, config, "val"), [val]);
  assert.deepEqual(
    evalBatches(ds, testConfig({ ...config, eval_batch_size: 1 }), "val")[1].candidates,
    Int32Array.from(b),
  );
  assert.throws(() => evalBatches(ds, testConfig({ eval_protocol: "sampled100", eval_candidates: 6 }), "val"), {
    message: "eval_candidates = 6: user 100 has only 4 items outside their history to sample from",
  });
});

Deno.test("negatives: the sampler excludes ids and counts only real items as unavailable", () => {
  const exists = Uint8Array.from([0, 1, 1, 0, 1, 1]); // real items 1, 2, 4, 5
  const sampler = new NegativeSampler(exists);
  sampler.exclude([1, 3, 5, 99]);
  assert.equal(sampler.available(), 2);
  const rng = new Rng(3);
  const seen = new Set(Array.from({ length: 200 }, () => sampler.draw(rng)));
  assert.deepEqual([...seen].sort(), [2, 4]);
  assert.deepEqual(sampler.drawDistinct(rng, 2).sort(), [2, 4]);
  assert.throws(() => sampler.draw(rng), /covers every item/);
});

const shared = sharedDataDir();
Deno.test({
  name: "batches: real ML-100K epoch: every negative is a real item outside the user's train history",
  ignore: shared === undefined,
  fn: async () => {
    const config = testConfig({ dataset: "ml-100k", data_dir: shared, preset: "original", num_negatives: 4 });
    const ds = await loadDataset(config);
    let targets = 0;
    let steps = 0;
    for (const batch of trainBatches(ds, config, new Rng(1))) {
      steps++;
      for (let r = 0; r < batch.batchSize; r++) {
        const history = new Set(ds.splits[batch.users[r]].train);
        for (let t = 0; t < batch.seqLen; t++) {
          if (batch.positives[r * batch.seqLen + t] === 0) continue;
          targets++;
          for (let k = 0; k < 4; k++) {
            const n = batch.negatives[(r * batch.seqLen + t) * 4 + k];
            assert.ok(ds.itemExists[n] === 1 && !history.has(n), `user ${batch.users[r]}: negative ${n}`);
          }
        }
      }
    }
    assert.equal(steps, Math.ceil(938 / 128));
    // every train position up to the last 50: sum over users of min(len(train) - 1, 50)
    assert.equal(targets, ds.splits.reduce((n, s) => n + Math.min(s.train.length - 1, 50), 0));

    const sampled = testConfig({ ...config, eval_protocol: "sampled100" });
    const first = evalBatches(ds, sampled, "test");
    assert.deepEqual(evalBatches(ds, sampled, "test"), first);
    for (const batch of first) {
      for (let r = 0; r < batch.batchSize; r++) {
        const s = ds.splits[batch.users[r]];
        const known = new Set([...s.testInput, s.testTarget]);
        const cands = row(batch.candidates!, r, 100);
        assert.equal(cands[0], s.testTarget);
        assert.equal(new Set(cands).size, 100);
        assert.ok(cands.slice(1).every((c) => !known.has(c) && ds.itemExists[c] === 1));
      }
    }
  },
});
