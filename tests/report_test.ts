import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultConfig } from "../src/config/schema.ts";
import type { Cell } from "../src/experiments/grid.ts";
import { findCell, type GridResults, readGridResults, readGridResultsIfExists } from "../src/report/read.ts";
import { reportHtml, reportMarkdown } from "../src/report/render.ts";
import { ablationRows, comparisonRows, mainEffectPoints, modelLabel } from "../src/report/rows.ts";
import { gridSection } from "../src/report/section.ts";
import {
  budgetSentence,
  compareSentence,
  nanAnswer,
  resumedSentences,
  stillImprovingSentences,
  wallTimeSentence,
} from "../src/report/sentences.ts";
import type { ResultRow } from "../src/experiments/results.ts";
import { ciBounds } from "../src/experiments/summary.ts";
import { tempDir } from "./helpers.ts";
import { fakeGrid, seeds } from "./report_fixtures.ts";

Deno.test("report of two grid directories: means, 95% CIs, sentences, commands and run paths", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const models = join(root, "runs", "results", "models");
  const nan = join(root, "runs", "results", "nan");
  await fakeGrid(models, join(root, "configs", "grids", "models.yaml"), { model: ["pop", "sasrec"] }, [
    ...seeds({ model: "pop" }, [0.1, 0.2, 0.3]),
    ...seeds({ model: "sasrec" }, [0.7, 0.8, 0.9]),
  ]);
  await fakeGrid(nan, "configs/grids/nan.yaml", { attention_mask: ["torch", "safe"] }, [
    ...seeds({ attention_mask: "torch" }, [null], "diverged"),
    ...seeds({ attention_mask: "safe" }, [0.25]),
  ]);
  const m = await readGridResults(models);
  const n = (await readGridResultsIfExists(nan))!;
  assert.equal(await readGridResultsIfExists(join(root, "absent")), undefined);

  // mean 0.2, sample std 0.1, n 3: half-width t(0.975, 2) * 0.1 / sqrt(3) = 4.3027 * 0.057735 = 0.24842
  const pop = findCell(m.summary, { model: "pop" })!;
  assert.ok(Math.abs(pop.ndcg10.mean! - 0.2) < 1e-12 && Math.abs(pop.ndcg10.ci95! - 0.248417) < 1e-5);
  const sasrec = findCell(m.summary, { model: "sasrec" })!;
  assert.equal(
    compareSentence({ label: "SASRec", score: sasrec.ndcg10 }, { label: "Popularity", score: pop.ndcg10 }, "NDCG@10"),
    "SASRec beats Popularity (NDCG@10 0.8000 ± 0.2484 vs 0.2000 ± 0.2484).",
  );
  assert.match(
    compareSentence({ label: "Popularity", score: pop.ndcg10 }, { label: "SASRec", score: sasrec.ndcg10 }, "NDCG@10"),
    /^Popularity does not beat SASRec: it is below it/,
  );

  assert.deepEqual(comparisonRows(m.summary).filter((r) => r.metric === "test NDCG@10").map((r) => r.model), [
    "Popularity",
    "SASRec",
  ]);
  const popNdcg = comparisonRows(m.summary).find((r) => r.model === "Popularity" && r.metric === "test NDCG@10")!;
  assert.equal(popNdcg.score, pop.ndcg10, "the row carries the summary's MeanCi itself");
  const [lo, hi] = ciBounds(popNdcg.score)!;
  assert.ok(Math.abs(lo - (0.2 - 0.248417)) < 1e-5 && Math.abs(hi - (0.2 + 0.248417)) < 1e-5);
  assert.equal(
    modelLabel({ model: "ur4rec", retriever_mode: "fixed", user_text: "leak_free" }),
    "UR4Rec (fixed, leak_free)",
  );

  assert.deepEqual(nanAnswer(n.summary, n.axes), [
    "2 of 2 runs finished.",
    "Axes that change the NaN rate (largest change between levels): attention_mask (-1.00).",
  ]);
  const torchOnly = { ...n.summary, cells: n.summary.cells.slice(0, 1) };
  torchOnly.effects = n.summary.effects.map((e) =>
    e.level === "safe" ? { ...e, nan_rate: null, delta_nan_rate: null } : e
  );
  assert.deepEqual(nanAnswer(torchOnly, n.axes).slice(1), [
    "Not known yet (a level has no finished run): attention_mask.",
  ]);
  assert.deepEqual(nanAnswer(m.summary, m.axes).slice(1), ["Axes that leave the NaN rate unchanged: model."]);

  const report = {
    title: "Results",
    sections: [gridSection("Models", m, { root }), gridSection("NaN ablation", n, { root })],
  };
  const md = reportMarkdown(report);
  assert.ok(md.includes("| pop | 3 | 0.00 | 0.4000 ± 0.4968 | 0.2000 ± 0.2484 | 0.1000 ± 0.1242 |"), md);
  assert.ok(md.includes("| sasrec | 3 | 0.00 | 1.6000 ± 0.4968 | 0.8000 ± 0.2484 | 0.4000 ± 0.1242 |"), md);
  assert.ok(md.includes("| torch | 1 | 1.00 | - | - | - |"), md);
  assert.ok(md.includes("| safe | 1 | 0.00 | 0.5000 ± ? | 0.2500 ± ? | 0.1250 ± ? |"), md);
  assert.ok(md.includes("deno task ablate run --grid configs/grids/models.yaml --out runs/results/models"), md);
  assert.ok(md.includes("deno task ablate run --grid configs/grids/nan.yaml --out runs/results/nan"), md);
  assert.ok(md.includes("model pop -> sasrec changes the NaN rate by +0.00 and test NDCG@10 by +0.6000."), md);
  assert.ok(
    md.includes(
      "attention_mask torch -> safe changes the NaN rate by -1.00 (test NDCG@10 not comparable: no finished run " +
        "with a test metric at attention_mask=torch).",
    ),
    md,
  );
  for (const id of [...m.rows, ...n.rows].map((r) => r.id)) {
    assert.ok(md.includes(`runs/results/${id.startsWith("model") ? "models" : "nan"}/runs/${id}`), id);
  }
  assert.ok(md.includes("6 of 6 runs finished") && md.includes("2 of 2 runs finished"));

  const html = reportHtml(report);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(html.includes("<td>0.2000 ± 0.2484</td>") && html.includes("<code>runs/results/models</code>"));
  assert.equal((html.match(/<table>/g) ?? []).length, 2);
  assert.ok(html.includes('<pre><code class="language-sh">deno task ablate run --grid configs/grids/models.yaml'));

  // one seed per cell: torch has no mean, safe a mean without an interval
  const ablation = ablationRows(n.summary, n.axes);
  assert.deepEqual(ablation.map((r) => [r.cell, r.values, r.nan_rate, r.ndcg10.mean, ciBounds(r.ndcg10)]), [
    ["attention_mask=torch", { attention_mask: "torch" }, 1, null, null],
    ["attention_mask=safe", { attention_mask: "safe" }, 0, 0.25, null],
  ]);
  assert.equal(
    compareSentence(
      { label: "safe", score: ablation[1].ndcg10 },
      { label: "Popularity", score: pop.ndcg10 },
      "NDCG@10",
    ),
    "safe does not beat Popularity: the 95% intervals overlap (NDCG@10 0.2500 ± ? vs 0.2000 ± 0.2484; single-seed " +
      "values have no interval).",
  );

  assert.deepEqual(mainEffectPoints(n.summary, "nan_rate"), [
    { axis: "attention_mask", level: "torch", mean: 1 },
    { axis: "attention_mask", level: "safe", mean: 0 },
  ]);
  assert.deepEqual(mainEffectPoints(n.summary, "ndcg10"), [{ axis: "attention_mask", level: "safe", mean: 0.25 }]);
});

