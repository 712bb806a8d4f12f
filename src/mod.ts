/**
 * The kit's entry module for notebooks and scripts: re-exports only (no logic here), grouped by job. Notebooks
 * import from `../src/mod.ts` and nothing deeper. Every example below runs in the suite (`deno test --doc src/mod.ts`).
 *
 * @module
 */

/**
 * Backend and configs: `initBackend()` picks the tfjs backend (`UR4REC_BACKEND`, default wasm); `loadConfig(file,
 * sets)` reads a YAML config with `key=value` overrides (errors: `UserError` naming the key).
 *
 * @example
 * ```ts
 * import { initBackend, loadConfig } from "./mod.ts";
 * await initBackend();
 * const config = await loadConfig("configs/smoke.yaml", ["epochs_per_stage=1"]);
 * if (config.dataset !== "synthetic" || config.epochs_per_stage !== 1) throw new Error("unexpected config");
 * ```
 */
export { initBackend } from "./backend/backend.ts";
export { loadConfig } from "./config/load.ts";
export type { Config } from "./config/schema.ts";

/**
 * Training and its records: `train(config, dir, options)` writes a run directory (metrics.jsonl, summary.json, ...)
 * and returns its summary; `readMetrics(dir)` reads metrics.jsonl back; `epochRecordsOf`/`stepRecordsOf` select
 * its epoch and step records.
 *
 * @example
 * ```ts
 * import { epochRecordsOf, initBackend, loadConfig, readMetrics, stepRecordsOf, train } from "./mod.ts";
 * await initBackend();
 * const dir = await Deno.makeTempDir();
 * const sets = ["synthetic_users=40", "synthetic_items=50", "epochs_per_stage=1", "sasrec_hidden_dim=8"];
 * const summary = await train(await loadConfig("configs/smoke.yaml", sets), dir, { quiet: true });
 * const records = await readMetrics(dir);
 * if (summary.status !== "completed" || epochRecordsOf(records).length !== 1) throw new Error(summary.status);
 * if (stepRecordsOf(records).length !== summary.steps) throw new Error("one step record per step");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export { train } from "./train/trainer.ts";
export { epochRecordsOf, readMetrics, stepRecordsOf } from "./run/metrics.ts";
export type { MetricsRecord, NanReport, RunSummary } from "./run/records.ts";

/**
 * The NaN study: `nanEraConfig(profile, dataDir, sets)` is the NaN-era config (`GUARDED_TRAIN_SETS` make it train
 * under the NaN guard); `investigate(config, dir?)` probes every layer and returns the NaN report.
 *
 * @example
 * ```ts
 * import { GUARDED_TRAIN_SETS, initBackend, investigate, nanEraConfig } from "./mod.ts";
 * await initBackend();
 * const config = await nanEraConfig("smoke", "data", ["dataset=synthetic", "synthetic_users=40"]);
 * const report = await investigate(config);
 * if (report.first_nonfinite?.kind !== "nan") throw new Error("the NaN-era config should produce a NaN");
 * if (!GUARDED_TRAIN_SETS.includes("nan_policy=skip")) throw new Error("guarded runs skip non-finite batches");
 * ```
 */
export { GUARDED_TRAIN_SETS, nanEraConfig } from "./experiments/nan_study.ts";
export { investigate } from "./train/investigate.ts";

/**
 * Grids: `runOrLoadGrid(source, options)` runs a grid into its directory (or only loads it with `run: false`) and
 * reads it back, undefined when nothing is there; `gridStatusRows` tabulates the grids read; `formatValue` shows an
 * axis value as in cell ids; `exists(path)` says whether a file or directory is there.
 *
 * @example
 * ```ts
 * import { exists, formatValue, gridStatusRows, runOrLoadGrid } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * if (!(await exists(dir)) || await exists(`${dir}/grid.json`)) throw new Error("exists");
 * const source = { file: "configs/grids/nan_ablation_smoke.yaml", dir, run: false };
 * const results = await runOrLoadGrid(source, { dataDir: "data", print: () => {} });
 * if (results !== undefined || gridStatusRows({}).length !== 0) throw new Error("an empty directory holds no grid");
 * if (formatValue(0.1) !== "0.1" || formatValue(true) !== "true") throw new Error("axis values as text");
 * await Deno.remove(dir);
 * ```
 */
