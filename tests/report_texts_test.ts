/**
 * The write-up's answer to "do the texts help?" (src/report/texts_report.ts) on hand-made results rows: 3 seeds of
 * SASRec, two SASRec text uses and the residual UR4Rec with leak-free and shipped user texts, with slices.
 */
import assert from "node:assert/strict";
import type { ResultRow } from "../src/experiments/results.ts";
import { summarizeResults } from "../src/experiments/summary.ts";
import type { GridResults } from "../src/report/read.ts";
import { reportMarkdown } from "../src/report/render.ts";
import { referenceTable } from "../src/report/write_up.ts";
import { archivedReports } from "../src/report/results_report.ts";
import { tempDir } from "./helpers.ts";
import {
  answerSentence,
  stageRows,
  stageSentence,
  textBaseline,
  textMetrics,
  textSections,
  withPresetOrder,
} from "../src/report/texts_report.ts";
import { pairedComparisons } from "../src/report/paired_section.ts";
import { resultRow } from "./report_fixtures.ts";

const AXES = {
  model: ["sasrec", "ur4rec"],
  text_use: ["none", "embedding_init", "side_feature", "retriever_fusion"],
  user_text: ["leak_free", "shipped"],
};

/** A row with test NDCG@10 `ndcg` overall, `tail` on pop_tail (head: 2 x tail), validation `val`, kept at `best`. */
function row(values: Record<string, unknown>, ndcg: number, tail: number, val: number, best = "pretrain_sasrec") {
  const base = resultRow(JSON.stringify(values), values, ndcg);
  const bucket = (x: number) => ({ users: 10, metrics: { "NDCG@10": x } as never });
  return {
    ...base,
    val: { "NDCG@10": val },
    best: { stage: best, epoch: 7 },
    slices: {
      popularity: { interactions: 0, head_items: 0, torso_items: 0, head_min_count: null, torso_min_count: null },
      history: [30, 100],
      val: {},
      test: { pop_head: bucket(2 * tail), pop_tail: bucket(tail) },
    },
  } as ResultRow;
}

/**
 * SASRec 0.10/0.11/0.12 (tail 0.02/0.03/0.04); embedding_init +0.020/+0.021/+0.019 (tail +0.010 each);
 * side_feature -0.01/+0.01/0 (tail same as SASRec); UR4Rec leak-free = SASRec on seeds 1, 3 (kept stage 1) and
 * +0.005 test / +0.002 val on seed 2 (kept from train_fusion); shipped +0.03 on every seed.
 */
function texts(): GridResults {
  const sas = [0.10, 0.11, 0.12], tail = [0.02, 0.03, 0.04];
  const rows: ResultRow[] = [];
  for (const [i, seed] of [1, 2, 3].entries()) {
    const v = (model: string, text_use: string, user_text = "leak_free") => ({ model, seed, text_use, user_text });
    rows.push(row(v("sasrec", "none"), sas[i], tail[i], 0.2 + sas[i]));
    rows.push(row(v("sasrec", "embedding_init"), sas[i] + [0.020, 0.021, 0.019][i], tail[i] + 0.01, 0.3));
    rows.push(row(v("sasrec", "side_feature"), sas[i] + [-0.01, 0.01, 0][i], tail[i], 0.3));
    const fused = seed === 2;
    rows.push(row(
      v("ur4rec", "retriever_fusion"),
      sas[i] + (fused ? 0.005 : 0),
      tail[i],
      0.2 + sas[i] + (fused ? 0.002 : 0),
      fused ? "train_fusion" : "pretrain_sasrec",
    ));
    rows.push(row(v("ur4rec", "retriever_fusion", "shipped"), sas[i] + 0.03, tail[i], 0.4, "train_fusion"));
  }
  const summary = summarizeResults(rows, AXES);
  return {
    dir: "/r/texts_loo",
    grid: "/c/texts_loo.yaml",
    axes: AXES,
    rows,
    summary,
    cells: [],
  } as unknown as GridResults;
}

