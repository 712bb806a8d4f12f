/**
 * The texts behind the text vectors, chosen by `user_text` and `item_text`:
 * - items: `shipped` LLM descriptions (`item_descriptions.json`; missing entries and the placeholder get the template)
 *   or `template` ("Title (year). Genres: a, b.");
 * - users: `shipped` LLM preferences (`user_preferences.json`, leaky: docs/findings.md#f1), `leak_free` (the item texts
 *   of the user's last `HISTORY_WINDOW` TRAIN items, so val/test items never enter), `template` (titles, years and
 *   genres of those train items) or `none` (empty).
 * Shipped files map MovieLens ids to strings and live in `llm_dir`, by default `<data_dir>/llm_generated`
 * (`<data_dir>/synthetic/<users>x<items>/llm_generated` for the synthetic dataset, whose generator writes them).
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";
import { decodeText } from "./data_file.ts";
import { syntheticDir } from "./synthetic.ts";
import type { Dataset, ItemInfo } from "./types.ts";

/** The original's fallback user text (content moderation), counted as a placeholder. */
export const USER_PLACEHOLDER = "User has no obvious preferences.";
/** The original's fallback item text, counted as a placeholder. */
export const ITEM_PLACEHOLDER = "No description available.";
/** How many of the latest train items describe a user (the original's prompt used 20). */
export const HISTORY_WINDOW = 20;
/** File names of the shipped texts inside the LLM directory. */
export const TEXT_FILES = { user: "user_preferences.json", item: "item_descriptions.json" } as const;

/** Texts per user and per item id, and what had to be filled in. */
export interface Texts {
  /** One per user, in `Dataset.userIds` order ("" for `user_text: none`). */
  user: string[];
  /** Index = item id; "" for padding and ids that are not items. */
  item: string[];
  report: Record<string, number>;
}

/** The directory of the shipped (or generated) LLM texts for this config. */
export function llmDir(config: Config): string {
  if (config.llm_dir !== null) return config.llm_dir;
  return config.dataset === "synthetic"
    ? join(
      syntheticDir(config.data_dir, { users: config.synthetic_users, items: config.synthetic_items }),
      "llm_generated",
    )
    : join(config.data_dir, "llm_generated");
}

/**
 * Reads a `{"<id>": "text"}` JSON file (UTF-8, or latin-1 when not valid UTF-8) into a map, with `UserError`s
 * that name the file and the bad key.
 */
export async function readTextMap(path: string): Promise<Map<number, string>> {
  let value: unknown;
  try {
    value = JSON.parse(decodeText(await Deno.readFile(path)));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new UserError(
        `${path}: file not found; put the LLM texts there, set llm_dir, generate them with \`deno task data llm\`, ` +
          `or use item_text: template / user_text: leak_free or template`,
      );
    }
    if (err instanceof SyntaxError) throw new UserError(`${path}: invalid JSON: ${err.message}`);
    throw err;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`${path}: expected a JSON object {"<id>": "text"}`);
  }
  const texts = new Map<number, string>();
  for (const [key, text] of Object.entries(value)) {
    if (!/^\d+$/.test(key)) throw new UserError(`${path}: key "${key}": expected a numeric id`);
    if (typeof text !== "string") throw new UserError(`${path}: key "${key}": expected a string, got ${typeof text}`);
    texts.set(Number(key), text);
  }
  return texts;
}

/** "Title (year)" (or just the title when the year is unknown). */
export function titleWithYear(item: ItemInfo): string {
  return item.year === null ? item.title : `${item.title} (${item.year})`;
}

/** The offline item text: "Title (year). Genres: a, b." */
export function templateItemText(item: ItemInfo): string {
  return `${titleWithYear(item)}. Genres: ${item.genres.length > 0 ? item.genres.join(", ") : "unknown"}.`;
}

/** The latest `HISTORY_WINDOW` items of a train sequence, oldest first. */
export function recentTrainItems(train: number[]): number[] {
  return train.slice(-HISTORY_WINDOW);
}

/** Leak-free user text: the texts of the user's latest train items, joined. */
export function leakFreeUserText(train: number[], itemTexts: string[]): string {
  return recentTrainItems(train).map((id) => itemTexts[id]).join(" ");
}

/** Template user text: "Liked: Title (year) [genres]; ..." over the user's latest train items. */
export function templateUserText(train: number[], items: Map<number, ItemInfo>): string {
  const parts = recentTrainItems(train).map((id) => {
    const item = items.get(id);
    return item ? `${titleWithYear(item)} [${item.genres.join(", ")}]` : `item ${id}`;
  });
  return `Liked: ${parts.join("; ")}.`;
}

async function itemTexts(ds: Dataset, config: Config, report: Record<string, number>): Promise<string[]> {
  const texts = Array<string>(ds.numItems + 1).fill("");
  const shipped = config.item_text === "shipped" ? await readTextMap(join(llmDir(config), TEXT_FILES.item)) : undefined;
  let missing = 0;
  let placeholders = 0;
  for (const [id, item] of ds.items) {
    const text = shipped?.get(id);
    if (shipped && text === undefined) missing++;
    if (text === ITEM_PLACEHOLDER) placeholders++;
    texts[id] = text === undefined || text === ITEM_PLACEHOLDER ? templateItemText(item) : text;
  }
  if (shipped) Object.assign(report, { items_missing_text: missing, items_placeholder_text: placeholders });
  return texts;
}

async function userTexts(ds: Dataset, config: Config, items: string[], report: Record<string, number>) {
  switch (config.user_text) {
    case "none":
      return ds.userIds.map(() => "");
    case "leak_free":
      return ds.splits.map((s) => leakFreeUserText(s.train, items));
    case "template":
      return ds.splits.map((s) => templateUserText(s.train, ds.items));
    case "shipped": {
      const shipped = await readTextMap(join(llmDir(config), TEXT_FILES.user));
      const texts = ds.userIds.map((id) => shipped.get(id) ?? USER_PLACEHOLDER);
      report.users_missing_text = ds.userIds.filter((id) => !shipped.has(id)).length;
      report.users_placeholder_text = ds.userIds.filter((id) => shipped.get(id) === USER_PLACEHOLDER).length;
      return texts;
    }
  }
}

/**
 * The user and item texts of `ds` for `config.user_text` / `config.item_text`. Missing shipped item texts and the
 * item placeholder are replaced by the template (counted in `report`); missing shipped user texts become the
 * user placeholder (counted).
 */
export async function loadTexts(ds: Dataset, config: Config): Promise<Texts> {
  const report: Record<string, number> = {};
  const item = await itemTexts(ds, config, report);
  const user = await userTexts(ds, config, item, report);
  return { user, item, report };
}
