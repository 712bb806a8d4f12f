/**
 * Sentences computed from the numbers of a grid: budget, wall-clock time, runs still improving or resumed, main
 * effects, which axes change the NaN rate, interval-aware comparisons of two results and paired comparisons by seed.
 */
import type { Cell } from "../experiments/grid.ts";
import { formatValue } from "../experiments/grid.ts";
import type { ResultRow } from "../experiments/results.ts";
import { ciBounds, type GridSummary, type MeanCi } from "../experiments/summary.ts";
import type { PairedComparison } from "../experiments/paired.ts";
import { median } from "../util/stats.ts";
import type { GridResults } from "./read.ts";
import { cellLabel, formatMeanCi } from "./rows.ts";

/** Total and median wall-clock time of the finished runs of a grid. */
export function wallTimeSentence(rows: ResultRow[]): string {
  const times = rows.map((r) => r.wall_time_s).filter((t): t is number => t !== null).sort((a, b) => a - b);
  if (times.length === 0) return "No run has finished yet.";
  const total = times.reduce((a, b) => a + b, 0);
  return `Wall-clock time of the ${times.length} finished run(s): ${(total / 60).toFixed(1)} min in total, ` +
    `${
      median(times).toFixed(0)
    } s median per run (on a 2-core machine shared with other work, so runs that overlapped ` +
    "slowed each other).";
}

/**
 * The training budget of a grid's runs: epochs per stage, validation cadence and early stopping (from the cells'
 * configs; differing values joined by "/"), and how many steps the finished runs that train took.
 */
export function budgetSentence(cells: Cell[], rows: ResultRow[]): string {
  const values = (key: "epochs_per_stage" | "eval_every" | "patience") =>
    [...new Set(cells.map((c) => c.config[key]))].sort((a, b) => a - b).join("/");
  const steps = rows.map((r) => r.steps).filter((n): n is number => n !== null && n > 0).sort((a, b) => a - b);
  const taken = steps.length === 0
    ? "no run that trains has finished yet"
    : `the ${steps.length} finished run(s) that train took ${steps[0]}–${steps[steps.length - 1]} steps (median ` +
      `${Math.round(median(steps))})`;
  return `Training budget: up to ${values("epochs_per_stage")} epochs per stage, validation every ` +
    `${values("eval_every")} epoch(s), a stage stops after ${values("patience")} validation(s) without a new best; ` +
    `${taken}.`;
}

/**
 * The cells with runs still improving when the budget ran out (best validation at the last epoch of the last
 * stage, so more epochs would likely help), as one sentence; none when no run ended that way.
 */
export function stillImprovingSentences(results: GridResults): string[] {
  const configs = new Map(results.cells.map((c) => [c.id, c.config]));
  const counts = new Map<string, { ended: number; runs: number }>();
  for (const row of results.rows) {
    const config = configs.get(row.id);
    if (!config || !row.steps) continue;
    const label = cellLabel(row.values, results.axes) || "the runs";
    const entry = counts.get(label) ?? { ended: 0, runs: 0 };
    entry.runs++;
    const lastStage = config.stages[config.stages.length - 1];
    if (row.best?.stage === lastStage && row.best.epoch === config.epochs_per_stage - 1) entry.ended++;
    counts.set(label, entry);
  }
  const ended = [...counts].filter(([, e]) => e.ended > 0).map(([label, e]) => `${label} (${e.ended} of ${e.runs})`);
  if (ended.length === 0) return [];
  return [
    "Still improving when the budget ran out (best validation at the last epoch of the last stage, so these runs " +
    `may be under-trained): ${ended.join("; ")}.`,
  ];
}

/** The runs that were interrupted and continued from their last checkpoint, as one sentence; none when none was. */
export function resumedSentences(rows: ResultRow[]): string[] {
  const resumed = rows.filter((r) => r.resumed).map((r) => `\`${r.id}\``);
  if (resumed.length === 0) return [];
  return [`Interrupted and resumed from the last checkpoint: ${resumed.join(", ")}.`];
}

/** `x` with its sign ("+" for zero and above) and `digits` decimals, e.g. "+0.0123", "-0.50". */
export function signedFixed(x: number, digits = 4): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
}

/**
 * One sentence per axis level after the first, from the main effects: how the level changes the NaN rate and
 * NDCG@10 relative to the axis's first level (e.g. "attention_mask torch -> safe changes the NaN rate by -1.00").
 */
export function effectSentences(summary: GridSummary): string[] {
  const firstLevel = new Map<string, unknown>();
  const firstNdcg = new Map<string, number | null>();
  const sentences: string[] = [];
  for (const e of summary.effects) {
    if (!firstLevel.has(e.axis)) {
      firstLevel.set(e.axis, e.level);
      firstNdcg.set(e.axis, e.ndcg10);
      continue;
    }
    const from = formatValue(firstLevel.get(e.axis));
    const nan = e.delta_nan_rate === null
      ? "leaves the NaN rate unknown"
      : `changes the NaN rate by ${signedFixed(e.delta_nan_rate, 2)}`;
    const missing = [e.ndcg10 === null ? formatValue(e.level) : null, firstNdcg.get(e.axis) === null ? from : null]
      .filter((x) => x !== null).map((level) => `${e.axis}=${level}`);
    const ndcg = e.delta_ndcg10 !== null
      ? `and test NDCG@10 by ${signedFixed(e.delta_ndcg10)}`
      : `(test NDCG@10 not comparable: no finished run with a test metric at ${missing.join(" or ")})`;
    sentences.push(`${e.axis} ${from} -> ${formatValue(e.level)} ${nan} ${ndcg}.`);
  }
  return sentences;
}

