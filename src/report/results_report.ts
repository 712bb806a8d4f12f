/**
 * The results report of notebook 04 assembled from the grids it read (see write_up.ts): a summary, one section per
 * model grid and its paired comparisons by seed (when it has 2 seeds or more), the external references, SASRec on the SASRec.pytorch protocol, the NaN ablation, training curves
 * and the grids not run yet; figures saved as SVG and PNG next to it. Written as RESULTS.md and RESULTS.html.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunSummary } from "../run/records.ts";
import { readMetrics } from "../run/metrics.ts";
import { runDirOf } from "../experiments/runner.ts";
import { readJsonIfExists, writeFileAtomic } from "../util/fs.ts";
import { savePng, saveSvg } from "../viz/display.ts";
import { type Chart } from "../viz/chart.ts";
import { ablationNanRate, mainEffects, modelComparison } from "../viz/grid_charts.ts";
import { lossCurves } from "../viz/plots.ts";
import { pairedDifferenceChart } from "../viz/paired_chart.ts";
import { ablateCommand, type GridResults, readCommit, shownPath } from "./read.ts";
import { type Report, reportHtml, reportMarkdown, type ReportSection } from "./render.ts";
import { ablationRows, comparisonRows, gridSubtitle, mainEffectPoints, protocolLabel } from "./rows.ts";
import { PAIRED_METRICS, pairedChartRows, pairedComparisons, pairedSection } from "./paired_section.ts";
import { gridSection } from "./section.ts";
import { textSections } from "./texts_report.ts";
import { nanAnswer } from "./sentences.ts";
import {
  comparisonSentences,
  externalSentences,
  gridName,
  PAIRED_BASELINE,
  PROTOCOLS,
  REFERENCES,
  referenceTable,
  UR4REC,
  type WriteUpSource,
} from "./write_up.ts";

/** What the results report is built from. */
export interface ResultsInput {
  /** The profile the notebook ran (`smoke` or `full`). */
  profile: string;
  /** The repository root; paths are shown relative to it. */
  root: string;
  /** The folder RESULTS.md/.html and `figures/` are written to. */
  reportDir: string;
  /** The grids read, by role (`loo`, `sampled`, `nan_ablation`, `dropout_init`). */
  grids: Record<string, GridResults>;
  /** The grids whose directory holds no grid yet. */
  missing: WriteUpSource[];
}

/** The run directory of SASRec on the SASRec.pytorch protocol (full profile) and the command that makes it. */
export function sasrecProtocolRun(root: string): { dir: string; command: string } {
  const dir = join(root, "runs", "results", "sasrec_ml100k", "run");
  return { dir, command: `deno task train --config configs/sasrec_ml100k.yaml --out ${shownPath(dir, root)}` };
}

/** Sentences on the SASRec.pytorch-protocol run against SASRec.pytorch's numbers; none without its test metrics. */
export async function sasrecProtocolSentences(profile: string, root: string): Promise<string[]> {
  const run = profile === "full"
    ? await readJsonIfExists<RunSummary>(join(sasrecProtocolRun(root).dir, "summary.json"))
    : undefined;
  if (!run?.test) return [];
  const part = (metric: "HR@10" | "NDCG@10") => {
    const [ours, theirs] = [run.test![metric], REFERENCES.sasrecPytorch[metric]];
    return `${metric} ${ours.toFixed(4)} vs ${theirs.toFixed(2)} (${ours >= theirs ? "+" : ""}${
      (ours - theirs).toFixed(4)
    })`;
  };
  return [
    `SASRec (configs/sasrec_ml100k.yaml, seed ${run.seed}, test, checkpoint chosen on validation over ${run.steps} ` +
    `training steps) vs SASRec.pytorch: ${part("HR@10")}, ${part("NDCG@10")}.`,
    `Validation at the selected checkpoint: HR@10 ${run.val!["HR@10"].toFixed(4)}, NDCG@10 ` +
    `${run.val!["NDCG@10"].toFixed(4)}; ${(run.wall_time_s / 60).toFixed(1)} min of training.`,
  ];
}

