/**
 * The write-up of notebook 04: which grid directories it reads per profile, its tables, and the sentences that
 * compare models with each other and with external references (assembled in results_report.ts).
 * Every number comes from a grid or run directory the report names; the references are constants with sources.
 */
import { join, resolve } from "node:path";
import { findCell, type GridResults, readGridResultsIfExists } from "./read.ts";
import { cellTable, formatMeanCi, modelLabel } from "./rows.ts";
import type { GridSource } from "./run_or_load.ts";
import { compareSentence, type Scored } from "./sentences.ts";

/**
 * A grid the write-up reads, with its role: `texts_loo`, `texts_sampled`, `ties_loo` (the text question,
 * texts_report.ts), `loo`, `sampled` (the original recipe's model grids), `nan_ablation`, `dropout_init`.
 */
export interface WriteUpSource extends GridSource {
  key: string;
}

/** The protocol of each model grid role. */
export const PROTOCOLS: Record<string, string> = {
  loo: "leave-one-out, full ranking over all items (history masked), pessimistic ties",
  sampled: "the original's 80/10/10 split, target + 99 sampled items, ties in the target's favour",
};

/** The UR4Rec cell the comparisons and training curves are about. */
export const UR4REC = { model: "ur4rec", retriever_mode: "fixed", user_text: "leak_free" };

/** The baseline the model grids' paired comparisons are against (results_report.ts): SASRec. */
export const PAIRED_BASELINE = { model: "sasrec" };

/** A published result: test (or validation) HR@10 and NDCG@10 and where they come from. */
export interface Reference {
  /** Its name in the references table. */
  name: string;
  /** The split, candidates and data it was measured on. */
  protocol: string;
  "HR@10": number;
  "NDCG@10": number;
  source: string;
}

/** External references, compared with our numbers in generated sentences. */
export const REFERENCES = {
  original: {
    name: "original UR4Rec (reported)",
    protocol: "validation; the original's 80/10/10 split, target + 99 sampled items, ties in the target's favour",
    "HR@10": 0.4606,
    "NDCG@10": 0.2527,
    source: "the original UR4Rec's best reported result (TRAINING_REPORT.md, stage pretrain_retriever, validation, " +
      "sampled 100 candidates): docs/original.md#reported-results",
  },
  originalPopularity: {
    name: "Popularity, original protocol (spec)",
    protocol: "validation; the original's 80/10/10 split, target + 99 sampled items, ties in the target's favour",
    "HR@10": 0.433,
    "NDCG@10": 0.225,
    source: "Popularity under the original's protocol, validation, mean of 5 seeds: docs/original.md#reported-results",
  },
  sasrecPytorch: {
    name: "SASRec.pytorch",
    protocol: "test; leave-one-out, all ratings as interactions, target + 99 sampled unrated items",
    "HR@10": 0.70,
    "NDCG@10": 0.42,
    source: "SASRec.pytorch (github.com/pmixer/SASRec.pytorch), test, 100 sampled candidates, all ratings as " +
      "interactions; approximate values as cited in the project's issue 8, not re-measured here",
  },
} satisfies Record<string, Reference>;

const FULL_GRIDS: Record<string, string> = {
  texts_loo: "texts_loo",
  texts_sampled: "texts_sampled",
  ties_loo: "ties_loo",
  loo: "full_loo",
  sampled: "full_sampled",
  nan_ablation: "nan_ablation",
  dropout_init: "dropout_init",
};

/**
 * The grids of a profile. Full: the result grids under `root/runs/results`, read only. Smoke: models_smoke run into
 * `outDir`, and the NaN ablation of notebook 02 (`outDir/../02_ablations`) when that exists, else run into `outDir`.
 */
export async function writeUpSources(
  profile: string,
  dirs: { root: string; outDir: string },
): Promise<WriteUpSource[]> {
  const { root, outDir } = dirs;
  const gridFile = (name: string) => join(root, "configs", "grids", `${name}.yaml`);
  if (profile === "full") {
    return Object.entries(FULL_GRIDS).map(([key, name]) => ({
      key,
      file: gridFile(name),
      dir: join(root, "runs", "results", name),
      run: false,
    }));
  }
  const fromNotebook02 = resolve(outDir, "..", "02_ablations", "nan_ablation_smoke");
  const ablation = (await readGridResultsIfExists(fromNotebook02))
    ? { dir: fromNotebook02, run: false }
    : { dir: resolve(outDir, "nan_ablation_smoke"), run: true };
  return [
    { key: "loo", file: gridFile("models_smoke"), dir: resolve(outDir, "models_smoke"), run: true },
    { key: "nan_ablation", file: gridFile("nan_ablation_smoke"), ...ablation },
  ];
}

/** A model grid's name in the report: its grid file's name. */
export function gridName(results: GridResults): string {
  return results.grid.split("/").pop()!.replace(/\.yaml$/, "");
}

/** The model grid roles present in `grids`, in protocol order. */
function modelGrids(grids: Record<string, GridResults>): string[] {
  return Object.keys(PROTOCOLS).filter((k) => grids[k]);
}

/** One table row per model cell of every model grid: grid, protocol, model and its metrics (mean ± 95% CI). */
export function modelTable(grids: Record<string, GridResults>): Record<string, unknown>[] {
  return modelGrids(grids).flatMap((k) =>
    grids[k].summary.cells.map((c) => ({
      grid: gridName(grids[k]),
      protocol: k,
      model: modelLabel(c.values),
      ...cellTable({ ...grids[k].summary, cells: [c] }, {})[0],
    }))
  );
}

