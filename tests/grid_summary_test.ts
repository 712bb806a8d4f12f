import assert from "node:assert/strict";
import { METRIC_NAMES } from "../src/config/schema.ts";
import { type ResultRow, resultsCsv } from "../src/experiments/results.ts";
import { summarizeResults, summaryCsv, summaryTables, tQuantile975 } from "../src/experiments/summary.ts";
import type { Metrics } from "../src/run/records.ts";

const axes = { a: ["x", "y"], b: [1, 2] };

function row(
  a: string,
  b: number,
  seed: number,
  ndcg: number | null,
  status: ResultRow["status"] = "completed",
  nonfinite = 0,
): ResultRow {
  const test = ndcg === null
    ? null
    : Object.fromEntries(METRIC_NAMES.map((m) => [m, m === "HR@10" ? 2 * ndcg : ndcg])) as Metrics;
  return {
    id: `a=${a},b=${b},seed=${seed}`,
    values: { a, b, seed },
    status,
    first_nonfinite: null,
    nonfinite_batches: status === "failed" ? null : nonfinite,
    skipped_batches: null,
    patched_batches: null,
    val: test,
    test,
    slices: null,
    wall_time_s: 1,
    steps: 10,
    best: null,
    resumed: false,
    epochs: 3,
    rung: null,
    rung_val: null,
    retries: 0,
    error: null,
    log: `runs/a=${a},b=${b},seed=${seed}/log.txt`,
  };
}

// (x,1): NDCG 0.2 0.3 0.4, all finite.          (x,2): 0.1 0.1, seed 3 diverged (no metrics).
// (y,1): 0.5 x3, seed 1 had a non-finite batch.   (y,2): seed 1 failed (ignored), 0.6 0.8, seed 2 non-finite.
const rows = [
  row("x", 1, 1, 0.2),
  row("x", 1, 2, 0.3),
  row("x", 1, 3, 0.4),
  row("x", 2, 1, 0.1),
  row("x", 2, 2, 0.1),
  row("x", 2, 3, null, "diverged", 5),
  row("y", 1, 1, 0.5, "completed", 2),
  row("y", 1, 2, 0.5),
  row("y", 1, 3, 0.5),
  row("y", 2, 1, null, "failed"),
  row("y", 2, 2, 0.6, "completed", 1),
  row("y", 2, 3, 0.8),
];