/** The NaN ablation's answer in sentences (see `nanAnswer`), or that it has not been run. */
export function ablationAnswer(grids: Record<string, GridResults>): string[] {
  const ablation = grids.nan_ablation;
  return ablation === undefined ? ["The NaN ablation has not been run."] : nanAnswer(ablation.summary, ablation.axes);
}

/** The run directory of the first completed UR4Rec (fixed, leak_free) run of the leave-one-out grid, if any. */
export function curveRunDir(grids: Record<string, GridResults>): string | undefined {
  const grid = grids.loo;
  const row = grid?.rows.find((r) =>
    r.status === "completed" && Object.entries(UR4REC).every(([k, v]) => r.values[k] === v)
  );
  return row && runDirOf(grid.dir, row.id);
}

/** Saves a chart as `figures/NAME.svg` and `.png` under `reportDir`; returns the SVG path relative to the report. */
export async function saveFigure(chart: Chart, reportDir: string, name: string): Promise<string> {
  await saveSvg(chart, join(reportDir, "figures", `${name}.svg`));
  await savePng(chart, join(reportDir, "figures", `${name}.png`));
  return `figures/${name}.svg`;
}

/**
 * The paired comparisons of a model grid against `PAIRED_BASELINE` on `PAIRED_METRICS` (see paired_section.ts), with
 * the paired-difference chart of the first metric saved as `figures/paired_<key>`; undefined when the grid cannot be
 * paired (no single baseline group, fewer than 2 seeds in a group) or holds no other group.
 */
export async function pairedReportSection(
  results: GridResults,
  key: string,
  dirs: { root: string; reportDir: string },
): Promise<ReportSection | undefined> {
  const outcomes = pairedComparisons(results, PAIRED_BASELINE, PAIRED_METRICS);
  if (outcomes === undefined || outcomes.length === 0) return undefined;
  const name = gridName(results);
  const metric = PAIRED_METRICS[0].name;
  const chart = pairedDifferenceChart(pairedChartRows(outcomes, metric), {
    metric,
    title: `Paired differences against ${outcomes[0].b}`,
    subtitle: gridSubtitle(results),
  });
  return {
    ...pairedSection(`Paired comparisons: ${name}`, outcomes, metric),
    figures: [{
      file: await saveFigure(chart, dirs.reportDir, `paired_${key}`),
      caption: `Paired differences in ${metric} against ${outcomes[0].b} (${name}), mean and 95% interval`,
    }],
    sources: [shownPath(results.dir, dirs.root)],
  };
}

