import assert from "node:assert/strict";
import { join } from "node:path";
import { buildResultsReport, writeResultsReport } from "../src/report/results_report.ts";
import { readGridResults } from "../src/report/read.ts";
import { gridStatusRows, runOrLoadGrid } from "../src/report/run_or_load.ts";
import { comparisonSentences, externalSentences, modelTable, writeUpSources } from "../src/report/write_up.ts";
import { exists, writeJsonAtomic } from "../src/util/fs.ts";
import { tempDir } from "./helpers.ts";
import { fakeGrid, seeds } from "./report_fixtures.ts";

const UR4REC = { model: "ur4rec", retriever_mode: "fixed", user_text: "leak_free" };

/** A smoke-like leave-one-out model grid (3 seeds per model) and NaN ablation under `root/runs/notebooks/04`. */
async function smokeGrids(root: string) {
  const out = join(root, "runs", "notebooks", "04");
  const loo = join(out, "models_smoke");
  const axes = { model: ["pop", "sasrec", "ur4rec"], retriever_mode: ["fixed"], user_text: ["leak_free"] };
  await fakeGrid(loo, join(root, "configs", "grids", "models_smoke.yaml"), axes, [
    ...seeds({ model: "pop", retriever_mode: "fixed", user_text: "leak_free" }, [0.1, 0.2, 0.3]),
    ...seeds({ model: "sasrec", retriever_mode: "fixed", user_text: "leak_free" }, [0.7, 0.8, 0.9]),
    ...seeds(UR4REC, [0.75, 0.8, 0.85]),
  ]);
  const nan = join(out, "nan_ablation_smoke");
  await fakeGrid(
    nan,
    join(root, "configs", "grids", "nan_ablation_smoke.yaml"),
    { attention_mask: ["torch", "safe"] },
    [
      ...seeds({ attention_mask: "torch" }, [null], "diverged"),
      ...seeds({ attention_mask: "safe" }, [0.25]),
    ],
  );
  const grids = { loo: await readGridResults(loo), nan_ablation: await readGridResults(nan) };
  const curveRun = grids.loo.rows.find((r) => r.values.model === "ur4rec")!.id;
  await Deno.writeTextFile(join(loo, "runs", curveRun, "metrics.jsonl"), ""); // the training-curve run: no records
  return { out, grids, curveRun };
}

Deno.test("runOrLoadGrid loads a grid, prints its command and failed cells, and throws on failures unless told", async () => {
  await using tmp = await tempDir();
  const dir = join(tmp.path, "g");
  await fakeGrid(dir, "configs/grids/g.yaml", { mask: ["torch", "safe"] }, [
    ...seeds({ mask: "torch" }, [0.1]),
    ...seeds({ mask: "safe" }, [0.2]),
  ]);
  const failedId = (await readGridResults(dir)).rows[1].id;
  await writeJsonAtomic(join(dir, "runs", failedId, "summary.json"), { status: "failed", error: "boom" });
  const lines: string[] = [];
  const source = { file: "configs/grids/g.yaml", dir, run: false };
  await assert.rejects(
    runOrLoadGrid(source, { dataDir: "data", root: tmp.path, print: (l) => lines.push(l) }),
    new Error(`1 cell(s) of ${dir} failed (logs above)`),
  );
  assert.deepEqual(lines, [
    `loading ${dir}  (deno task ablate run --grid configs/grids/g.yaml --out g)`,
    `failed: ${failedId}: boom (log: ${join(dir, "runs", failedId, "log.txt")})`,
  ]);
  const results = await runOrLoadGrid(source, {
    dataDir: "data",
    root: tmp.path,
    failOnFailed: false,
    print: () => {},
  });
  assert.deepEqual(gridStatusRows({ g: results! }, tmp.path), [
    {
      key: "g",
      grid: "configs/grids/g.yaml",
      dir: "g",
      cells: 2,
      finished: 1,
      completed: 1,
      diverged: 0,
      failed: 1,
      pending: 0,
    },
  ]);
  const absent = { ...source, dir: join(tmp.path, "absent") };
  assert.equal(await runOrLoadGrid(absent, { dataDir: "data", print: () => {} }), undefined);
});

Deno.test("write-up sources: full reads the result grids, smoke reuses notebook 02's ablation when present", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const full = await writeUpSources("full", { root, outDir: join(root, "out") });
  assert.deepEqual(full.map((s) => [s.key, s.dir, s.run]), [
    ["texts_loo", join(root, "runs", "results", "texts_loo"), false],
    ["texts_sampled", join(root, "runs", "results", "texts_sampled"), false],
    ["ties_loo", join(root, "runs", "results", "ties_loo"), false],
    ["loo", join(root, "runs", "results", "full_loo"), false],
    ["sampled", join(root, "runs", "results", "full_sampled"), false],
    ["nan_ablation", join(root, "runs", "results", "nan_ablation"), false],
    ["dropout_init", join(root, "runs", "results", "dropout_init"), false],
  ]);
  const outDir = join(root, "runs", "notebooks", "04_write_up");
  const own = await writeUpSources("smoke", { root, outDir });
  assert.deepEqual(own.map((s) => [s.key, s.dir, s.run]), [
    ["loo", join(outDir, "models_smoke"), true],
    ["nan_ablation", join(outDir, "nan_ablation_smoke"), true],
  ]);
  const from02 = join(root, "runs", "notebooks", "02_ablations", "nan_ablation_smoke");
  await fakeGrid(from02, "configs/grids/nan_ablation_smoke.yaml", { attention_mask: ["safe"] }, [
    ...seeds({ attention_mask: "safe" }, [0.2]),
  ]);
  assert.deepEqual((await writeUpSources("smoke", { root, outDir }))[1], {
    key: "nan_ablation",
    file: join(root, "configs", "grids", "nan_ablation_smoke.yaml"),
    dir: from02,
    run: false,
  });
});

