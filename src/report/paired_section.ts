/**
 * Paired comparisons in a report: every cell group of a grid (its cells pooled over seeds) against a baseline group
 * given by axis values, paired by seed (`pairRowsBySeed`, `comparePaired` in src/experiments/paired.ts), for a list of
 * metrics read from results rows (`RowMetric`: any per-row number, e.g. a slice metric, plugs in). Rendered as a table
 * (comparison, metric, seeds, mean difference, 95% CI, t-test p, Wilcoxon p, verdict), sentences, and rows for the
 * paired-difference chart (src/viz/paired_chart.ts).
 */
import {
  comparePaired,
  matchesSelector,
  type PairedComparison,
  pairRowsBySeed,
  type RowMetric,
  type RowSelector,
  splitMetric,
  wilcoxonMinPValue,
} from "../experiments/paired.ts";
import { formatValue } from "../experiments/grid.ts";
import { UserError } from "../util/errors.ts";
import type { Row } from "../viz/tables.ts";
import type { PairedDifferenceRow } from "../viz/paired_chart.ts";
import type { GridResults } from "./read.ts";
import type { ReportSection } from "./render.ts";
import { modelLabel } from "./rows.ts";
import { formatP, pairedSentence, signedFixed } from "./sentences.ts";

/** The metrics the write-up compares by default: test NDCG@10 (the chart's), HR@10 and MRR. */
export const PAIRED_METRICS: readonly RowMetric[] = [splitMetric("NDCG@10"), splitMetric("HR@10"), splitMetric("MRR")];

/** The axes `modelLabel` already shows when the grid has a `model` axis. */
const MODEL_KEYS = ["model", "retriever_mode", "user_text", "text_use"];

/** A group's label: the model name when `model` is an axis (see `modelLabel`), then the other axes as `key=value`. */
export function groupLabel(values: Record<string, unknown>, axes: Record<string, unknown[]>): string {
  const byModel = "model" in axes;
  const rest = Object.keys(axes).filter((k) => !(byModel && MODEL_KEYS.includes(k)));
  return [...(byModel ? [modelLabel(values)] : []), ...rest.map((k) => `${k}=${formatValue(values[k])}`)].join(", ");
}

/** One comparison of a group against the baseline on one metric: its result, or why it could not be paired. */
export type PairedOutcome =
  & {
    /** "a − b", e.g. "UR4Rec (fixed, leak_free) − SASRec". */
    comparison: string;
    a: string;
    b: string;
    metric: string;
  }
  & ({ paired: PairedComparison } | { error: string });

/**
 * Every cell group of the grid other than the baseline (and matching `among`, default every group), compared with the
 * baseline group on each metric (differences
 * group − baseline, paired by seed); outer order: groups as in the grid summary, inner: metrics. Undefined when no
 * group matches `baseline` (axis values compared with `===`), it matches more than one group, or a group has fewer
 * than 2 seeds. A pairing that fails (a diverged or missing seed, a metric a row lacks) is an outcome with the
 * `UserError`'s message, not an exception.
 */
export function pairedComparisons(
  results: Pick<GridResults, "rows" | "axes" | "summary">,
  baseline: RowSelector,
  metrics: readonly RowMetric[] = PAIRED_METRICS,
  among: RowSelector = {},
): PairedOutcome[] | undefined {
  const { rows, axes } = results;
  const groups = results.summary.cells.map((c) => c.values);
  const seedsOf = (group: Record<string, unknown>) => rows.filter((r) => matchesSelector(r.values, group)).length;
  const baselines = groups.filter((g) => matchesSelector(g, baseline));
  if (baselines.length !== 1 || groups.some((g) => seedsOf(g) < 2)) return undefined;
  const b = groupLabel(baselines[0], axes);
  return groups.filter((g) => g !== baselines[0] && matchesSelector(g, among)).flatMap((group) => {
    const a = groupLabel(group, axes);
    return metrics.map((metric): PairedOutcome => {
      const head = { comparison: `${a} − ${b}`, a, b, metric: metric.name };
      try {
        const values = pairRowsBySeed(rows, { a: group, b: baseline }, metric);
        return { ...head, paired: comparePaired(values.a, values.b, { a, b }) };
      } catch (e) {
        if (e instanceof UserError) return { ...head, error: e.message };
        throw e;
      }
    });
  });
}

/** The outcomes that were paired, as table rows: comparison, metric, seeds, mean difference, 95% CI, p-values, verdict. */
export function pairedTable(outcomes: readonly PairedOutcome[]): Row[] {
  return outcomes.flatMap((o) => {
    if (!("paired" in o)) return [];
    const p = o.paired;
    return [{
      comparison: o.comparison,
      metric: o.metric,
      seeds: p.seeds.length,
      "mean difference": signedFixed(p.meanDifference),
      "95% CI": `[${signedFixed(p.ci95[0])}, ${signedFixed(p.ci95[1])}]`,
      "t-test p": formatP(p.tTest.pValue),
      "Wilcoxon p": formatP(p.wilcoxon.pValue),
      verdict: p.verdict,
    }];
  });
}

/** The paired outcomes of `metric` as rows of `pairedDifferenceChart`. */
export function pairedChartRows(outcomes: readonly PairedOutcome[], metric: string): PairedDifferenceRow[] {
  return outcomes.flatMap((o) =>
    "paired" in o && o.metric === metric
      ? [{
        comparison: o.comparison,
        mean: o.paired.meanDifference,
        lo: o.paired.ci95[0],
        hi: o.paired.ci95[1],
        seeds: o.paired.seeds.length,
        verdict: o.paired.verdict,
      }]
      : []
  );
}

/**
 * The report section of the outcomes: how they were computed, one sentence per comparison on `metric` (the first
 * metric of the table, the chart's), the Wilcoxon test's floor when too few seeds can reach p < 0.05, the comparisons
 * that could not be paired, and the table of every metric.
 */
export function pairedSection(heading: string, outcomes: readonly PairedOutcome[], metric: string): ReportSection {
  const paired = outcomes.flatMap((o) => "paired" in o ? [o.paired] : []);
  const fewest = Math.min(...paired.map((p) => p.seeds.length));
  const floor = paired.length > 0 && wilcoxonMinPValue(fewest) >= 0.05
    ? [
      `With ${fewest} seeds the exact Wilcoxon signed-rank test cannot give p below 2/2^${fewest} = ` +
      `${
        wilcoxonMinPValue(fewest).toFixed(3)
      }, so the verdicts rest on the t-test (differences assumed roughly normal).`,
    ]
    : [];
  return {
    heading,
    paragraphs: [
      `Each model against ${outcomes[0]?.b ?? "the baseline"}, paired by seed (difference = model − baseline per ` +
      "seed): mean difference with its 95% t-interval, two-sided paired t-test and Wilcoxon signed-rank test. " +
      '"better" or "worse" when the interval excludes 0 and the t-test gives p < 0.05, else "not distinguishable".',
      ...outcomes.flatMap((o) =>
        "paired" in o && o.metric === metric ? [pairedSentence(o.a, o.b, o.metric, o.paired)] : []
      ),
      ...floor,
      ...outcomes.flatMap((o) => "error" in o ? [`Not compared: ${o.comparison} on ${o.metric}: ${o.error}.`] : []),
    ],
    tables: [{ caption: "Paired differences by seed", rows: pairedTable(outcomes) }],
  };
}