/** The test NDCG@10 of the cell matching `values`, labelled; undefined without such a cell. */
function scored(results: GridResults, values: Record<string, unknown>): Scored | undefined {
  const cell = findCell(results.summary, values);
  return cell === undefined ? undefined : { label: modelLabel(cell.values), score: cell.ndcg10 };
}

const PAIRS: [Record<string, unknown>, Record<string, unknown>][] = [
  [UR4REC, { model: "pop" }],
  [UR4REC, { model: "sasrec" }],
  [UR4REC, { model: "bprmf" }],
  [{ ...UR4REC, user_text: "shipped" }, UR4REC],
  [{ ...UR4REC, retriever_mode: "faithful" }, UR4REC],
  [{ model: "sasrec" }, { model: "pop" }],
];

/**
 * Per model grid role, the comparisons of test NDCG@10 (see `compareSentence`): UR4Rec (fixed, leak_free) vs
 * Popularity, SASRec and BPR-MF, the shipped texts and the faithful retriever vs it, SASRec vs Popularity; pairs
 * with a missing cell are left out.
 */
export function comparisonSentences(grids: Record<string, GridResults>): Record<string, string[]> {
  return Object.fromEntries(
    modelGrids(grids).map((key) => [
      key,
      PAIRS.flatMap(([a, b]) => {
        const [x, y] = [scored(grids[key], a), scored(grids[key], b)];
        return x && y ? [`${gridName(grids[key])}: ${compareSentence(x, y, "test NDCG@10")}`] : [];
      }),
    ]),
  );
}

/** "metric ours vs theirs (difference)" with `digits` decimals for the reference. */
function versusPart(metric: string, ours: number, theirs: number, digits: number): string {
  return `${metric} ${ours.toFixed(4)} vs ${theirs.toFixed(digits)} (${ours >= theirs ? "+" : ""}${
    (ours - theirs).toFixed(4)
  })`;
}

/** "x (ours) vs the reference" for HR@10 and NDCG@10 of one cell of a grid; undefined without its metrics. */
function versus(results: GridResults | undefined, values: Record<string, unknown>, name: string, ref: Reference) {
  const cell = results && findCell(results.summary, values);
  if (!cell || cell.hr10.mean === null || cell.ndcg10.mean === null) return undefined;
  return `${modelLabel(cell.values)} (${gridName(results!)}, test) vs ${name}: ` +
    `${versusPart("HR@10", cell.hr10.mean, ref["HR@10"], 3)}, ${
      versusPart("NDCG@10", cell.ndcg10.mean, ref["NDCG@10"], 3)
    }.`;
}

/**
 * The published numbers and ours side by side, one row each: the original's reported best and its Popularity, then
 * SASRec.pytorch (constants with sources), then SASRec and the residual UR4Rec of the text grids (mean ± 95% CI over
 * seeds) under each protocol they ran.
 */
export function referenceTable(grids: Record<string, GridResults>): Record<string, unknown>[] {
  const published = Object.values(REFERENCES).map((r) => ({
    result: r.name,
    protocol: r.protocol,
    "HR@10": r["HR@10"].toFixed(3),
    "NDCG@10": r["NDCG@10"].toFixed(3),
  }));
  const ours = (["texts_sampled", "texts_loo"] as const).flatMap((key) => {
    const results = grids[key];
    if (!results) return [];
    return [{ model: "sasrec", text_use: "none" }, { model: "ur4rec", user_text: "leak_free" }].flatMap((values) => {
      const wanted = Object.fromEntries(Object.entries(values).filter(([k]) => k in results.axes));
      const cell = findCell(results.summary, wanted);
      if (!cell) return [];
      return [{
        result: `ours: ${modelLabel(cell.values)} (${gridName(results)}, test, ${cell.runs} seeds)`,
        protocol: PROTOCOLS[key === "texts_loo" ? "loo" : "sampled"],
        "HR@10": formatMeanCi(cell.hr10),
        "NDCG@10": formatMeanCi(cell.ndcg10),
      }];
    });
  });
  return [...published, ...ours];
}

/** Our sampled-protocol Popularity and UR4Rec against the original's reported numbers, and those against each other. */
export function externalSentences(grids: Record<string, GridResults>): string[] {
  const { original, originalPopularity } = REFERENCES;
  const sentences = [
    versus(grids.sampled, { model: "pop" }, "the original's reported best", original),
    versus(
      grids.sampled,
      { model: "pop" },
      "Popularity under the original's protocol (docs/original.md#reported-results)",
      originalPopularity,
    ),
    versus(grids.sampled, UR4REC, "the original's reported best", original),
    `The original's reported best (HR@10 ${original["HR@10"]}, NDCG@10 ${original["NDCG@10"]}) is ` +
    `${(original["HR@10"] - originalPopularity["HR@10"]).toFixed(3)} HR@10 and ` +
    `${
      (original["NDCG@10"] - originalPopularity["NDCG@10"]).toFixed(3)
    } NDCG@10 above Popularity under its own protocol.`,
  ].filter((s): s is string => s !== undefined);
  if (!grids.sampled) {
    sentences.push("No sampled-protocol grid in this profile: our numbers are not compared with the references.");
  }
  return sentences;
}