/** The axes whose levels change the NaN rate (any main-effect delta other than 0), largest change first. */
export function nanFactors(summary: GridSummary): { axis: string; delta: number }[] {
  const largest = new Map<string, number>();
  for (const e of summary.effects) {
    if (e.delta_nan_rate === null) continue;
    if (Math.abs(e.delta_nan_rate) > Math.abs(largest.get(e.axis) ?? 0)) largest.set(e.axis, e.delta_nan_rate);
  }
  return [...largest].map(([axis, delta]) => ({ axis, delta })).sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
}

/**
 * The ablation answer in sentences: the axes whose levels change the NaN rate (largest change first), those that
 * leave it unchanged, and those that cannot be told yet because a level has no finished run.
 */
export function nanAnswer(summary: GridSummary, axes: Record<string, unknown[]>): string[] {
  const known = (axis: string, level: unknown) =>
    summary.effects.some((e) => e.axis === axis && formatValue(e.level) === formatValue(level) && e.nan_rate !== null);
  const unknown = Object.keys(axes).filter((a) => axes[a].some((level) => !known(a, level)));
  const factors = nanFactors(summary).filter((f) => !unknown.includes(f.axis));
  const unchanged = Object.keys(axes).filter((a) => !unknown.includes(a) && !factors.some((f) => f.axis === a));
  const sentences = [`${summary.final_runs} of ${summary.runs} runs finished.`];
  if (factors.length > 0) {
    const list = factors.map((f) => `${f.axis} (${signedFixed(f.delta, 2)})`).join(", ");
    sentences.push(`Axes that change the NaN rate (largest change between levels): ${list}.`);
  }
  if (unchanged.length > 0) sentences.push(`Axes that leave the NaN rate unchanged: ${unchanged.join(", ")}.`);
  if (unknown.length > 0) {
    sentences.push(`Not known yet (a level has no finished run): ${unknown.join(", ")}.`);
  }
  return sentences;
}

/** A labelled test metric with its interval, for comparisons. */
export interface Scored {
  label: string;
  score: MeanCi;
}

/**
 * Compares two results on one metric: "A beats B" only when A's 95% interval lies wholly above B's; otherwise says
 * whether the intervals overlap or A is below. A missing interval (one seed) counts as zero width and is said.
 */
export function compareSentence(a: Scored, b: Scored, metric: string): string {
  if (a.score.mean === null || b.score.mean === null) {
    return `${a.label} vs ${b.label}: no ${metric} to compare (${
      a.score.mean === null ? a.label : b.label
    } has no finished run).`;
  }
  const [aLo, aHi] = bounds(a.score);
  const [bLo, bHi] = bounds(b.score);
  const numbers = `${metric} ${formatMeanCi(a.score)} vs ${formatMeanCi(b.score)}`;
  const oneSeed = a.score.ci95 === null || b.score.ci95 === null ? "; single-seed values have no interval" : "";
  if (aLo > bHi) return `${a.label} beats ${b.label} (${numbers}${oneSeed}).`;
  if (aHi < bLo) return `${a.label} does not beat ${b.label}: it is below it (${numbers}${oneSeed}).`;
  return `${a.label} does not beat ${b.label}: the 95% intervals overlap (${numbers}${oneSeed}).`;
}

/** The interval of a mean that is known; a missing interval (one seed) counts as zero width. */
function bounds(m: MeanCi): [number, number] {
  return ciBounds(m) ?? [m.mean!, m.mean!];
}

/** A p-value with 3 decimals, "< 0.001" below that. */
export function formatP(p: number): string {
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/**
 * A paired comparison of a against b on `metric` as a sentence with its numbers: "a is better than b", "a is worse than
 * b" or "a and b are not distinguishable", then the mean paired difference a − b, its 95% interval, the seeds and the
 * t-test's p (see `comparePaired` for the verdict rule).
 */
export function pairedSentence(a: string, b: string, metric: string, c: PairedComparison): string {
  const claim = c.verdict === "not distinguishable"
    ? `${a} and ${b} are not distinguishable on ${metric}`
    : `${a} is ${c.verdict} than ${b} on ${metric}`;
  const [lo, hi] = c.ci95;
  const p = formatP(c.tTest.pValue);
  return `${claim}: mean paired difference ${signedFixed(c.meanDifference)}, 95% CI [${signedFixed(lo)}, ` +
    `${signedFixed(hi)}]${c.verdict === "not distinguishable" ? " includes 0" : ""} (${c.seeds.length} seeds, ` +
    `paired t-test p ${p.startsWith("<") ? p : `= ${p}`}).`;
}
