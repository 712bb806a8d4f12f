/**
 * The dataset entry point: config -> raw files -> preprocessing -> `max_users` -> split -> `Dataset`.
 * `ml-100k` reads `<data_dir>/ml-100k/`, `ml-1m` reads `<data_dir>/ml-1m/`, `synthetic` reads
 * `<data_dir>/synthetic/<users>x<items>/` after generating it there when absent.
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { loadMovieLens100k, loadMovieLens1m } from "./movielens.ts";
import { preprocess } from "./preprocess.ts";
import { type SplitKind, splitSequences } from "./split.ts";
import { ensureSynthetic } from "./synthetic.ts";
import type { Dataset, Interactions, RawData } from "./types.ts";

/** Reads the raw files of `config.dataset` (generating the synthetic dataset first if needed). */
export async function loadRawData(config: Config): Promise<RawData> {
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
    report,
  };
}

/** Builds the `Dataset` from preprocessed interactions: splits, existing-item flags and train popularity. */
export function buildDataset(name: string, interactions: Interactions, split: SplitKind): Dataset {
  const { numItems, items, userIds } = interactions;
  const splits = splitSequences(interactions.sequences, split);
  const itemExists = new Uint8Array(numItems + 1);
  for (const id of items.keys()) itemExists[id] = 1;
  const trainPopularity = new Float32Array(numItems + 1);
  for (const s of splits) for (const id of s.train) trainPopularity[id]++;
  return { name, numItems, userIds, items, splits, itemExists, trainPopularity, report: interactions.report };
}

/** Loads, preprocesses and splits the configured dataset (`dataset`, `data_dir`, `preset`, `max_users`, `split`). */
export async function loadDataset(config: Config): Promise<Dataset> {
  const raw = await loadRawData(config);
  const interactions = limitUsers(preprocess(raw, config.preset), config.max_users);
  return buildDataset(raw.name, interactions, config.split);
}
