/**
 * The write-up's answer to issue 13's question, "do the LLM-written texts help SASRec on this data, and where?", from
 * the text grids (configs/grids/texts_loo.yaml, texts_sampled.yaml) and the tie-order grid (ties_loo.yaml):
 * - every use of the texts against SASRec, paired by seed, overall and per slice of the test users (target-item
 *   popularity, history length: src/eval/slices.ts), with the answer in sentences;
 * - the leak: UR4Rec with the shipped user texts against the leak-free ones, paired;
 * - the residual UR4Rec stage by stage against its SASRec (validation and test of the kept checkpoint, per seed), the
 *   evidence for "why" when it does not beat SASRec on test;
 * - how much SASRec's numbers move with the order of equal timestamps.
 */
import {
  matchesSelector,
  PAIRED_ALPHA,
  type RowMetric,
  type RowSelector,
  sliceMetric,
  splitMetric,
} from "../experiments/paired.ts";
import type { ResultRow } from "../experiments/results.ts";
import { summarizeResults } from "../experiments/summary.ts";
import type { Chart } from "../viz/chart.ts";
import { modelComparison } from "../viz/grid_charts.ts";
import { pairedDifferenceChart } from "../viz/paired_chart.ts";
import type { Row } from "../viz/tables.ts";
import type { GridResults } from "./read.ts";
import type { ReportSection } from "./render.ts";
import { comparisonRows, gridSubtitle, protocolLabel } from "./rows.ts";
import { pairedChartRows, pairedComparisons, type PairedOutcome, pairedSection } from "./paired_section.ts";
import { gridSection } from "./section.ts";
import { signedFixed } from "./sentences.ts";
import { gridName } from "./write_up.ts";

/** Saves a chart as a report figure named `name`; returns its path relative to the report. */
export type SaveFigure = (chart: Chart, name: string) => Promise<string>;

/** The popularity buckets, in the order the answer reads them. */
const POPULARITY = ["pop_head", "pop_torso", "pop_tail"];

/** The SASRec group every text use is compared with: `text_use: none` when the grid varies it. */
export function textBaseline(results: Pick<GridResults, "axes">): RowSelector {
  return "text_use" in results.axes ? { model: "sasrec", text_use: "none" } : { model: "sasrec" };
}

/** Test NDCG@10 and HR@10 overall, then test NDCG@10 per slice bucket present in the rows (popularity first). */
export function textMetrics(rows: readonly ResultRow[]): RowMetric[] {
  const buckets = [...new Set(rows.flatMap((r) => Object.keys(r.slices?.test ?? {})))];
  const ordered = [...POPULARITY.filter((b) => buckets.includes(b)), ...buckets.filter((b) => !POPULARITY.includes(b))];
  return [splitMetric("NDCG@10"), splitMetric("HR@10"), ...ordered.map((b) => sliceMetric("NDCG@10", b))];
}

/** "better", "worse" or "not distinguishable" with the interval, e.g. "better (+0.0131 [+0.0082, +0.0180])". */
function verdictPhrase(o: PairedOutcome): string {
  if (!("paired" in o)) return `not compared (${o.error})`;
  const p = o.paired;
  return `${p.verdict} (${signedFixed(p.meanDifference)} [${signedFixed(p.ci95[0])}, ${signedFixed(p.ci95[1])}])`;
}

/**
 * The answer on one metric: each text use's verdict against SASRec, then which (if any) beat it, e.g. "On test
 * NDCG@10 (texts_loo, 5 seeds): SASRec + embedding_init better (+0.0131 [...]); ... Beats SASRec: ...".
 */
