/**
 * The built-in dataset: a seeded generator of MovieLens-shaped data, written in the ML-100K file formats
 * (`u.data`, `u.item`, `u.genre`, `u.user`) plus original-style texts (`llm_generated/user_preferences.json`,
 * `llm_generated/item_descriptions.json`) under `<data_dir>/synthetic/`.
 *
 * How it is made:
 * - items: 1-3 genres, a year, a unique two-word title, a Zipf-like popularity, and 3 "successor" items of the
 *   same main genre (what fans of an item watch next);
 * - users: a taste over genres that drifts from a start mix to an end mix along the user's history; each next item
 *   is, with probability `FOLLOW_PROB`, a successor of the previous one, otherwise drawn by popularity x taste;
 * - ratings 1-5 rise with the taste match, timestamps increase with some ties.
 * So the next item depends on the recent items (a sequential model can learn it) and not only on popularity.
 * User texts are written from the last 20 positives of the FULL history (they name later items: leaky like the
 * original's, docs/findings.md#f1); item texts come from title, year and genres only.
 */
import { join } from "node:path";
import { exists, readJsonIfExists } from "../util/fs.ts";
import { UserError } from "../util/errors.ts";
import { Rng } from "../rng.ts";

/** Bump when the generated content changes, so cached datasets are regenerated. */
const GENERATOR_VERSION = 1;
/** The generator's own seed: the dataset depends only on its size, not on a run's seed. */
export const SYNTHETIC_SEED = 20240611;
/** Probability that the next item is a successor of the previous one. */
const FOLLOW_PROB = 0.45;
/** Name of the parameter file, written last: its presence with matching values means the dataset is complete. */
const MARKER = "synthetic.json";

/** The genre list of `u.genre` (ML-100K's, index 0 = "unknown", never assigned). */
// deno-fmt-ignore
export const GENRES = [
  "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
  "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
] as const;

// Title words: no adjective is a suffix of another and no noun a prefix of another, so no title is inside another.
// deno-fmt-ignore
const ADJECTIVES = [
  "Amber", "Autumn", "Black", "Blue", "Brave", "Broken", "Burning", "Copper", "Crimson", "Crooked", "Distant", "Electric",
  "Emerald", "Endless", "Faded", "Fallen", "Final", "Forgotten", "Frozen", "Gentle", "Gilded", "Golden", "Hidden",
  "Hollow", "Iron", "Ivory", "Jade", "Last", "Lonely", "Lucky", "Marble", "Midnight", "Misty", "Northern", "Painted",
  "Pale", "Quiet", "Restless", "Rusty", "Savage", "Scarlet", "Secret", "Shattered", "Silent", "Silver", "Sleeping",
  "Southern", "Stolen", "Summer", "Sunken", "Tangled", "Twisted", "Velvet", "Violet", "Wandering", "Wicked", "Wild",
  "Winter", "Wooden", "Yellow", "Dusty", "Eternal", "Grand", "Little",
]
// deno-fmt-ignore
const NOUNS = [
  "Harbor", "River", "Garden", "Mountain", "Lantern", "Mirror", "Orchard", "Compass", "Canyon", "Meadow", "Tower",
  "Bridge", "Forest", "Island", "Valley", "Desert", "Ocean", "Castle", "Station", "Highway", "Circus", "Carnival",
  "Frontier", "Kingdom", "Lighthouse", "Voyage", "Journey", "Shadow", "Whisper", "Thunder", "Horizon", "Echo",
  "Promise", "Empire", "Crown", "Dragon", "Falcon", "Raven", "Tiger", "Wolf", "Fox", "Serpent", "Phoenix", "Anchor",
  "Arrow", "Blade", "Diamond", "Feather", "Flame", "Glacier", "Hunter", "Knight", "Legacy", "Machine", "Melody",
  "Monsoon", "Nomad", "Oracle", "Pilgrim", "Prophet", "Rebel", "Saint", "Sparrow", "Stranger",
];
/** Most items the generator can title uniquely. */
export const MAX_SYNTHETIC_ITEMS = ADJECTIVES.length * NOUNS.length;

const HOOKS = [
  "follows an unlikely pair through a season of change",
  "tells the story of a family facing a hard choice",
  "traces a daring plan that slowly unravels",
  "explores friendship, rivalry and the cost of ambition",
  "sets a small town against an outside threat",
  "charts a long road back to home",
];
const OCCUPATIONS = ["student", "engineer", "educator", "writer", "programmer", "librarian", "artist", "other"];

/** Sizes of a generated dataset. */
export interface SyntheticSize {
  users: number;
  items: number;
}

/** The generated files: path relative to the dataset directory -> content. */
export type SyntheticFiles = Map<string, string>;

interface Item {
  id: number;
  title: string;
  year: number;
  genres: number[];
  popularity: number;
  successors: number[];
}

