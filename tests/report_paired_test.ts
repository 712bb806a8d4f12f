/// <reference lib="dom" />
/**
 * Paired comparisons in the write-up (src/report/paired_section.ts) and their chart (src/viz/paired_chart.ts): numbers
 * hand-computed for 3 seeds (the t quantile for 2 degrees of freedom is 4.302653, and the two-sided p of t with 2
 * degrees of freedom is 1 - |t| / sqrt(2 + t^2)).
 */
import assert from "node:assert/strict";
import { DOMParser } from "linkedom";
import type { RowMetric } from "../src/experiments/paired.ts";
import { summarizeResults } from "../src/experiments/summary.ts";
import {
  groupLabel,
  pairedChartRows,
  pairedComparisons,
  pairedSection,
  pairedTable,
} from "../src/report/paired_section.ts";
import { reportMarkdown } from "../src/report/render.ts";
import { pairedDifferenceChart } from "../src/viz/paired_chart.ts";
import { standaloneSvg } from "../src/viz/display.ts";
import { assertClose } from "./helpers.ts";
import { resultRow } from "./report_fixtures.ts";

const AXES = { model: ["pop", "sasrec", "ur4rec"] };

/** SASRec 0.30/0.32/0.34; UR4Rec +0.03/+0.04/+0.01 above it; Popularity 0.20/0.21/0.22 below it (seeds 1-3). */
function grid(extra: ReturnType<typeof resultRow>[] = []) {
  const runs = { sasrec: [0.30, 0.32, 0.34], ur4rec: [0.33, 0.36, 0.35], pop: [0.10, 0.11, 0.12] };
  const rows = [
    ...Object.entries(runs).flatMap(([model, ndcg]) =>
      ndcg.map((x, i) => resultRow(`model=${model},seed=${i + 1}`, { model, seed: i + 1 }, x))
    ),
    ...extra,
  ];
  return { rows, axes: AXES, summary: summarizeResults(rows, AXES) };
}

const NDCG: RowMetric = { name: "test NDCG@10", value: (r) => r.test?.["NDCG@10"] ?? null };
/** Any per-row number plugs in: here half of HR@10 (= NDCG@10 in these rows), under its own name. */
const HALF_HR: RowMetric = { name: "half HR@10", value: (r) => (r.test?.["HR@10"] ?? NaN) / 2 };

Deno.test("paired comparisons: hand-computed mean difference, 95% CI, p-values and verdicts against the baseline", () => {
  const outcomes = pairedComparisons(grid(), { model: "sasrec" }, [NDCG, HALF_HR])!;
  assert.deepEqual(outcomes.map((o) => [o.comparison, o.metric]), [
    ["Popularity − SASRec", "test NDCG@10"],
    ["Popularity − SASRec", "half HR@10"],
    ["UR4Rec − SASRec", "test NDCG@10"],
    ["UR4Rec − SASRec", "half HR@10"],
  ]);
  const [pop, , ur4rec, ur4recHalf] = outcomes.map((o) => "paired" in o ? o.paired : assert.fail(JSON.stringify(o)));
  // UR4Rec: d = 0.03, 0.04, 0.01; mean 0.08/3; sd = sqrt((0.01/3)^2 + (0.04/3)^2 + (0.05/3)^2) / 2) = 0.0152753
  const se = 0.0152753 / Math.sqrt(3);
  assertClose([ur4rec.meanDifference], [0.08 / 3], 1e-12);
  assertClose([ur4rec.sdDifference], [0.0152753], 1e-6);
  assertClose([ur4rec.ci95[0]], [0.08 / 3 - 4.302653 * se], 1e-6);
  assertClose([ur4rec.ci95[1]], [0.08 / 3 + 4.302653 * se], 1e-6);
  const t = 0.08 / 3 / se;
  assertClose([ur4rec.tTest.pValue], [1 - t / Math.sqrt(2 + t * t)], 1e-5);
  assertClose([ur4rec.wilcoxon.pValue], [0.25], 1e-12, "3 positive differences: exact p = 2/2^3");
  assert.equal(ur4rec.verdict, "not distinguishable");
  assert.deepEqual(ur4recHalf.differences, ur4rec.differences, "the accessor metric pairs the same values");
  // Popularity: d = -0.20, -0.21, -0.22; sd 0.01, so t = -0.21 / (0.01 / sqrt(3)) = -36.373
  assertClose([pop.meanDifference], [-0.21], 1e-12);
  assertClose([pop.ci95[1]], [-0.21 + 4.302653 * 0.01 / Math.sqrt(3)], 1e-6);
  assert.equal(pop.verdict, "worse");

  assert.deepEqual(pairedTable(outcomes.filter((o) => o.metric === "test NDCG@10")), [
    {
      comparison: "Popularity − SASRec",
      metric: "test NDCG@10",
      seeds: 3,
      "mean difference": "-0.2100",
      "95% CI": "[-0.2348, -0.1852]",
      "t-test p": "< 0.001",
      "Wilcoxon p": "0.250",
      verdict: "worse",
    },
    {
      comparison: "UR4Rec − SASRec",
      metric: "test NDCG@10",
      seeds: 3,
      "mean difference": "+0.0267",
      "95% CI": "[-0.0113, +0.0646]",
      "t-test p": "0.094",
      "Wilcoxon p": "0.250",
      verdict: "not distinguishable",
    },
  ]);
});

