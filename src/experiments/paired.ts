/**
 * Paired comparisons of two models across seeds (pure functions, no I/O). Each seed is one paired observation: both
 * models ran with the same seed, data and protocol, so d_s = a_s - b_s removes what the seed shares between them.
 *
 * Reported: the mean difference with its 95% t-interval (mean ± t_{0.975, n-1} · sd / sqrt(n)), a two-sided paired
 * t-test (`@stdlib/stats-ttest` on the differences) and a two-sided Wilcoxon signed-rank test
 * (`@stdlib/stats-wilcoxon`: exact for n ≤ 50 without zero or tied |d|, else the normal approximation with continuity
 * correction, as R's `wilcox.test`).
 *
 * Verdict rule: "better" (a > b) or "worse" when the 95% interval of the difference excludes 0 AND the t-test gives
 * p < 0.05; otherwise "not distinguishable". For the same data the two conditions coincide (the interval is the
 * t-test inverted); both are required so that neither a rounding edge nor a degenerate case decides alone.
 * The Wilcoxon test does not enter the verdict: with n non-zero differences its smallest two-sided p is 2 / 2^n
 * (`wilcoxonMinPValue`), 0.0625 at n = 5, so below n = 6 it can never reach p < 0.05, even when every seed favours
 * the same model; at n = 5, p = 0.0625 is the strongest evidence it can give (all five signs agree). A "better" at
 * n = 5 therefore rests on the t-test's assumption that the differences are roughly normal.
 *
 * Degenerate case: when every difference is equal (sd = 0) the interval is [d, d] and the t-test's p is 1 for d = 0
 * and 0 otherwise; the Wilcoxon test of all-zero differences has p = 1.
 */
import ttest from "@stdlib/stats-ttest";
import wilcoxon from "@stdlib/stats-wilcoxon";
import type { MetricName } from "../run/records.ts";
import { UserError } from "../util/errors.ts";
import type { ResultRow } from "./results.ts";

/** A model's value of one metric per seed. */
export type SeedValues = ReadonlyMap<number, number>;

/** What `comparePaired` concludes about a - b. */
export type PairedVerdict = "better" | "worse" | "not distinguishable";

/** The paired comparison of model a against model b over their common seeds (differences are a - b). */
export interface PairedComparison {
  /** Seeds in ascending order, and the values and differences in that order. */
  seeds: number[];
  a: number[];
  b: number[];
  differences: number[];
  /** Mean of the differences. */
  meanDifference: number;
  /** Sample standard deviation of the differences (n - 1 in the denominator). */
  sdDifference: number;
  /** 95% t-interval of the mean difference. */
  ci95: [number, number];
  /** Two-sided paired t-test: t statistic, degrees of freedom n - 1, p-value. */
  tTest: { statistic: number; df: number; pValue: number };
  /**
   * Two-sided Wilcoxon signed-rank test: `statistic` is V = W+ (sum of the ranks of positive differences) when
   * `exact`, the continuity-corrected z of the normal approximation otherwise; `minPValue` = 2 / 2^n for the n
   * non-zero differences, the smallest p the exact test can give.
   */
  wilcoxon: { statistic: number; pValue: number; exact: boolean; minPValue: number };
  verdict: PairedVerdict;
}

/** Significance level of the verdict (two-sided). */
export const PAIRED_ALPHA = 0.05;

/** The smallest two-sided p-value of the exact signed-rank test with n non-zero differences: 2 / 2^n (1 for n = 0). */
export function wilcoxonMinPValue(n: number): number {
  return Math.min(1, 2 / 2 ** n);
}

/**
 * Compares a against b seed by seed. Both must hold exactly the same seeds (at least 2) with finite values: a seed
 * one model lacks (diverged or missing) is a `UserError` naming it, never silently dropped. `names` label the two
 * models in errors.
 */
export function comparePaired(
  a: SeedValues,
  b: SeedValues,
  names: { a: string; b: string } = { a: "model a", b: "model b" },
): PairedComparison {
  const onlyA = [...a.keys()].filter((s) => !b.has(s)).sort((x, y) => x - y);
  const onlyB = [...b.keys()].filter((s) => !a.has(s)).sort((x, y) => x - y);
  const lacks = [
    ...(onlyA.length > 0 ? [`${names.b} lacks seed(s) ${onlyA.join(", ")}`] : []),
    ...(onlyB.length > 0 ? [`${names.a} lacks seed(s) ${onlyB.join(", ")}`] : []),
  ];
  if (lacks.length > 0) {
    throw new UserError(`paired comparison: ${lacks.join("; ")} (diverged or missing runs are not paired)`);
  }
  const seeds = [...a.keys()].sort((x, y) => x - y);
  if (seeds.length < 2) throw new UserError(`paired comparison: needs at least 2 common seeds, got ${seeds.length}`);
  for (const [name, values] of [[names.a, a], [names.b, b]] as const) {
    const bad = seeds.filter((s) => !Number.isFinite(values.get(s)));
    if (bad.length > 0) {
      throw new UserError(`paired comparison: ${name} has a non-finite value at seed(s) ${bad.join(", ")}`);
    }
  }
  const av = seeds.map((s) => a.get(s)!);
  const bv = seeds.map((s) => b.get(s)!);
  const differences = av.map((x, i) => x - bv[i]);
  const t = pairedTTest(differences);
  const verdict = t.ci95[0] > 0 && t.pValue < PAIRED_ALPHA
    ? "better"
    : t.ci95[1] < 0 && t.pValue < PAIRED_ALPHA
    ? "worse"
    : "not distinguishable";
  return {
    seeds,
    a: av,
    b: bv,
    differences,
    meanDifference: t.mean,
    sdDifference: t.sd,
    ci95: t.ci95,
    tTest: { statistic: t.statistic, df: differences.length - 1, pValue: t.pValue },
    wilcoxon: signedRank(differences),
    verdict,
  };
}

