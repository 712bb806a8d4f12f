/**
 * Generating the LLM texts again without the original's leak (docs/findings.md#f1): user prompts list the user's latest
 * TRAIN items only (never val/test targets), item prompts give title, year and genres. Results go to
 * `<out>/user_preferences.json` and `<out>/item_descriptions.json` (the shipped layout, so `llm_dir: <out>` with
 * `user_text: shipped` uses them). Every answer is cached in `<out>/llm_cache.json` (keyed by a hash of model and
 * prompt, written atomically after each call), so an interrupted run resumes where it stopped.
 */
import { join } from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../util/fs.ts";
import type { ChatClient } from "./llm_client.ts";
import { ITEM_PLACEHOLDER, recentTrainItems, TEXT_FILES, titleWithYear, USER_PLACEHOLDER } from "./texts.ts";
import type { Dataset, ItemInfo } from "./types.ts";

/** Which texts to generate. */
export type LlmKind = "users" | "items";
/** Output token limits of the original's prompts. */
const MAX_TOKENS: Record<LlmKind, number> = { users: 200, items: 150 };
/** Name of the answer cache inside the output directory. */
export const LLM_CACHE_FILE = "llm_cache.json";

/** The user prompt: the user's latest train items (oldest first) and the request for a 2-3 sentence summary. */
export function userPrompt(train: number[], items: Map<number, ItemInfo>): string {
  const lines = recentTrainItems(train).map((id) => {
    const item = items.get(id);
    return `- ${item ? titleWithYear(item) : `item ${id}`}`;
  });
  return `Here are movies a user liked, oldest first:\n${lines.join("\n")}\n\n` +
    "In 2-3 sentences, summarise this user's preferences: the genres they prefer, the features they care about, " +
    "and directions they might explore next.";
}

/** The item prompt: title, year and genres, and the request for a 1-2 sentence description. */
export function itemPrompt(item: ItemInfo): string {
  return `Movie: ${titleWithYear(item)}\nGenres: ${item.genres.join(", ") || "unknown"}\n\n` +
    "In 1-2 sentences, describe this movie's core features and its target audience.";
}

/** The prompts of one kind, keyed by MovieLens id, in dataset order (users) or id order (items). */
export function prompts(ds: Dataset, kind: LlmKind): [number, string][] {
  return kind === "users"
    ? ds.userIds.map((id, u) => [id, userPrompt(ds.splits[u].train, ds.items)])
    : [...ds.items.values()].sort((a, b) => a.id - b.id).map((item) => [item.id, itemPrompt(item)]);
}

async function cacheKey(model: string, prompt: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${model}\n${prompt}`));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a generation run did. */
export interface LlmRunReport {
  generated: number;
  cached: number;
  refused: number;
  written: string;
}

/**
 * Generates the texts of `kind` for the first `limit` ids (all when undefined) with `client`, skipping prompts
 * already in the cache, and writes the output file with every cached answer. `onProgress` gets (done, total).
 */
export async function generateLlmTexts(
  ds: Dataset,
  kind: LlmKind,
  client: ChatClient,
  model: string,
  outDir: string,
  limit?: number,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<LlmRunReport> {
  const cachePath = join(outDir, LLM_CACHE_FILE);
  const cache = await readJsonIfExists<Record<string, string | null>>(cachePath) ?? {};
  const todo = prompts(ds, kind).slice(0, limit);
  const texts: Record<string, string> = {};
  const report = {
    generated: 0,
    cached: 0,
    refused: 0,
    written: join(outDir, TEXT_FILES[kind === "users" ? "user" : "item"]),
  };
  for (const [i, [id, prompt]] of todo.entries()) {
    const key = await cacheKey(model, prompt);
    if (key in cache) {
      report.cached++;
    } else {
      cache[key] = await client.complete(prompt, MAX_TOKENS[kind]);
      report.generated++;
      await writeJsonAtomic(cachePath, cache);
    }
    const text = cache[key];
    if (text === null) report.refused++;
    texts[id] = text ?? (kind === "users" ? USER_PLACEHOLDER : ITEM_PLACEHOLDER);
    onProgress(i + 1, todo.length);
  }
  await writeJsonAtomic(report.written, texts);
  return report;
}