Deno.test("report HTML is the Markdown converted once: headings, tables, figures, commands; raw HTML shown as text", () => {
  const html = reportHtml({
    title: "R & D",
    sections: [{
      heading: "S",
      paragraphs: ["`a|b` is **bold** <script>x</script>"],
      tables: [{ caption: "T", rows: [{ k: "x|y", v: 1 }] }],
      figures: [{ file: "figures/f.svg", caption: "F" }],
      commands: ["deno task x > out"],
      sources: ["runs/r"],
    }],
  });
  assert.ok(html.startsWith('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>R &amp; D</title>'), html);
  for (
    const part of [
      "<h1>R &amp; D</h1>",
      "<h2>S</h2>",
      "<code>a|b</code> is <strong>bold</strong> &lt;script&gt;x&lt;/script&gt;",
      "<p><strong>T</strong></p>",
      "<th>k</th>",
      "<td>x|y</td>",
      '<img src="figures/f.svg" alt="F">',
      "<em>F</em>",
      '<pre><code class="language-sh">deno task x &gt; out\n</code></pre>',
      "<li><code>runs/r</code></li>",
    ]
  ) assert.ok(html.includes(part), `${part} in ${html}`);
  assert.ok(!html.includes("<script>"));
});

Deno.test("report: budget sentence from the cells' configs and the steps of finished runs that train", () => {
  const cell = (epochs: number, evalEvery: number) =>
    ({ config: { epochs_per_stage: epochs, eval_every: evalEvery, patience: 3 } }) as unknown as Cell;
  const row = (steps: number | null) => ({ steps }) as ResultRow;
  assert.equal(
    budgetSentence([cell(40, 4), cell(10, 4), cell(40, 4)], [row(0), row(120), row(null), row(300), row(200)]),
    "Training budget: up to 10/40 epochs per stage, validation every 4 epoch(s), a stage stops after 3 " +
      "validation(s) without a new best; the 3 finished run(s) that train took 120–300 steps (median 200).",
  );
  assert.match(budgetSentence([cell(5, 1)], [row(0)]), /; no run that trains has finished yet\.$/);
});