/** Builds the results report, saving its figures under `input.reportDir/figures` (see the module comment). */
export async function buildResultsReport(input: ResultsInput): Promise<Report> {
  const { profile, root, reportDir, grids, missing } = input;
  const comparisons = comparisonSentences(grids);
  const answer = ablationAnswer(grids);
  const texts = await textSections(grids, { root, save: (chart, name) => saveFigure(chart, reportDir, name) });
  const sections: ReportSection[] = [{
    heading: "Summary",
    paragraphs: [
      `Profile \`${profile}\`. Test metrics are means ± 95% t-intervals across seeds of the grids below; ` +
      `each section names its grid directory, the command that reproduces it and its run directories.`,
      ...(texts[0]?.paragraphs ?? []),
      ...Object.values(comparisons).flatMap((sentences) => sentences.slice(0, 2)), // UR4Rec vs Popularity, SASRec
      ...answer,
    ],
  }, ...texts.slice(1)];
  for (const key of Object.keys(PROTOCOLS)) {
    if (!grids[key]) continue;
    const name = gridName(grids[key]);
    const section = gridSection(`Models: ${name}`, grids[key], { root, effects: false });
    const subtitle = gridSubtitle(grids[key]);
    const models = modelComparison(comparisonRows(grids[key].summary), { title: `Test metrics per model`, subtitle });
    sections.push({
      ...section,
      paragraphs: [`Protocol: ${PROTOCOLS[key]}.`, ...section.paragraphs, ...comparisons[key]],
      figures: [{
        file: await saveFigure(models, reportDir, `models_${key}`),
        caption: `Test metrics per model (${name}), mean and 95% interval`,
      }],
    });
    const paired = await pairedReportSection(grids[key], key, { root, reportDir });
    if (paired) sections.push(paired);
  }
  sections.push({
    heading: "External references",
    paragraphs: [
      ...Object.values(REFERENCES).map((r) => `HR@10 ${r["HR@10"]}, NDCG@10 ${r["NDCG@10"]}: ${r.source}.`),
      ...externalSentences(grids),
    ],
    tables: [{ caption: "Published numbers and ours, side by side", rows: referenceTable(grids) }],
  });
  const sasrec = await sasrecProtocolSentences(profile, root);
  if (sasrec.length > 0) {
    const run = sasrecProtocolRun(root);
    const commit = readCommit(join(run.dir, ".."));
    sections.push({
      heading: "SASRec on the SASRec.pytorch protocol",
      paragraphs: [
        "All ratings as interactions, leave-one-out, target + 99 sampled items the user never rated, pessimistic " +
        "ties; one seed.",
        ...sasrec,
        ...(commit ? [`Run made with the code at commit \`${commit}\`.`] : []),
      ],
      tables: [],
      commands: [run.command],
      sources: [shownPath(run.dir, root)],
    });
  }
  const ablation = grids.nan_ablation;
  if (ablation) {
    const rows = ablationRows(ablation.summary, ablation.axes);
    const subtitle = gridSubtitle(ablation);
    const nanRate = ablationNanRate(rows, { title: "Runs with NaN per ablation cell", subtitle });
    const effects = mainEffects(mainEffectPoints(ablation.summary, "nan_rate"), {
      metric: "NaN rate",
      title: "Main effects on the NaN rate",
      subtitle,
    });
    const section = gridSection("NaN ablation", ablation, { root });
    sections.push({
      ...section,
      paragraphs: [...answer, ...section.paragraphs],
      figures: [
        { file: await saveFigure(nanRate, reportDir, "ablation_nan_rate"), caption: "NaN rate per cell" },
        {
          file: await saveFigure(effects, reportDir, "ablation_nan_main_effects"),
          caption: "Main effects on the NaN rate",
        },
      ],
    });
  }
  if (grids.dropout_init) {
    sections.push(gridSection("Dropout and init std on the repaired model", grids.dropout_init, { root }));
  }
  const curveDir = curveRunDir(grids);
  if (curveDir) {
    const curves = lossCurves(await readMetrics(curveDir), {
      title: "UR4Rec (fixed, leak_free) training loss, one run",
      subtitle: protocolLabel(grids.loo.cells[0].config),
    });
    const figure = await saveFigure(curves, reportDir, "ur4rec_training_loss");
    sections.push({
      heading: "Training curves",
      paragraphs: [`Loss per term and stage of one UR4Rec (fixed, leak_free) run.`],
      figures: [{ file: figure, caption: "UR4Rec (fixed, leak_free) training loss" }],
      sources: [shownPath(curveDir, root)],
    });
  }
  if (missing.length > 0) {
    sections.push({
      heading: "Not run yet",
      paragraphs: [
        ...missing.map((m) => `${m.key}: no grid directory at \`${shownPath(m.dir, root)}\`.`),
        ...archivedReports(reportDir).map((r) =>
          `An earlier report, generated from grids whose run directories are not here: [${r}](${r}).`
        ),
      ],
      commands: missing.map((m) => ablateCommand(m.file, m.dir, root)),
    });
  }
  return { title: "UR4Rec lab: results", sections };
}

/** The earlier reports kept under `reportDir/archive/<name>/RESULTS.md`, as paths relative to `reportDir`, sorted. */
export function archivedReports(reportDir: string): string[] {
  const archive = join(reportDir, "archive");
  let names: string[];
  try {
    names = [...Deno.readDirSync(archive)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.filter((n) => existsSync(join(archive, n, "RESULTS.md"))).map((n) => `archive/${n}/RESULTS.md`);
}

/** Writes `dir/RESULTS.md` and `dir/RESULTS.html` atomically; returns their paths. */
export async function writeResultsReport(report: Report, dir: string): Promise<[string, string]> {
  const [md, html] = [join(dir, "RESULTS.md"), join(dir, "RESULTS.html")];
  await writeFileAtomic(md, reportMarkdown(report));
  await writeFileAtomic(html, reportHtml(report));
  return [md, html];
}