Deno.test("texts report: baseline, metrics (overall, then slices), verdicts and the answer sentence", () => {
  const grid = texts();
  assert.deepEqual(textBaseline(grid), { model: "sasrec", text_use: "none" });
  assert.deepEqual(textBaseline({ axes: { model: [] } }), { model: "sasrec" });
  const metrics = textMetrics(grid.rows);
  assert.deepEqual(metrics.map((m) => m.name), [
    "test NDCG@10",
    "test HR@10",
    "test NDCG@10, pop_head",
    "test NDCG@10, pop_tail",
  ]);
  const outcomes = pairedComparisons(grid, textBaseline(grid), metrics, { user_text: "leak_free" })!;
  assert.deepEqual([...new Set(outcomes.map((o) => o.a))], [
    "SASRec + embedding_init",
    "SASRec + side_feature",
    "UR4Rec (leak_free)",
  ]);
  const overall = answerSentence(outcomes, "test NDCG@10", "texts_loo")!;
  // embedding_init: d = 0.020, 0.021, 0.019: mean +0.0200, sd 0.001, CI ±4.302653 · 0.001/√3 = ±0.0025
  assert.match(
    overall,
    /^On test NDCG@10 \(texts_loo, 3 seeds, paired\): SASRec \+ embedding_init better \(\+0\.0200 \[\+0\.0175, \+0\.0225\]\)/,
  );
  assert.match(overall, /SASRec \+ side_feature not distinguishable \(\+0\.0000 \[-0\.0248, \+0\.0248\]\)/);
  assert.match(overall, /Better than SASRec: SASRec \+ embedding_init\.$/);
  const tail = answerSentence(outcomes, "test NDCG@10, pop_tail", "texts_loo")!;
  assert.match(tail, /UR4Rec \(leak_free\) not distinguishable/);
  assert.equal(answerSentence(outcomes, "MRR", "x"), undefined);
  const noneBetter = answerSentence(outcomes.filter((o) => !o.a.includes("embedding")), "test NDCG@10", "x")!;
  assert.match(noneBetter, /No use of the texts is better than SASRec here\.$/);
});

Deno.test("texts report: the residual UR4Rec per seed against its SASRec, and the sentence on the fusion stage", () => {
  const rows = stageRows(texts(), { model: "sasrec", text_use: "none" });
  assert.deepEqual(rows.map((r) => [r.seed, r["UR4Rec kept checkpoint"], r["Δ val"], r["Δ test"]]), [
    [1, "pretrain_sasrec epoch 7", "+0.0000", "+0.0000"],
    [2, "train_fusion epoch 7", "+0.0020", "+0.0050"],
    [3, "pretrain_sasrec epoch 7", "+0.0000", "+0.0000"],
  ]);
  assert.equal(rows[1]["SASRec test"], "0.1100");
  assert.match(stageSentence(rows)!, /improved validation NDCG@10 in 1 of 3 seeds .* moved by \+0\.0050\.$/);
  assert.equal(stageSentence([]), undefined);
});

Deno.test("texts report: sections (answer, grid, paired, stages, leak) with their figures", async () => {
  const saved: string[] = [];
  const sections = await textSections({ texts_loo: texts() }, {
    root: "/",
    save: (_chart, name) => {
      saved.push(name);
      return Promise.resolve(`figures/${name}.svg`);
    },
  });
  assert.deepEqual(sections.map((s) => s.heading), [
    "Do the texts help? The answer",
    "Texts against SASRec: texts_loo",
    "Paired comparisons: texts_loo",
    "The residual UR4Rec stage by stage: texts_loo",
    "The leak, measured (texts_loo)",
  ]);
  assert.deepEqual(saved, ["models_texts_loo", "paired_texts_loo_all", "paired_texts_loo_tail"]);
  const leak = reportMarkdown({ title: "t", sections: [sections[4]] });
  // shipped − leak-free: +0.03 on seeds 1 and 3, +0.025 on seed 2 (the leak-free run gained 0.005 there)
  assert.match(leak, /UR4Rec \(shipped\) − UR4Rec \(leak_free\) \| test NDCG@10 \| 3 \| \+0\.0283/);
  assert.deepEqual(await textSections({}, { root: "/", save: () => Promise.resolve("") }), []);
});

