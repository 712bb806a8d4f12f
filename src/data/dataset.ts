/**
 * The dataset entry point: config -> raw files -> preprocessing -> `max_users` -> checks -> split -> `Dataset`.
 * `ml-100k` reads `<data_dir>/ml-100k/`, `ml-1m` reads `<data_dir>/ml-1m/`, `synthetic` reads
 * `<data_dir>/synthetic/<users>x<items>/` after generating it there when absent.
 * A `data_dir` that holds MovieLens files itself, and a dataset with no users or items left, are `UserError`s
 * raised here, before any training or output; drops outside the preset's protocol become warnings (warnings.ts).
 */
import { basename, dirname, join } from "node:path";
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { loadMovieLens100k, loadMovieLens1m } from "./movielens.ts";
import { MIN_INTERACTIONS, preprocess } from "./preprocess.ts";
import { type SplitKind, splitSequences } from "./split.ts";
import { ensureSynthetic } from "./synthetic.ts";
import { tieCounts } from "./ties.ts";
import type { Dataset, FilterReport, Interactions, RawData } from "./types.ts";
import { countWarnings, printWarnings } from "./warnings.ts";

/** The ratings file of each MovieLens dataset, as it sits in `<data_dir>/<dataset>/`. */
const RATINGS_FILES = { "ml-100k": "u.data", "ml-1m": "ratings.dat" } as const;

/**
 * Throws a `UserError` when `dataDir` holds a MovieLens ratings file itself (the loaders read
 * `<data_dir>/ml-100k/u.data`, so such a directory would be ignored, silently, for the synthetic default).
 */
async function checkDataDirLayout(dataDir: string): Promise<void> {
  for (const [dataset, file] of Object.entries(RATINGS_FILES)) {
    if (!(await exists(join(dataDir, file)))) continue;
    const parent = basename(dataDir) === dataset ? dirname(dataDir) : "PARENT";
    throw new UserError(
      `data_dir ${dataDir} holds ${file} directly, but datasets are read from <data_dir>/${dataset}/${file}: ` +
        `use --data-dir ${parent} --dataset ${dataset} (the directory that holds ${dataset}/), ` +
        `or move the files into ${join(dataDir, dataset)}/`,
    );
  }
}

/** Warnings for real MovieLens files in `data_dir` that the synthetic dataset leaves unused. */
async function unusedRealFiles(config: Config): Promise<string[]> {
  if (config.dataset !== "synthetic") return [];
  const warnings: string[] = [];
  for (const [dataset, file] of Object.entries(RATINGS_FILES)) {
    const path = join(config.data_dir, dataset, file);
    if (await exists(path)) {
      warnings.push(
        `dataset is synthetic (the built-in generated data, the default) but ${path} exists and is not used; ` +
          `set dataset: ${dataset} (--dataset ${dataset}) to use it`,
      );
    }
  }
  return warnings;
}

/** Reads the raw files of `config.dataset` (generating the synthetic dataset first if needed). */
export async function loadRawData(config: Config): Promise<RawData> {
  await checkDataDirLayout(config.data_dir);
  switch (config.dataset) {
    case "ml-100k":
      return loadMovieLens100k(join(config.data_dir, "ml-100k"));
    case "ml-1m":
      return loadMovieLens1m(join(config.data_dir, "ml-1m"));
    case "synthetic": {
      const size = { users: config.synthetic_users, items: config.synthetic_items };
      return loadMovieLens100k(await ensureSynthetic(config.data_dir, size), "synthetic");
    }
  }
}

/** Keeps the first `maxUsers` users (all when null), reporting how many were dropped. */
export function limitUsers(interactions: Interactions, maxUsers: number | null): Interactions {
  if (maxUsers === null || maxUsers >= interactions.userIds.length) return interactions;
  const report = { ...interactions.report, users_dropped_max_users: interactions.userIds.length - maxUsers };
  return {
    ...interactions,
    userIds: interactions.userIds.slice(0, maxUsers),
    sequences: interactions.sequences.slice(0, maxUsers),
    timestamps: interactions.timestamps.slice(0, maxUsers),
    report,
  };
}

/** "ratings_read 4, interactions 4, ..." for error messages. */
function describeReport(report: FilterReport): string {
  return Object.entries(report).map(([k, v]) => `${k} ${v}`).join(", ");
}

/**
 * Throws a `UserError` naming the dataset, the preset and the counts when no item or no user is left (every kept
 * user has >= `MIN_INTERACTIONS` interactions, so every kept user has a train prefix, a validation and a test target).
 */
export function checkUsable(name: string, preset: string, interactions: Interactions): void {
  const what = interactions.items.size === 0
    ? "no items"
    : interactions.userIds.length === 0
    ? `no users with at least ${MIN_INTERACTIONS} interactions (needed for train, validation and test items)`
    : undefined;
  if (what === undefined) return;
  throw new UserError(
    `dataset ${name} (preset ${preset}): ${what} left after preprocessing: ${describeReport(interactions.report)}`,
  );
}

/**
 * Preprocessed interactions of `config`'s dataset and their warnings, checked usable; prints the warnings. The
 * report adds, after `max_users`, how many users' validation/test targets the tie order decides under `split`
 * (`tieCounts`).
 */
export async function loadInteractions(
  config: Config,
): Promise<{ name: string; interactions: Interactions; warnings: string[] }> {
  const raw = await loadRawData(config);
  const options = { duplicates: config.duplicate_ratings, tieOrder: config.tie_order, seed: config.seed };
  const limited = limitUsers(preprocess(raw, config.preset, options), config.max_users);
  checkUsable(raw.name, config.preset, limited);
  const interactions = { ...limited, report: { ...limited.report, ...tieCounts(limited.timestamps, config.split) } };
  const warnings = [
    ...await unusedRealFiles(config),
    ...countWarnings(interactions.report, { ratings: raw.ratings.length }),
  ];
  printWarnings(warnings);
  return { name: raw.name, interactions, warnings };
}

/** Builds the `Dataset` from preprocessed interactions: splits, existing-item flags and train popularity. */
export function buildDataset(
  name: string,
  interactions: Interactions,
  split: SplitKind,
  warnings: string[] = [],
): Dataset {
  const { numItems, items, userIds } = interactions;
  const splits = splitSequences(interactions.sequences, split);
  const itemExists = new Uint8Array(numItems + 1);
  for (const id of items.keys()) itemExists[id] = 1;
  const trainPopularity = new Float32Array(numItems + 1);
  for (const s of splits) for (const id of s.train) trainPopularity[id]++;
  return { name, numItems, userIds, items, splits, itemExists, trainPopularity, report: interactions.report, warnings };
}

/**
 * Loads, preprocesses, checks and splits the configured dataset (`dataset`, `data_dir`, `preset`,
 * `duplicate_ratings`, `tie_order`, `seed`, `max_users`, `split`); prints its warnings once.
 */
export async function loadDataset(config: Config): Promise<Dataset> {
  const { name, interactions, warnings } = await loadInteractions(config);
  return buildDataset(name, interactions, config.split, warnings);
}
