import assert from "node:assert/strict";
import { comparePaired, pairRowsBySeed, splitMetric, wilcoxonMinPValue } from "../src/experiments/paired.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose } from "./helpers.ts";
import { resultRow as row } from "./report_fixtures.ts";

const bySeed = (values: number[], seeds = values.map((_, i) => i + 1)) => new Map(seeds.map((s, i) => [s, values[i]]));

Deno.test("paired: the textbook example (Hollander & Wolfe, R's wilcox.test/t.test docs) gives t, p, interval and V", () => {
  const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
  const r = comparePaired(bySeed(x), bySeed(y));
  assertClose([r.meanDifference], [0.4318889], 1e-7, "mean of d");
  // R: t.test(x, y, paired = TRUE): t = 3.0354, df = 8, p-value = 0.01618, 95% CI 0.1037787 0.7599991
  assertClose([r.tTest.statistic, r.tTest.pValue], [3.0354, 0.01618], 1e-4, "t and p");
  assert.equal(r.tTest.df, 8);
  assertClose(r.ci95, [0.1037787, 0.7599991], 1e-6, "interval");
  // by hand: |d| ranks 1..9, the two negative differences (-0.08, -0.147) have ranks 2 and 3, so V = 45 - 5 = 40;
  // 10 of the 2^9 sign patterns have W- <= 5, so p = 2 · 10 / 512 = 0.0390625 (R: V = 40, p-value = 0.03906)
  assert.deepEqual(r.wilcoxon, { statistic: 40, pValue: 0.0390625, exact: true, minPValue: 2 / 512 });
  assert.equal(r.verdict, "better");
  assert.equal(comparePaired(bySeed(y), bySeed(x)).verdict, "worse");
});

Deno.test("paired: five seeds that all agree are 'better' by the t-test, while the Wilcoxon p cannot go below 0.0625", () => {
  const b = [0.0895, 0.0870, 0.0910, 0.0880, 0.0920];
  const gain = [0.010, 0.012, 0.009, 0.011, 0.013];
  const r = comparePaired(bySeed(b.map((v, i) => v + gain[i])), bySeed(b));
  assert.equal(r.verdict, "better");
  assert.ok(r.tTest.pValue < 1e-4, `${r.tTest.pValue}`);
  assert.deepEqual([r.wilcoxon.pValue, r.wilcoxon.minPValue, r.wilcoxon.statistic], [0.0625, 0.0625, 15]);
  assert.deepEqual([5, 6, 7].map(wilcoxonMinPValue), [0.0625, 0.03125, 0.015625]);
  // mixed signs: the interval holds 0 -> not distinguishable
  const mixed = comparePaired(bySeed([0.10, 0.08, 0.095, 0.085, 0.09]), bySeed(b));
  assert.ok(mixed.ci95[0] < 0 && mixed.ci95[1] > 0);
  assert.equal(mixed.verdict, "not distinguishable");
});

Deno.test("paired: identical models are not distinguishable (p = 1, interval [0, 0]); a constant gain is 'better'", () => {
  const v = [0.25, 0.5, 0.75]; // binary fractions: v + 0.5 - v is exactly 0.5
  const same = comparePaired(bySeed(v), bySeed(v));
  assert.deepEqual([same.ci95, same.tTest.pValue, same.wilcoxon.pValue, same.verdict], [
    [0, 0],
    1,
    1,
    "not distinguishable",
  ]);
  const shifted = comparePaired(bySeed(v.map((x) => x + 0.5)), bySeed(v));
  assert.equal(shifted.verdict, "better");
  assert.equal(shifted.tTest.pValue, 0);
  // differences +1, +2, -3: T+ = 3 sits at the centre of its exact distribution, P(T+ <= 3) = 5/8, and the doubled
  // tail (1.25) is capped: a two-sided p-value is at most 1
  const centred = comparePaired(bySeed([1, 2, -3]), bySeed([0, 0, 0]));
  assert.equal(centred.wilcoxon.pValue, 1);
});

Deno.test("paired: a seed one model lacks, a non-finite value or fewer than 2 seeds is an error naming them", () => {
  const names = { a: "ur4rec", b: "sasrec" };
  assert.throws(
    () => comparePaired(bySeed([1, 2, 3], [1, 2, 3]), bySeed([1, 2, 3, 4], [1, 3, 4, 5]), names),
    (e: Error) =>
      e instanceof UserError &&
      e.message === "paired comparison: sasrec lacks seed(s) 2; ur4rec lacks seed(s) 4, 5 " +
          "(diverged or missing runs are not paired)",
  );
  assert.throws(
    () => comparePaired(bySeed([1, NaN, 3]), bySeed([1, 2, 3]), names),
    (e: Error) =>
      e instanceof UserError && e.message === "paired comparison: ur4rec has a non-finite value at seed(s) 2",
  );
  assert.throws(
    () => comparePaired(bySeed([1]), bySeed([2]), names),
    (e: Error) => e instanceof UserError && e.message === "paired comparison: needs at least 2 common seeds, got 1",
  );
});

Deno.test("paired: results rows are paired by seed; unusable or ambiguous rows are errors naming seed and cell", () => {
  const rows = [
    row("m=sasrec,seed=1", { model: "sasrec", seed: 1 }, 0.08),
    row("m=sasrec,seed=2", { model: "sasrec", seed: 2 }, 0.09),
    row("m=ur4rec,mode=fixed,seed=1", { model: "ur4rec", retriever_mode: "fixed", seed: 1 }, 0.07),
    row("m=ur4rec,mode=fixed,seed=2", { model: "ur4rec", retriever_mode: "fixed", seed: 2 }, 0.075),
    row("m=ur4rec,mode=faithful,seed=1", { model: "ur4rec", retriever_mode: "faithful", seed: 1 }, 0.05),
    row("m=ur4rec,mode=faithful,seed=2", { model: "ur4rec", retriever_mode: "faithful", seed: 2 }, null, "diverged"),
  ];
  const fixed = { model: "ur4rec", retriever_mode: "fixed" };
  const paired = pairRowsBySeed(rows, { a: fixed, b: { model: "sasrec" } }, splitMetric("NDCG@10"));
  assert.deepEqual(paired, { a: new Map([[1, 0.07], [2, 0.075]]), b: new Map([[1, 0.08], [2, 0.09]]) });
  assert.throws(
    () =>
      pairRowsBySeed(
        rows,
        { a: { model: "ur4rec", retriever_mode: "faithful" }, b: { model: "sasrec" } },
        splitMetric("NDCG@10"),
      ),
    (e: Error) =>
      e instanceof UserError &&
      e.message === 'paired comparison: {"model":"ur4rec","retriever_mode":"faithful"} has no test NDCG@10 at ' +
          "seed 2 (m=ur4rec,mode=faithful,seed=2: diverged)",
  );
  assert.throws(
    () => pairRowsBySeed(rows, { a: { model: "ur4rec" }, b: { model: "sasrec" } }, splitMetric("NDCG@10")),
    (e: Error) =>
      e instanceof UserError &&
      e.message === 'paired comparison: {"model":"ur4rec"} matches more than one row of seed 1: add axis values',
  );
  assert.throws(
    () => pairRowsBySeed(rows, { a: { model: "bprmf" }, b: { model: "sasrec" } }, splitMetric("NDCG@10")),
    (e: Error) => e instanceof UserError && e.message === 'paired comparison: no results row matches {"model":"bprmf"}',
  );
});