Deno.test("paired section: sentences with the interval, the Wilcoxon floor, unpaired comparisons named, the table", () => {
  const diverged = resultRow("model=bprmf,seed=2", { model: "bprmf", seed: 2 }, null, "diverged");
  const axes = { model: ["pop", "sasrec", "ur4rec", "bprmf"] };
  const rows = [
    ...grid().rows,
    resultRow("model=bprmf,seed=1", { model: "bprmf", seed: 1 }, 0.2),
    diverged,
    resultRow("model=bprmf,seed=3", { model: "bprmf", seed: 3 }, 0.2),
  ];
  const outcomes = pairedComparisons({ rows, axes, summary: summarizeResults(rows, axes) }, { model: "sasrec" }, [
    NDCG,
  ])!;
  const section = pairedSection("Paired comparisons: g", outcomes, "test NDCG@10");
  assert.deepEqual(section.paragraphs.slice(1), [
    "Popularity is worse than SASRec on test NDCG@10: mean paired difference -0.2100, 95% CI [-0.2348, -0.1852] " +
    "(3 seeds, paired t-test p < 0.001).",
    "UR4Rec and SASRec are not distinguishable on test NDCG@10: mean paired difference +0.0267, 95% CI " +
    "[-0.0113, +0.0646] includes 0 (3 seeds, paired t-test p = 0.094).",
    "With 3 seeds the exact Wilcoxon signed-rank test cannot give p below 2/2^3 = 0.250, so the verdicts rest on the " +
    "t-test (differences assumed roughly normal).",
    'Not compared: BPR-MF − SASRec on test NDCG@10: paired comparison: {"model":"bprmf"} has no test ' +
    "NDCG@10 at seed 2 (model=bprmf,seed=2: diverged).",
  ]);
  const md = reportMarkdown({ title: "t", sections: [section] });
  assert.ok(
    md.includes(
      "| UR4Rec − SASRec | test NDCG@10 | 3 | +0.0267 | [-0.0113, +0.0646] | 0.094 | 0.250 | " +
        "not distinguishable |",
    ),
    md,
  );
  assert.ok(md.includes("| Popularity − SASRec | test NDCG@10 | 3 | -0.2100 | [-0.2348, -0.1852] | < 0.001 |"), md);
});

Deno.test("paired comparisons: none without a single baseline group or with a group of one seed", () => {
  assert.equal(pairedComparisons(grid(), { model: "bprmf" }), undefined, "no baseline group");
  assert.equal(pairedComparisons(grid(), { seed: 1 }), undefined, "the selector matches no group (groups pool seeds)");
  const oneSeed = resultRow("model=bprmf,seed=1", { model: "bprmf", seed: 1 }, 0.2);
  const rows = [...grid().rows, oneSeed];
  const axes = { model: [...AXES.model, "bprmf"] };
  assert.equal(
    pairedComparisons({ rows, axes, summary: summarizeResults(rows, axes) }, { model: "sasrec" }),
    undefined,
  );
  assert.equal(
    groupLabel({ model: "ur4rec", retriever_mode: "fixed", lr: 0.1 }, { model: [], lr: [] }),
    "UR4Rec (fixed), lr=0.1",
  );
  assert.equal(groupLabel({ text_use: "none", lr: 0.1 }, { text_use: [], lr: [] }), "text_use=none, lr=0.1");
});

Deno.test("paired-difference chart: a labelled row per comparison, zero rule, verdicts, metric and seeds on the axis", () => {
  const outcomes = pairedComparisons(grid(), { model: "sasrec" }, [NDCG])!;
  const chart = pairedDifferenceChart(pairedChartRows(outcomes, "test NDCG@10"), {
    metric: "test NDCG@10",
    title: "Paired differences against SASRec",
    subtitle: "ML-100K (sasrec preset), leave-one-out, full ranking, 3 seeds",
  });
  const svg = new DOMParser().parseFromString(standaloneSvg(chart), "image/svg+xml") as unknown as Document;
  const texts = [...svg.querySelectorAll("text")].map((t) => t.textContent ?? "");
  for (const label of ["Popularity − SASRec", "UR4Rec − SASRec", "worse", "not distinguishable"]) {
    assert.ok(texts.includes(label), `${label} in ${JSON.stringify(texts)}`);
  }
  assert.ok(texts.some((t) => t.startsWith("paired difference in test NDCG@10 (mean over 3 seeds, 95% CI)")), "x axis");
  assert.ok(texts.includes("Paired differences against SASRec"), "the title is in the saved SVG");
  assert.ok(texts.includes("ML-100K (sasrec preset), leave-one-out, full ranking, 3 seeds"), "the subtitle too");
  const rules = [...chart.querySelectorAll('g[aria-label="rule"] line')];
  assert.equal(rules.length, 1 + 2, "the zero rule and one interval per comparison");
  assert.equal(chart.querySelectorAll('g[aria-label="dot"] circle').length, 2);
});