/** The one-sample t-test of the differences against 0 (= the paired t-test), with the degenerate sd = 0 case. */
function pairedTTest(d: number[]) {
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  if (sd === 0) {
    return {
      mean,
      sd,
      ci95: [mean, mean] as [number, number],
      statistic: mean === 0 ? 0 : Math.sign(mean) * Infinity,
      pValue: mean === 0 ? 1 : 0,
    };
  }
  const result = ttest(d, { alpha: PAIRED_ALPHA });
  const [lo, hi] = result.ci;
  return { mean, sd, ci95: [lo, hi] as [number, number], statistic: result.statistic, pValue: result.pValue };
}

/** The two-sided signed-rank test of the differences; whether the library used its exact distribution. */
function signedRank(d: number[]): PairedComparison["wilcoxon"] {
  const nonZero = d.filter((x) => x !== 0);
  const minPValue = wilcoxonMinPValue(nonZero.length);
  if (nonZero.length === 0) return { statistic: 0, pValue: 1, exact: true, minPValue };
  const magnitudes = nonZero.map(Math.abs);
  const exact = nonZero.length === d.length && new Set(magnitudes).size === magnitudes.length && d.length <= 50;
  const result = wilcoxon(d);
  // The library doubles the smaller tail, which passes 1 when the statistic sits at the centre of its discrete
  // distribution (3 differences with T+ = 3: 2 · 5/8 = 1.25); a two-sided p-value is at most 1.
  return { statistic: result.statistic, pValue: Math.min(1, result.pValue), exact, minPValue };
}

/** Which rows of results.csv are one model: every key given must equal the row's value (e.g. `{ model: "sasrec" }`). */
export type RowSelector = Record<string, unknown>;

/** Whether axis values (a row's or a cell's) match `selector`: every key of it equal (`===`). */
export function matchesSelector(values: Record<string, unknown>, selector: RowSelector): boolean {
  return Object.entries(selector).every(([k, v]) => values[k] === v);
}

/**
 * A metric read from a results row: its name in messages and tables (e.g. "test NDCG@10") and its value, null when
 * the row has none. Any per-row number plugs in (a split's metric, a slice of the test users, ...).
 */
export interface RowMetric {
  name: string;
  value: (row: ResultRow) => number | null;
}

/** The `RowMetric` of `metric` on `split` (e.g. "test NDCG@10": `row.test["NDCG@10"]`). */
export function splitMetric(metric: MetricName, split: "val" | "test" = "test"): RowMetric {
  return { name: `${split} ${metric}`, value: (row) => row[split]?.[metric] ?? null };
}

/**
 * The `RowMetric` of `metric` on the test users of one slice bucket (src/eval/slices.ts: `pop_tail`, `hist_lt30`, ...),
 * e.g. "test NDCG@10, pop_tail": `row.slices.test.pop_tail.metrics["NDCG@10"]`; null for a row without slices or an
 * empty bucket.
 */
export function sliceMetric(metric: MetricName, bucket: string): RowMetric {
  return { name: `test ${metric}, ${bucket}`, value: (row) => row.slices?.test[bucket]?.metrics?.[metric] ?? null };
}

/**
 * The per-seed values of `metric` of the models `a` and `b` chosen from results rows, ready for `comparePaired`. A
 * `UserError` when a selector matches no row, matches two rows of one seed (it does not pin one model: add axis
 * values), or matches a row that did not complete or lacks the metric (its seed and status named).
 */
export function pairRowsBySeed(
  rows: readonly ResultRow[],
  selectors: { a: RowSelector; b: RowSelector },
  metric: RowMetric,
): { a: Map<number, number>; b: Map<number, number> } {
  const pick = (selector: RowSelector): Map<number, number> => {
    const label = JSON.stringify(selector);
    const matching = rows.filter((r) => matchesSelector(r.values, selector));
    if (matching.length === 0) throw new UserError(`paired comparison: no results row matches ${label}`);
    const values = new Map<number, number>();
    const seen = new Set<number>();
    const unusable: string[] = [];
    for (const row of matching) {
      const seed = Number(row.values.seed);
      if (seen.has(seed)) {
        throw new UserError(`paired comparison: ${label} matches more than one row of seed ${seed}: add axis values`);
      }
      seen.add(seed);
      const value = metric.value(row);
      if (row.status !== "completed" || value === null) {
        unusable.push(
          `seed ${seed} (${row.id}: ${row.status}${row.status === "completed" ? `, no ${metric.name}` : ""})`,
        );
      } else {
        values.set(seed, value);
      }
    }
    if (unusable.length > 0) {
      throw new UserError(`paired comparison: ${label} has no ${metric.name} at ${unusable.join(", ")}`);
    }
    return values;
  };
  return { a: pick(selectors.a), b: pick(selectors.b) };
}