function close(actual: number | null, expected: number, tol = 1e-9): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${actual} != ${expected}`);
}

Deno.test("summary: t quantiles match the published values and the normal limit", () => {
  close(tQuantile975(1), 12.7062047, 1e-7); // tables round to 12.7062
  close(tQuantile975(2), 4.3026527, 1e-7);
  close(tQuantile975(30), 2.0422725, 1e-7);
  close(tQuantile975(60), 2.0002978, 1e-7);
  close(tQuantile975(1000), 1.9623391, 1e-7);
  close(tQuantile975(1e6), 1.959966, 1e-6); // the normal quantile 1.959964 + O(1/df)
  assert.throws(() => tQuantile975(0), RangeError);
});

Deno.test("summary: per-cell mean, 95% CI and NaN rate against hand-computed values", () => {
  const summary = summarizeResults(rows, axes);
  assert.equal(summary.runs, 12);
  assert.equal(summary.final_runs, 11);
  assert.deepEqual(summary.cells.map((c) => [c.values.a, c.values.b, c.runs]), [
    ["x", 1, 3],
    ["x", 2, 3],
    ["y", 1, 3],
    ["y", 2, 2],
  ]);
  const [x1, x2, y1, y2] = summary.cells;
  // [0.2, 0.3, 0.4]: mean 0.3, s = 0.1, half-width 4.3026527 * 0.1 / sqrt(3) = 0.2484138.
  close(x1.ndcg10.mean, 0.3);
  close(x1.ndcg10.ci95, 0.2484138, 1e-7);
  assert.equal(x1.ndcg10.n, 3);
  close(x1.hr10.mean, 0.6);
  close(x1.hr10.ci95, 0.4968275, 1e-7);
  assert.equal(x1.nan_rate, 0);
  // The diverged run counts as NaN and has no metrics: n = 2, s = 0.
  close(x2.nan_rate, 1 / 3);
  close(x2.ndcg10.mean, 0.1);
  close(x2.ndcg10.ci95, 0);
  assert.equal(x2.ndcg10.n, 2);
  close(y1.nan_rate, 1 / 3);
  // [0.6, 0.8]: s = 0.141421, half-width 12.7062047 * 0.141421 / sqrt(2) = 1.2706205; the failed run is left out.
  close(y2.nan_rate, 1 / 2);
  close(y2.ndcg10.mean, 0.7);
  close(y2.ndcg10.ci95, 1.2706205, 1e-7);
});

Deno.test("summary: main effects average the cells at each level and subtract the first level", () => {
  const effects = summarizeResults(rows, axes).effects;
  const at = (axis: string, level: unknown) => effects.find((e) => e.axis === axis && e.level === level)!;
  // a=x: NaN (0 + 1/3) / 2 = 1/6, NDCG (0.3 + 0.1) / 2 = 0.2; a=y: NaN (1/3 + 1/2) / 2 = 5/12, NDCG 0.6.
  close(at("a", "x").nan_rate, 1 / 6);
  close(at("a", "x").ndcg10, 0.2);
  close(at("a", "x").delta_nan_rate, 0);
  close(at("a", "y").nan_rate, 5 / 12);
  close(at("a", "y").ndcg10, 0.6);
  close(at("a", "y").delta_nan_rate, 1 / 4);
  close(at("a", "y").delta_ndcg10, 0.4);
  // b=1: NaN 1/6, NDCG 0.4; b=2: NaN 5/12, NDCG 0.4.
  close(at("b", 2).delta_nan_rate, 1 / 4);
  close(at("b", 2).delta_ndcg10, 0);
  assert.equal(at("b", 2).cells, 2);
  // without cell (y, 2) (an exclude rule, or an unfinished cell) a = y would be cell (y, 1) alone against the mean
  // of (x, 1) and (x, 2): no main effects, and the table says why
  const partial = rows.filter((r) => !(r.values.a === "y" && r.values.b === 2));
  const summary = summarizeResults(partial, axes);
  assert.deepEqual(summary.effects, []);
  assert.equal(summary.cells.length, 3);
  assert.match(summaryTables(summary, axes), /Main effects left out: 3 of the 4 combinations of the axes' levels/);
});

Deno.test("summary: CSV and table show the numbers; results CSV quotes ids with commas", () => {
  const summary = summarizeResults(rows, axes);
  const csv = summaryCsv(summary, axes).split("\n");
  assert.equal(
    csv[0],
    "a,b,runs,nan_rate,hr10_mean,hr10_ci95,hr10_n,ndcg10_mean,ndcg10_ci95,ndcg10_n,mrr_mean,mrr_ci95,mrr_n",
  );
  assert.match(csv[1], /^x,1,3,0,0\.6\d*,0\.4968\d+,3,0\.3\d*,0\.2484\d+,3,/);
  const table = summaryTables(summary, axes);
  assert.match(table, /0\.3000 ± 0\.2484/);
  assert.match(table, /0\.7000 ± 1\.2706/);
  const results = resultsCsv(rows.slice(0, 1), ["a", "b"]).split("\n");
  assert.match(results[0], /^id,a,b,seed,status,first_nonfinite_step,/);
  assert.match(results[1], /^"a=x,b=1,seed=1",x,1,1,completed,,,,,0,,,0\.2,0\.4,/);
  assert.match(results[1], /,1,,"runs\/a=x,b=1,seed=1\/log\.txt"$/);
});