export function answerSentence(outcomes: readonly PairedOutcome[], metric: string, where: string): string | undefined {
  const on = outcomes.filter((o) => o.metric === metric);
  if (on.length === 0) return undefined;
  const seeds = Math.max(0, ...on.map((o) => "paired" in o ? o.paired.seeds.length : 0));
  const parts = on.map((o) => `${o.a} ${verdictPhrase(o)}`);
  const better = on.filter((o) => "paired" in o && o.paired.verdict === "better").map((o) => o.a);
  const worse = on.filter((o) => "paired" in o && o.paired.verdict === "worse").map((o) => o.a);
  const baseline = on[0].b;
  const verdict = better.length > 0
    ? `Better than ${baseline}: ${better.join(", ")}.`
    : `No use of the texts is better than ${baseline} here${worse.length > 0 ? `; worse: ${worse.join(", ")}` : ""}.`;
  return `On ${metric} (${where}, ${seeds} seeds, paired): ${parts.join("; ")}. ${verdict}`;
}

/**
 * Per seed, the residual UR4Rec (leak-free texts) against its SASRec: the SASRec run's validation and test NDCG@10,
 * where UR4Rec's kept checkpoint comes from (stage, epoch), its validation and test NDCG@10, and the differences.
 * Stage 1 of UR4Rec is the SASRec run exactly, so a kept checkpoint from `pretrain_sasrec` means the fusion never
 * improved validation.
 */
export function stageRows(results: Pick<GridResults, "rows">, baseline: RowSelector): Row[] {
  const ur4rec = results.rows.filter((r) =>
    matchesSelector(r.values, { model: "ur4rec" }) && (r.values.user_text ?? "leak_free") === "leak_free" &&
    r.status === "completed"
  );
  const ndcg = (r: ResultRow | undefined, split: "val" | "test") => r?.[split]?.["NDCG@10"] ?? null;
  const fixed = (x: number | null) => x === null ? "-" : x.toFixed(4);
  const delta = (a: number | null, b: number | null) => a === null || b === null ? "-" : signedFixed(a - b);
  return ur4rec.sort((a, b) => Number(a.values.seed) - Number(b.values.seed)).map((u) => {
    const s = results.rows.find((r) => matchesSelector(r.values, baseline) && r.values.seed === u.values.seed);
    return {
      seed: Number(u.values.seed),
      "SASRec val": fixed(ndcg(s, "val")),
      "SASRec test": fixed(ndcg(s, "test")),
      "UR4Rec kept checkpoint": u.best ? `${u.best.stage} epoch ${u.best.epoch}` : "-",
      "UR4Rec val": fixed(ndcg(u, "val")),
      "UR4Rec test": fixed(ndcg(u, "test")),
      "Δ val": delta(ndcg(u, "val"), ndcg(s, "val")),
      "Δ test": delta(ndcg(u, "test"), ndcg(s, "test")),
    };
  });
}

/** One sentence on the stage table: how often the fusion improved validation, and what that did on test. */
export function stageSentence(rows: readonly Row[]): string | undefined {
  if (rows.length === 0) return undefined;
  const fused = rows.filter((r) => String(r["UR4Rec kept checkpoint"]).startsWith("train_fusion"));
  const tests = fused.map((r) => String(r["Δ test"])).join(", ");
  return `The fusion stage improved validation NDCG@10 in ${fused.length} of ${rows.length} seeds (the kept ` +
    `checkpoint is from train_fusion; otherwise it is stage 1, which is the SASRec run exactly, and UR4Rec's numbers ` +
    `are SASRec's)${fused.length > 0 ? `; on those seeds the test NDCG@10 moved by ${tests}` : ""}.`;
}

