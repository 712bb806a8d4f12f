import assert from "node:assert/strict";
import { METRIC_NAMES } from "../src/config/schema.ts";
import { metricsFromRanks, metricValue, rankFromCounts, rankOf } from "../src/eval/metrics.ts";
import { assertClose } from "./helpers.ts";

Deno.test("metrics: ranks [1, 3, 12, 25] give HR@10 = 0.5, NDCG@10 = 0.375, MRR = (1 + 1/3 + 1/12 + 1/25) / 4", () => {
  const m = metricsFromRanks([1, 3, 12, 25]);
  assert.deepEqual(Object.keys(m), [...METRIC_NAMES]);
  assertClose([m["HR@5"], m["HR@10"], m["HR@20"]], [0.5, 0.5, 0.75], 1e-12, "HR");
  assertClose([m["NDCG@5"], m["NDCG@10"]], [0.375, 0.375], 1e-12, "NDCG@5/10: (1 + 1/log2(4)) / 4");
  assertClose([m["NDCG@20"]], [(1 + 0.5 + 1 / Math.log2(13)) / 4], 1e-12, "NDCG@20");
  assertClose([m.MRR], [(1 + 1 / 3 + 1 / 12 + 1 / 25) / 4], 1e-12, "MRR is not truncated");
  assert.throws(() => metricsFromRanks([]), /no ranks/);
});

Deno.test("metrics: per-user values at the cut-off boundary (rank K counts, K + 1 does not)", () => {
  assert.equal(metricValue("HR@10", 10), 1);
  assert.equal(metricValue("HR@10", 11), 0);
  assertClose([metricValue("NDCG@10", 10)], [1 / Math.log2(11)], 1e-12);
  assert.equal(metricValue("NDCG@5", 6), 0);
  assert.equal(metricValue("MRR", 200), 0.005);
  assertClose([metricValue("NDCG@10", 3.5)], [1 / Math.log2(4.5)], 1e-12, "average-tie ranks can be fractional");
});

Deno.test("metrics: tie policies for a target tied with 2 of 4 others and beaten by 1", () => {
  const others = [0.9, 0.5, 0.5, 0.1];
  assert.deepEqual(rankOf(0.5, others, "pessimistic"), { rank: 4, nonfinite: false });
  assert.deepEqual(rankOf(0.5, others, "optimistic"), { rank: 2, nonfinite: false });
  assert.deepEqual(rankOf(0.5, others, "average"), { rank: 3, nonfinite: false });
  assert.equal(rankFromCounts(3, 0, "average"), 4);
});

Deno.test("metrics: constant scores rank the target first only under the original optimistic policy (F6)", () => {
  const others = new Array(99).fill(0);
  assert.equal(rankOf(0, others, "optimistic").rank, 1);
  assert.equal(rankOf(0, others, "pessimistic").rank, 100);
  assert.equal(rankOf(0, others, "average").rank, 50.5);
});

Deno.test("metrics: a non-finite target or candidate gives the worst rank and is flagged", () => {
  for (const policy of ["pessimistic", "optimistic", "average"] as const) {
    assert.deepEqual(rankOf(NaN, [1, 2], policy), { rank: 3, nonfinite: true });
    assert.deepEqual(rankOf(Infinity, [1, 2], policy), { rank: 3, nonfinite: true });
    assert.deepEqual(rankOf(5, [1, NaN, 2], policy), { rank: 4, nonfinite: true });
    assert.deepEqual(rankOf(5, [-Infinity, 2], policy), { rank: 3, nonfinite: true });
  }
});