Deno.test("texts report: the tie orders are paired with texts_loo's SASRec runs as the preset's own order", async () => {
  const grid = texts();
  const axes = { tie_order: ["item_id", "shuffle"] };
  const rows = [1, 2, 3].flatMap((seed) => [
    row({ tie_order: "item_id", seed }, [0.10, 0.11, 0.12][seed - 1] - 0.01, 0, 0),
    row({ tie_order: "shuffle", seed }, [0.10, 0.11, 0.12][seed - 1] + [0.01, -0.01, 0.003][seed - 1], 0, 0),
  ]);
  const ties = {
    dir: "/r/ties_loo",
    grid: "/c/ties_loo.yaml",
    axes,
    rows,
    summary: summarizeResults(rows, axes),
    cells: [],
  };
  const merged = withPresetOrder(ties, grid);
  assert.deepEqual(merged.axes, { tie_order: ["file_order", "item_id", "shuffle"] });
  assert.deepEqual(merged.rows.slice(0, 3).map((r) => [r.values, r.test?.["NDCG@10"]]), [
    [{ tie_order: "file_order", seed: 1 }, 0.10],
    [{ tie_order: "file_order", seed: 2 }, 0.11],
    [{ tie_order: "file_order", seed: 3 }, 0.12],
  ]);
  const sections = await textSections({ texts_loo: grid, ties_loo: ties as unknown as GridResults }, {
    root: "/",
    save: () => Promise.resolve("f.svg"),
  });
  const md = reportMarkdown({ title: "t", sections: [sections.at(-1)!] });
  // item_id: -0.01 on every seed: worse; shuffle: +0.01, -0.01, +0.003: not distinguishable
  assert.match(
    md,
    /tie_order=item_id − tie_order=file_order \| test NDCG@10 \| 3 \| -0\.0100 \| \[-0\.0100, -0\.0100\]/,
  );
  assert.match(md, /tie_order=shuffle − tie_order=file_order \| test NDCG@10 \| 3 \| \+0\.0010 \|/);
});

Deno.test("write-up: the published numbers and ours side by side, with each one's protocol", () => {
  const rows = referenceTable({ texts_loo: texts() });
  assert.deepEqual(rows.map((r) => r.result), [
    "original UR4Rec (reported)",
    "Popularity, original protocol (spec)",
    "SASRec.pytorch",
    "ours: SASRec (texts_loo, test, 3 seeds)",
    "ours: UR4Rec (leak_free) (texts_loo, test, 3 seeds)",
  ]);
  // SASRec's test NDCG@10 0.10, 0.11, 0.12: mean 0.11, 95% half-width 4.302653 · 0.01 / √3 = 0.0248
  assert.equal(rows[3]["NDCG@10"], "0.1100 ± 0.0248");
  assert.match(String(rows[3].protocol), /^leave-one-out, full ranking/);
  assert.equal(rows[2]["NDCG@10"], "0.420");
});

Deno.test("results report: earlier reports under archive/ are listed (only folders holding a RESULTS.md)", async () => {
  await using dir = await tempDir();
  assert.deepEqual(archivedReports(dir.path), []);
  await Deno.mkdir(`${dir.path}/archive/b-old`, { recursive: true });
  await Deno.mkdir(`${dir.path}/archive/a-empty`);
  await Deno.writeTextFile(`${dir.path}/archive/b-old/RESULTS.md`, "# old\n");
  assert.deepEqual(archivedReports(dir.path), ["archive/b-old/RESULTS.md"]);
});

Deno.test("texts report: the leak is paired on the seeds the shipped texts ran (a group run on fewer seeds)", async () => {
  const grid = texts();
  const rows = grid.rows.filter((r) => !(r.values.user_text === "shipped" && r.values.seed === 3));
  const fewer = { ...grid, rows, summary: summarizeResults(rows, AXES) };
  const sections = await textSections({ texts_loo: fewer }, { root: "/", save: () => Promise.resolve("f.svg") });
  const leak = reportMarkdown({ title: "t", sections: sections.filter((s) => s.heading.startsWith("The leak")) });
  // seeds 1 and 2: +0.03 and +0.025
  assert.match(leak, /UR4Rec \(shipped\) − UR4Rec \(leak_free\) \| test NDCG@10 \| 2 \| \+0\.0275/);
});