/** A text grid's section (per-cell table, chart) and its paired section (every metric, chart of two of them). */
async function textGridSections(
  results: GridResults,
  heading: string,
  options: { root: string; save: SaveFigure },
): Promise<{ sections: ReportSection[]; outcomes: PairedOutcome[] }> {
  const name = gridName(results);
  const subtitle = gridSubtitle(results);
  const section = gridSection(heading, results, { root: options.root, effects: false });
  const models = modelComparison(comparisonRows(results.summary), { title: "Test metrics per model", subtitle });
  const sections: ReportSection[] = [{
    ...section,
    figures: [{
      file: await options.save(models, `models_${name}`),
      caption: `Test metrics per model (${name}), mean and 95% interval`,
    }],
  }];
  const baseline = textBaseline(results);
  const metrics = textMetrics(results.rows);
  const among = "user_text" in results.axes ? { user_text: "leak_free" } : {};
  const outcomes = pairedComparisons(results, baseline, metrics, among) ?? [];
  if (outcomes.length === 0) return { sections, outcomes };
  const charted = metrics.filter((m) => m.name === "test NDCG@10" || m.name === "test NDCG@10, pop_tail");
  const figures = await Promise.all(charted.map(async (m) => ({
    file: await options.save(
      pairedDifferenceChart(pairedChartRows(outcomes, m.name), {
        metric: m.name,
        title: `Paired differences against ${outcomes[0].b}`,
        subtitle,
      }),
      `paired_${name}_${m.name.endsWith("pop_tail") ? "tail" : "all"}`,
    ),
    caption: `Paired differences in ${m.name} against ${outcomes[0].b} (${name}), mean and 95% interval`,
  })));
  const paired = pairedSection(`Paired comparisons: ${name}`, outcomes, "test NDCG@10");
  const tests = outcomes.filter((o) => "paired" in o).length;
  const chance = `${tests} comparisons (groups × metrics) are tested at p < 0.05 without correction, so about ` +
    `${
      (tests * PAIRED_ALPHA).toFixed(1)
    } of them would come out "better" or "worse" by chance alone: a verdict on one ` +
    "slice is a lead to retest with more seeds, not a finding.";
  sections.push({ ...paired, paragraphs: [...paired.paragraphs, chance], figures });
  return { sections, outcomes };
}

/** The rows of the seeds that the rows matching `selector` have (a group run on fewer seeds), re-summarised. */
function onSeedsOf(results: Pick<GridResults, "rows" | "axes">, selector: RowSelector) {
  const seeds = new Set(
    results.rows.filter((r) => matchesSelector(r.values, selector)).map((r) => r.values.seed),
  );
  const rows = results.rows.filter((r) => seeds.has(r.values.seed));
  return { rows, axes: results.axes, summary: summarizeResults(rows, results.axes) };
}

/**
 * The leak: UR4Rec with the shipped user texts against the leak-free ones, paired on the seeds the shipped texts ran;
 * none without both groups.
 */
function leakSection(results: GridResults): ReportSection | undefined {
  if (!("user_text" in results.axes)) return undefined;
  const outcomes = pairedComparisons(
    onSeedsOf(results, { model: "ur4rec", user_text: "shipped" }),
    { model: "ur4rec", user_text: "leak_free" },
    [splitMetric("NDCG@10"), splitMetric("HR@10")],
    { model: "ur4rec", user_text: "shipped" },
  );
  if (!outcomes || outcomes.length === 0) return undefined;
  const section = pairedSection(`The leak, measured (${gridName(results)})`, outcomes, "test NDCG@10");
  return {
    ...section,
    paragraphs: [
      "The shipped user texts were written by an LLM that saw the user's whole history, validation and test items " +
      "included (docs/findings.md#f1); the leak-free ones are regenerated from the training part only. Same recipe, " +
      "same seeds:",
      ...section.paragraphs,
    ],
  };
}

/**
 * The tie-order grid's rows with the preset's own order added: texts_loo's SASRec baseline, whose configs are those of
 * the grid's cells with `tie_order: null` (= `file_order` under the `original` preset), as `tie_order: file_order`,
 * on the seeds the tie-order grid ran.
 */