Deno.test("report: runs whose best validation is the last epoch of the last stage are flagged per cell", () => {
  const config = { ...defaultConfig(), stages: ["pretrain_sasrec", "end_to_end"], epochs_per_stage: 40 };
  const run = (model: string, seed: number, steps: number, stage: string, epoch: number) => ({
    cell: { id: `${model}-${seed}`, values: { model, seed }, config } as Cell,
    row: { id: `${model}-${seed}`, values: { model, seed }, steps, best: { stage, epoch } } as unknown as ResultRow,
  });
  const runs = [
    run("bprmf", 1, 640, "end_to_end", 39),
    run("bprmf", 2, 640, "end_to_end", 39),
    run("bprmf", 3, 600, "end_to_end", 35),
    run("sasrec", 1, 500, "pretrain_sasrec", 39), // last epoch, but of an earlier stage
    run("pop", 1, 0, "end_to_end", 39), // nothing trained
  ];
  const results = (rs: typeof runs) =>
    ({ cells: rs.map((r) => r.cell), rows: rs.map((r) => r.row), axes: { model: [] } }) as unknown as GridResults;
  assert.deepEqual(stillImprovingSentences(results(runs)), [
    "Still improving when the budget ran out (best validation at the last epoch of the last stage, so these runs " +
    "may be under-trained): model=bprmf (2 of 3).",
  ]);
  assert.deepEqual(stillImprovingSentences(results(runs.slice(2))), []);
});

Deno.test("report: resumed runs are named", () => {
  const row = (id: string, resumed: boolean) => ({ id, resumed }) as ResultRow;
  assert.deepEqual(resumedSentences([row("a-1", false), row("b-2", true), row("c-3", true)]), [
    "Interrupted and resumed from the last checkpoint: `b-2`, `c-3`.",
  ]);
  assert.deepEqual(resumedSentences([row("a-1", false)]), []);
});

Deno.test("report: wall-clock sentence sums and takes the median of finished runs only", () => {
  const row = (t: number | null) => ({ wall_time_s: t }) as Parameters<typeof wallTimeSentence>[0][number];
  assert.equal(
    wallTimeSentence([row(10), row(null), row(30), row(20)]),
    "Wall-clock time of the 3 finished run(s): 1.0 min in total, 20 s median per run " +
      "(on a 2-core machine shared with other work, so runs that overlapped slowed each other).",
  );
  assert.equal(wallTimeSentence([row(null)]), "No run has finished yet.");
});