export { type GridSource, gridStatusRows, runOrLoadGrid } from "./report/run_or_load.ts";
export { formatValue } from "./experiments/grid.ts";
export { exists } from "./util/fs.ts";

/**
 * Reading grid results: `readGridResults(dir)` (cells, rows, summary), `shownPath` and `ablateCommand` (paths
 * relative to the repository root), `findCell` (a summary cell by axis values), `runDirs`.
 *
 * @example
 * ```ts
 * import { ablateCommand, shownPath } from "./mod.ts";
 * if (shownPath("/repo/runs/a", "/repo") !== "runs/a") throw new Error("relative to the root");
 * const command = ablateCommand("/repo/configs/grids/g.yaml", "/repo/runs/g", "/repo");
 * if (command !== "deno task ablate run --grid configs/grids/g.yaml --out runs/g") throw new Error(command);
 * ```
 */
export {
  ablateCommand,
  findCell,
  type GridResults,
  readGridResults,
  readGridResultsIfExists,
  runDirs,
  shownPath,
} from "./report/read.ts";

/**
 * Tables, chart rows and sentences computed from a grid summary: per-cell table, ablation rows, main-effect points,
 * model comparison rows; the NaN answer, main-effect sentences and interval-aware comparisons. A metric with its
 * interval is one type everywhere, `MeanCi` (mean, 95% half-width or null with one seed, n); `ciBounds` gives its
 * `[lo, hi]` when known.
 *
 * @example
 * ```ts
 * import { ciBounds, compareSentence, formatMeanCi } from "./mod.ts";
 * const a = { label: "A", score: { mean: 0.8, ci95: 0.1, n: 3 } };
 * const b = { label: "B", score: { mean: 0.2, ci95: 0.1, n: 3 } };
 * if (formatMeanCi(a.score) !== "0.8000 ± 0.1000") throw new Error(formatMeanCi(a.score));
 * if (ciBounds({ mean: 0.5, ci95: null, n: 1 }) !== null) throw new Error("one seed: no interval");
 * const sentence = compareSentence(a, b, "NDCG@10");
 * if (sentence !== "A beats B (NDCG@10 0.8000 ± 0.1000 vs 0.2000 ± 0.1000).") throw new Error(sentence);
 * ```
 */
export { ciBounds, type MeanCi } from "./experiments/summary.ts";
export {
  ablationRows,
  cellTable,
  comparisonRows,
  formatMeanCi,
  gridSubtitle,
  mainEffectPoints,
  modelLabel,
  protocolLabel,
} from "./report/rows.ts";
export { compareSentence, effectSentences, nanAnswer, pairedSentence, type Scored } from "./report/sentences.ts";

/**
 * Paired comparisons by seed: `pairedComparisons(results, baseline, metrics)` compares every cell group of a grid with
 * the baseline group (axis values, e.g. `{ model: "sasrec" }`) on metrics read from results rows (`RowMetric`;
 * `splitMetric("NDCG@10")` is test NDCG@10, `sliceMetric("NDCG@10", "pop_tail")` that of the tail items' users,
 * `PAIRED_METRICS` the write-up's); `pairedTable`, `pairedSection` and
 * `pairedChartRows` (for `pairedDifferenceChart`) render them; `comparePaired` and `pairRowsBySeed` are the statistics.
 */
export {
  comparePaired,
  type PairedComparison,
  pairRowsBySeed,
  type RowMetric,
  type RowSelector,
  sliceMetric,
  splitMetric,
} from "./experiments/paired.ts";
export {
  groupLabel,
  PAIRED_METRICS,
  pairedChartRows,
  pairedComparisons,
  type PairedOutcome,
  pairedSection,
  pairedTable,
} from "./report/paired_section.ts";