export function withPresetOrder(ties: Pick<GridResults, "rows" | "axes">, texts?: Pick<GridResults, "rows" | "axes">) {
  const own = (texts?.rows ?? []).filter((r) => matchesSelector(r.values, textBaseline(texts!))).map((r) => ({
    ...r,
    values: { tie_order: "file_order", seed: r.values.seed },
  }));
  const seeds = new Set(ties.rows.map((r) => r.values.seed));
  const rows = [...own.filter((r) => seeds.has(r.values.seed)), ...ties.rows];
  const axes = { tie_order: [...(own.length > 0 ? ["file_order"] : []), ...(ties.axes.tie_order ?? [])] };
  return { rows, axes, summary: summarizeResults(rows, axes) };
}

/**
 * How SASRec's numbers move with the order of equal timestamps (ties_loo.yaml): each order against the preset's own
 * (`file_order`, texts_loo's SASRec runs), paired by seed; none without both.
 */
function tiesSection(ties: GridResults, texts: GridResults | undefined, root: string): ReportSection | undefined {
  const outcomes = pairedComparisons(withPresetOrder(ties, texts), { tie_order: "file_order" }, [
    splitMetric("NDCG@10"),
    splitMetric("HR@10"),
  ]);
  if (!outcomes || outcomes.length === 0) return undefined;
  const section = gridSection("Equal timestamps: the tie order (ties_loo)", ties, { root, effects: false });
  const paired = pairedSection("", outcomes, "test NDCG@10");
  return {
    ...section,
    paragraphs: [
      "51% of consecutive ML-100K ratings of a user share a timestamp, so the order of equal timestamps decides the " +
      'held-out items of many users (configs/README.md, "Equal timestamps"). SASRec on texts_loo\'s protocol with ' +
      "each order, against the preset's own (`file_order`: texts_loo's SASRec runs, the same configs), paired by seed:",
      ...paired.paragraphs.slice(1),
      ...section.paragraphs,
    ],
    tables: [...(section.tables ?? []), ...(paired.tables ?? [])],
  };
}

/**
 * The sections of the text grids present in `grids` (keys `texts_loo`, `texts_sampled`, `ties_loo`): the answer
 * first (overall and on tail items, per protocol), then each grid with its paired comparisons, the stage table of the
 * residual UR4Rec, the leak and the tie order. Empty when none of the grids is present.
 */
export async function textSections(
  grids: Record<string, GridResults>,
  options: { root: string; save: SaveFigure },
): Promise<ReportSection[]> {
  const answer: string[] = [];
  const body: ReportSection[] = [];
  for (const key of ["texts_loo", "texts_sampled"]) {
    const results = grids[key];
    if (!results) continue;
    const name = gridName(results);
    const { sections, outcomes } = await textGridSections(results, `Texts against SASRec: ${name}`, options);
    for (const metric of ["test NDCG@10", "test NDCG@10, pop_tail"]) {
      const config = results.cells[0]?.config;
      const sentence = answerSentence(outcomes, metric, config ? `${name}, ${protocolLabel(config)}` : name);
      if (sentence) answer.push(sentence);
    }
    body.push(...sections);
    const stages = stageRows(results, textBaseline(results));
    const stageText = stageSentence(stages);
    if (stageText) {
      body.push({
        heading: `The residual UR4Rec stage by stage: ${name}`,
        paragraphs: [
          "Per seed, the residual UR4Rec (leak-free texts) against the SASRec run of the same seed, at the checkpoint " +
          "each kept (best validation NDCG@10 of the whole run).",
          stageText,
        ],
        tables: [{ caption: `UR4Rec vs its SASRec per seed (${name})`, rows: stages }],
      });
    }
    const leak = leakSection(results);
    if (leak) body.push(leak);
  }
  if (grids.ties_loo) {
    const ties = tiesSection(grids.ties_loo, grids.texts_loo, options.root);
    if (ties) body.push(ties);
  }
  if (answer.length === 0 && body.length === 0) return [];
  return [{
    heading: "Do the texts help? The answer",
    paragraphs: answer.length > 0 ? answer : ["No text grid has paired results yet."],
  }, ...body];
}