/** `count` distinct ints from [0, n), in random order (partial Fisher-Yates). */
function sampleDistinct(rng: Rng, n: number, count: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, n);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

/** Index drawn with probability proportional to `weights`. */
function drawWeighted(rng: Rng, weights: Float64Array, total: number): number {
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** Genre weights (index 1..18) concentrated on 2 random genres. */
function tasteMix(rng: Rng): Float64Array {
  const mix = new Float64Array(GENRES.length).fill(0.02);
  mix[0] = 0;
  for (const g of sampleDistinct(rng, GENRES.length - 1, 2)) mix[g + 1] += 0.5 + rng.next();
  return mix;
}

function makeItems(rng: Rng, count: number): Item[] {
  const titles = sampleDistinct(rng, MAX_SYNTHETIC_ITEMS, count)
    .map((k) => `${ADJECTIVES[Math.floor(k / NOUNS.length)]} ${NOUNS[k % NOUNS.length]}`);
  const ranks = sampleDistinct(rng, count, count);
  const items = titles.map((title, i): Item => {
    const extra = rng.next() < 0.6 ? (rng.next() < 0.3 ? 2 : 1) : 0;
    const genres = sampleDistinct(rng, GENRES.length - 1, 1 + extra).map((g) => g + 1);
    const year = Math.max(1930, 1998 - Math.floor(-12 * Math.log(1 - rng.next())));
    return { id: i + 1, title, year, genres, popularity: 1 / (ranks[i] + 10) ** 0.9, successors: [] };
  });
  for (const item of items) {
    const sameGenre = items.filter((o) => o.id !== item.id && o.genres[0] === item.genres[0]);
    const pool = sameGenre.length >= 3 ? sameGenre : items.filter((o) => o.id !== item.id);
    item.successors = sampleDistinct(rng, pool.length, Math.min(3, pool.length)).map((k) => pool[k].id);
  }
  return items;
}

interface Event {
  item: number;
  rating: number;
  timestamp: number;
}

/** Taste match of an item in [0, 1]: the user's weight on its best genre relative to their strongest genre. */
function affinity(taste: Float64Array, strongest: number, item: Item): number {
  let best = 0;
  for (const g of item.genres) best = Math.max(best, taste[g]);
  return best / strongest;
}

function makeHistory(rng: Rng, items: Item[]): Event[] {
  const length = Math.min(Math.floor(items.length / 2), 20 + Math.floor(-20 * Math.log(1 - rng.next())));
  const [start, end] = [tasteMix(rng), tasteMix(rng)];
  const seen = new Set<number>();
  const events: Event[] = [];
  const weights = new Float64Array(items.length);
  let time = 880_000_000 + rng.int(0, 180 * 86_400);
  let prev: Item | undefined;
  for (let t = 0; t < length; t++) {
    const f = length > 1 ? t / (length - 1) : 0;
    const taste = start.map((s, g) => (1 - f) * s + f * end[g]);
    const strongest = Math.max(...taste);
    const follow = prev?.successors.filter((id) => !seen.has(id)) ?? [];
    let item: Item;
    if (follow.length > 0 && rng.next() < FOLLOW_PROB) {
      item = items[follow[rng.int(0, follow.length)] - 1];
    } else {
      let total = 0;
      items.forEach((it, i) => {
        weights[i] = seen.has(it.id) ? 0 : it.popularity * (0.05 + affinity(taste, strongest, it)) ** 2;
        total += weights[i];
      });
      item = items[drawWeighted(rng, weights, total)];
    }
    const rating = Math.min(
      5,
      Math.max(1, Math.round(1.8 + 3 * affinity(taste, strongest, item) + 0.9 * rng.normal())),
    );
    if (rng.next() > 0.15) time += 60 + Math.floor(-2 * 86_400 * Math.log(1 - rng.next()));
    events.push({ item: item.id, rating, timestamp: time });
    seen.add(item.id);
    prev = item;
  }
  return events;
}

function genreList(item: Item): string[] {
  return item.genres.map((g) => GENRES[g]);
}

function itemDescription(rng: Rng, item: Item): string {
  const genres = genreList(item);
  const kind = genres.map((g) => g.toLowerCase()).join("/");
  return `A ${item.year} ${kind} film, *${item.title}* ${HOOKS[rng.int(0, HOOKS.length)]}. ` +
    `Perfect for fans of ${genres[0].toLowerCase()} stories.`;
}

/** Leaky user text: top genres and three titles among the last 20 positives of the full history. */
function userPreference(rng: Rng, positives: Item[]): string {
  const recent = positives.slice(-20);
  const counts = new Map<string, number>();
  for (const g of recent.flatMap(genreList)) counts.set(g, (counts.get(g) ?? 0) + 1);
  const [g1, g2] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  const named = sampleDistinct(rng, recent.length, Math.min(3, recent.length)).map((k) => `*${recent[k].title}*`);
  return `The user enjoys ${g1}${g2 ? ` and ${g2}` : ""} films, especially ${named.join(", ")}. ` +
    `They may like more ${g1.toLowerCase()} titles.`;
}

/** Generates the dataset files (pure: same size and seed, same bytes). */
export function generateSynthetic(size: SyntheticSize, seed = SYNTHETIC_SEED): SyntheticFiles {
  if (size.items > MAX_SYNTHETIC_ITEMS) {
    throw new UserError(`synthetic_items = ${size.items}: the generator supports at most ${MAX_SYNTHETIC_ITEMS}`);
  }
  if (size.items < 20) throw new UserError(`synthetic_items = ${size.items}: expected at least 20`);
  const rng = new Rng(seed);
  const items = makeItems(rng.fork("items"), size.items);
  const userRng = rng.fork("users");
  const textRng = rng.fork("texts");
  const data: string[] = [];
  const users: string[] = [];
  const preferences: Record<string, string> = {};
  for (let u = 1; u <= size.users; u++) {
    const events = makeHistory(userRng, items);
    for (const e of events) data.push(`${u}\t${e.item}\t${e.rating}\t${e.timestamp}`);
    const age = userRng.int(18, 66);
    const gender = userRng.next() < 0.7 ? "M" : "F";
    users.push(`${u}|${age}|${gender}|${OCCUPATIONS[userRng.int(0, OCCUPATIONS.length)]}|${userRng.int(10000, 99999)}`);
    const positives = events.filter((e) => e.rating >= 4).map((e) => items[e.item - 1]);
    if (positives.length >= 5) preferences[u] = userPreference(textRng, positives);
  }
  const descriptions: Record<string, string> = {};
  const itemLines = items.map((item) => {
    descriptions[item.id] = itemDescription(textRng, item);
    const flags = GENRES.map((_, g) => (item.genres.includes(g) ? 1 : 0)).join("|");
    return `${item.id}|${item.title} (${item.year})|01-Jan-${item.year}|||${flags}`;
  });
  const lines = (rows: string[]) => rows.join("\n") + "\n";
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  return new Map([
    ["u.genre", lines(GENRES.map((g, i) => `${g}|${i}`))],
    ["u.item", lines(itemLines)],
    ["u.data", lines(data)],
    ["u.user", lines(users)],
    ["llm_generated/user_preferences.json", json(preferences)],
    ["llm_generated/item_descriptions.json", json(descriptions)],
  ]);
}

/** The marker content for a size: what was generated, by which generator version and seed. */
function markerFor(size: SyntheticSize): Record<string, number> {
  return { version: GENERATOR_VERSION, seed: SYNTHETIC_SEED, users: size.users, items: size.items };
}

/**
 * Writes `files` into `dir` atomically: everything goes to a temp dir inside `dir` first, then each file is renamed
 * into place and the marker last, so a reader that sees a matching marker sees complete files.
 */
async function writeDataset(dir: string, files: SyntheticFiles, marker: Record<string, number>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir, prefix: ".tmp-" });
  try {
    const all: [string, string][] = [...files, [MARKER, JSON.stringify(marker, null, 2) + "\n"]];
    for (const [name, content] of all) {
      await Deno.mkdir(join(tmp, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(tmp, name), content);
    }
    for (const [name] of all) {
      await Deno.mkdir(join(dir, name, ".."), { recursive: true });
      await Deno.rename(join(tmp, name), join(dir, name));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * Makes sure `<dataDir>/synthetic/` holds the dataset of this size (generating it when absent or of another size)
 * and returns its path.
 */
/**
 * Where the dataset of a given size lives: `<data_dir>/synthetic/<users>x<items>/`, one folder per size so that
 * runs of different sizes (tests, notebooks, grids running side by side) never regenerate each other's files.
 */
export function syntheticDir(dataDir: string, size: SyntheticSize): string {
  return join(dataDir, "synthetic", `${size.users}x${size.items}`);
}

/** The synthetic dataset's folder for `size`, generated first unless a complete one with the same parameters is there. */
export async function ensureSynthetic(dataDir: string, size: SyntheticSize): Promise<string> {
  const dir = syntheticDir(dataDir, size);
  const marker = markerFor(size);
  const found = await readJsonIfExists<Record<string, number>>(join(dir, MARKER));
  if (found && JSON.stringify(found) === JSON.stringify(marker)) return dir;
  if (found || (await exists(join(dir, "u.data")))) {
    console.error(`note: regenerating ${dir} for ${size.users} users x ${size.items} items`);
  }
  await writeDataset(dir, generateSynthetic(size), marker);
  return dir;
}