/**
 * Reports: `gridSection` (a grid's section), `reportMarkdown`/`reportHtml` (rendered once as Markdown, converted to
 * HTML); the write-up of notebook 04: `writeUpSources`, `modelTable`, `comparisonSentences`, `externalSentences`,
 * `REFERENCES`, `pairedReportSection` (a model grid against `PAIRED_BASELINE`, with its chart saved),
 * `buildResultsReport` (saves its figures) and `writeResultsReport` (RESULTS.md and RESULTS.html).
 *
 * @example
 * ```ts
 * import { buildResultsReport, reportHtml, reportMarkdown, writeUpSources } from "./mod.ts";
 * const reportDir = await Deno.makeTempDir();
 * const missing = await writeUpSources("full", { root: "/repo", outDir: reportDir });
 * const report = await buildResultsReport({ profile: "full", root: "/repo", reportDir, grids: {}, missing });
 * const md = reportMarkdown(report);
 * if (!md.includes("deno task ablate run --grid configs/grids/full_loo.yaml --out runs/results/full_loo")) {
 *   throw new Error(md);
 * }
 * if (!reportHtml(report).includes("<h2>Not run yet</h2>")) throw new Error("HTML from the same Markdown");
 * await Deno.remove(reportDir, { recursive: true });
 * ```
 */
export { gridSection, type GridSectionOptions } from "./report/section.ts";
export { type Report, reportHtml, reportMarkdown, type ReportSection } from "./report/render.ts";
export {
  comparisonSentences,
  externalSentences,
  modelTable,
  PAIRED_BASELINE,
  PROTOCOLS,
  REFERENCES,
  UR4REC,
  type WriteUpSource,
  writeUpSources,
} from "./report/write_up.ts";
export {
  ablationAnswer,
  buildResultsReport,
  curveRunDir,
  pairedReportSection,
  sasrecProtocolRun,
  sasrecProtocolSentences,
  saveFigure,
  writeResultsReport,
} from "./report/results_report.ts";

/**
 * Charts: each takes records or computed rows and an options object of Plot overrides (`title`, `subtitle` for the
 * data and protocol, e.g. `protocolLabel(config)`), and returns a detached element; `show` displays it in a notebook,
 * `saveSvg`/`savePng` save it (a figure's title, subtitle and legends included). `pairedDifferenceChart` draws paired
 * differences with their intervals and verdicts.
 *
 * @example
 * ```ts
 * import { attentionMaskChart, mainEffects, show } from "./mod.ts";
 * const mask = attentionMaskChart({ seqLen: 4, pads: 1, side: "left" }, { title: "mask" });
 * if (mask.querySelectorAll("rect").length < 16) throw new Error("one cell per query/key pair");
 * const effects = mainEffects([{ axis: "mask", level: "safe", mean: 0.1 }], { metric: "NaN rate" });
 * if (!effects.outerHTML.includes("mean NaN rate")) throw new Error("y label");
 * if (typeof show(effects) !== "object") throw new Error("displayable");
 * ```
 */
export { type Chart, type ChartOptions } from "./viz/chart.ts";
export { ablationNanRate, ablationNdcg, mainEffects, modelComparison, type ModelMetricRow } from "./viz/grid_charts.ts";
export { activationHeatmap, attentionMaskChart, paddingChart } from "./viz/nan_charts.ts";
export { pairedDifferenceChart, type PairedDifferenceRow } from "./viz/paired_chart.ts";
export { gradNormCurves, learningRateCurves, lossCurves } from "./viz/plots.ts";
export { savePng, saveSvg, show } from "./viz/display.ts";

/**
 * Tables and live progress in notebooks: `table(rows)` displays rows (or a danfojs frame); `liveTraining(title)`
 * gives an `onEpoch` callback for `train` and a chart that updates; `liveGrid(title)` a grid's progress display.
 *
 * @example
 * ```ts
 * import { liveGrid, liveTraining, table } from "./mod.ts";
 * if (typeof table([{ a: 1 }]) !== "object") throw new Error("displayable");
 * const live = liveTraining("run");
 * if (typeof live.onEpoch !== "function") throw new Error("an onEpoch callback");
 * await live.done();
 * const grid = liveGrid("grid");
 * if (typeof grid.progress !== "function") throw new Error("a progress factory");
 * await grid.done();
 * ```
 */
export { table } from "./viz/tables.ts";
export { liveGrid, liveTraining } from "./viz/live.ts";