Deno.test("results report from grid directories: sections, comparisons, references, figures, RESULTS.md/.html", async () => {
  await using tmp = await tempDir();
  const root = tmp.path;
  const { out, grids, curveRun } = await smokeGrids(root);
  assert.deepEqual(modelTable(grids).map((r) => [r.grid, r.protocol, r.model, r["test NDCG@10"]]), [
    ["models_smoke", "loo", "Popularity", "0.2000 ± 0.2484"],
    ["models_smoke", "loo", "SASRec", "0.8000 ± 0.2484"],
    ["models_smoke", "loo", "UR4Rec (fixed, leak_free)", "0.8000 ± 0.1242"],
  ]);
  assert.deepEqual(comparisonSentences(grids), {
    loo: [
      "models_smoke: UR4Rec (fixed, leak_free) beats Popularity (test NDCG@10 0.8000 ± 0.1242 vs 0.2000 ± 0.2484).",
      "models_smoke: UR4Rec (fixed, leak_free) does not beat SASRec: the 95% intervals overlap " +
      "(test NDCG@10 0.8000 ± 0.1242 vs 0.8000 ± 0.2484).",
      "models_smoke: SASRec beats Popularity (test NDCG@10 0.8000 ± 0.2484 vs 0.2000 ± 0.2484).",
    ],
  });
  assert.deepEqual(externalSentences(grids), [
    "The original's reported best (HR@10 0.4606, NDCG@10 0.2527) is 0.028 HR@10 and 0.028 NDCG@10 above " +
    "Popularity under its own protocol.",
    "No sampled-protocol grid in this profile: our numbers are not compared with the references.",
  ]);

  const missing = [{
    key: "sampled",
    file: join(root, "configs", "grids", "s.yaml"),
    dir: join(root, "s"),
    run: false,
  }];
  const reportDir = join(out, "report");
  const report = await buildResultsReport({ profile: "smoke", root, reportDir, grids, missing });
  assert.deepEqual(report.sections.map((s) => s.heading), [
    "Summary",
    "Models: models_smoke",
    "Paired comparisons: models_smoke",
    "External references",
    "NaN ablation",
    "Training curves",
    "Not run yet",
  ]);
  assert.deepEqual(report.sections[5].sources, [`runs/notebooks/04/models_smoke/runs/${curveRun}`]);
  assert.deepEqual(report.sections[0].paragraphs.slice(1), [
    ...comparisonSentences(grids).loo.slice(0, 2),
    "2 of 2 runs finished.",
    "Axes that change the NaN rate (largest change between levels): attention_mask (-1.00).",
  ]);
  assert.deepEqual(report.sections[6].commands, ["deno task ablate run --grid configs/grids/s.yaml --out s"]);
  const figures = report.sections.flatMap((s) => s.figures ?? []).map((f) => f.file);
  assert.deepEqual(figures, [
    "figures/models_loo.svg",
    "figures/paired_loo.svg",
    "figures/ablation_nan_rate.svg",
    "figures/ablation_nan_main_effects.svg",
    "figures/ur4rec_training_loss.svg",
  ]);
  for (const f of figures) {
    assert.ok(await exists(join(reportDir, f)) && await exists(join(reportDir, f.replace(/svg$/, "png"))), f);
  }
  const [md, html] = await writeResultsReport(report, reportDir);
  assert.ok((await Deno.readTextFile(md)).includes("| ur4rec | fixed | leak_free | 3 | 0.00 | 1.6000 ± 0.2484 |"));
  const page = await Deno.readTextFile(html);
  assert.ok(page.includes('<img src="figures/models_loo.svg" alt="Test metrics per model (models_smoke), mean'));
  assert.equal((page.match(/<table>/g) ?? []).length, 4, "models, paired comparisons, references, ablation");
  const markdown = await Deno.readTextFile(md);
  assert.ok(markdown.includes("| Popularity − SASRec | test NDCG@10 | 3 | -0.6000 | [-0.6000, -0.6000] | < 0.001 |"));
  assert.ok(markdown.includes("| UR4Rec (fixed, leak_free) − SASRec | test NDCG@10 | 3 | +0.0000 |"), markdown);
  assert.ok(markdown.includes("UR4Rec (fixed, leak_free) and SASRec are not distinguishable on test NDCG@10"));
});
