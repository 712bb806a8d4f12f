/**
 * Loaders for the MovieLens file formats into `RawData`:
 * - ML-100K: `u.data` (tab-separated user, item, rating, timestamp), `u.item` (`|`-separated, latin-1,
 *   19 genre flags), `u.genre` (genre names), `u.user` (demographics);
 * - ML-1M: `ratings.dat`, `movies.dat` (latin-1, genres `|`-separated), `users.dat`, all `::`-separated.
 * Every malformed line is a `UserError` naming the file, the line and what was expected, and every field is
 * range-checked: ids positive integers, ratings integers 1..5, timestamps non-negative integers, genre flags 0/1,
 * genders M/F, ML-100K ages 1..120, ML-1M age codes 1/18/25/35/45/50/56 and occupation codes 0..20.
 */
import { dirname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import {
  type DataLine,
  type IntRange,
  type LineFormat,
  NON_NEGATIVE,
  nonEmptyField,
  parseChoiceField,
  parseIntField,
  POSITIVE,
  readDataLines,
  splitFields,
} from "./data_file.ts";
import type { ItemInfo, Rating, RawData, UserInfo } from "./types.ts";

/** Splits "Toy Story (1995)" into title "Toy Story" and year 1995 (the last "(dddd)" group); no year gives null. */
export function parseTitle(raw: string): { title: string; year: number | null } {
  const matches = [...raw.matchAll(/\s*\((\d{4})\)/g)];
  const last = matches.at(-1);
  if (last === undefined) return { title: raw.trim(), year: null };
  const title = (raw.slice(0, last.index) + raw.slice(last.index + last[0].length)).trim();
  return { title, year: Number(last[1]) };
}

/** What to tell the user when a file of dataset `name` is missing from `dir`. */
function missingHint(name: string, dir: string, files: string): string {
  const dataDir = dirname(dir);
  if (name === "ml-100k") {
    return `put the MovieLens-100K files (${files}) in ${dir}/, or download them with ` +
      `\`deno task data ml-100k --data-dir ${dataDir}\``;
  }
  if (name === "ml-1m") {
    return `put the MovieLens-1M files (${files}) in ${dir}/ ` +
      `(from https://files.grouplens.org/datasets/movielens/ml-1m.zip)`;
  }
  return `put the ${name} files (${files}) in ${dir}/` +
    (name === "synthetic" ? `, or generate them with \`deno task data synthetic --data-dir ${dataDir}\`` : "");
}

/** MovieLens ratings: whole stars 1..5 (ML-100K and ML-1M). */
export const RATING_RANGE: IntRange = { min: 1, max: 5 };
/** Ages of ML-100K's `u.user` (the real file holds 7..73). */
const ML100K_AGE: IntRange = { min: 1, max: 120 };
/** ML-1M's age group codes (users.dat README). */
const ML1M_AGE_CODES = ["1", "18", "25", "35", "45", "50", "56"];
/** ML-1M's occupation codes (users.dat README). */
const ML1M_OCCUPATION: IntRange = { min: 0, max: 20 };
const GENDERS = ["M", "F"];

const ML100K_FILES = "u.data, u.item, u.genre, u.user";
const ML1M_FILES = "ratings.dat, movies.dat, users.dat";

/** The layout of lines of `names` (comma-separated field names) split by `separator` (named `separatorName`). */
function lineFormat(separator: string, names: string, separatorName = separator): LineFormat {
  return { separator, separatorName, fieldCount: names.split(", ").length, fieldNames: names };
}

const U_DATA = lineFormat("\t", "user, item, rating, timestamp", "tab");
const U_GENRE = lineFormat("|", "genre name, index");
const U_USER = lineFormat("|", "id, age, gender, occupation, zip");
const RATINGS_DAT = lineFormat("::", "user, item, rating, timestamp");
const MOVIES_DAT = lineFormat("::", "id, title, genres");
const USERS_DAT = lineFormat("::", "id, gender, age, occupation, zip");

function uItemFormat(genres: string[]): LineFormat {
  return {
    separator: "|",
    separatorName: "|",
    fieldCount: 5 + genres.length,
    fieldNames: `id, title, release date, video date, url, then ${genres.length} genre flags 0/1`,
  };
}

/** Reads one file of `dir` into lines, with the dataset's missing-file hint. */
function readLines(dir: string, name: string, file: string, format: LineFormat, files: string): Promise<DataLine[]> {
  return readDataLines(join(dir, file), format, missingHint(name, dir, files));
}

function parseRatings(path: string, lines: DataLine[], format: LineFormat): Rating[] {
  return lines.map((line) => {
    const [user, item, rating, timestamp] = splitFields(path, line, format);
    return {
      user: parseIntField(path, line, "user id", user, POSITIVE),
      item: parseIntField(path, line, "item id", item, POSITIVE),
      rating: parseIntField(path, line, "rating", rating, RATING_RANGE),
      timestamp: parseIntField(path, line, "timestamp", timestamp, NON_NEGATIVE),
      line: line.line,
    };
  });
}

function addUnique<T>(map: Map<number, T>, id: number, value: T, path: string, line: DataLine, what: string): void {
  if (map.has(id)) throw new UserError(`${path}:${line.line}: duplicate ${what} id ${id}`);
  map.set(id, value);
}

/** Genre names by index from `u.genre` (`name|index`, indices 0, 1, 2, ... in order). */
function parseGenres(path: string, lines: DataLine[]): string[] {
  return lines.map((line, i) => {
    const [name, index] = splitFields(path, line, U_GENRE);
    nonEmptyField(path, line, "genre name", name);
    if (parseIntField(path, line, "genre index", index, NON_NEGATIVE) !== i) {
      throw new UserError(`${path}:${line.line}: expected genre index ${i}, got ${JSON.stringify(index)}`);
    }
    return name;
  });
}

function parseUItem(path: string, lines: DataLine[], genres: string[]): Map<number, ItemInfo> {
  const format = uItemFormat(genres);
  const items = new Map<number, ItemInfo>();
  for (const line of lines) {
    const fields = splitFields(path, line, format);
    const id = parseIntField(path, line, "item id", fields[0], POSITIVE);
    nonEmptyField(path, line, "title", fields[1]);
    const flags = fields.slice(5);
    const bad = flags.findIndex((f) => f !== "0" && f !== "1");
    if (bad >= 0) {
      throw new UserError(
        `${path}:${line.line}: genre flag ${bad + 1} (${genres[bad]}) must be 0 or 1, got ${
          JSON.stringify(flags[bad])
        }`,
      );
    }
    const itemGenres = genres.filter((_, g) => flags[g] === "1");
    addUnique(items, id, { id, ...parseTitle(fields[1]), genres: itemGenres }, path, line, "item");
  }
  return items;
}

function parseUsers(
  path: string,
  lines: DataLine[],
  format: LineFormat,
  order: "ml-100k" | "ml-1m",
): Map<number, UserInfo> {
  const users = new Map<number, UserInfo>();
  for (const line of lines) {
    const fields = splitFields(path, line, format);
    const [id, age, gender, occupation, zip] = order === "ml-100k"
      ? fields
      : [fields[0], fields[2], fields[1], fields[3], fields[4]];
    const userId = parseIntField(path, line, "user id", id, POSITIVE);
    parseChoiceField(path, line, "gender", gender, GENDERS);
    if (order === "ml-100k") {
      parseIntField(path, line, "age", age, ML100K_AGE);
      nonEmptyField(path, line, "occupation", occupation);
    } else {
      parseChoiceField(path, line, "age code", age, ML1M_AGE_CODES);
      parseIntField(path, line, "occupation code", occupation, ML1M_OCCUPATION);
    }
    const info = { id: userId, age: Number(age), gender, occupation, zip };
    addUnique(users, userId, info, path, line, "user");
  }
  return users;
}

/** Loads MovieLens-100K-format files from `dir` (also used for the built-in synthetic dataset, with its `name`). */
export async function loadMovieLens100k(dir: string, name = "ml-100k"): Promise<RawData> {
  const read = (file: string, format: LineFormat) => readLines(dir, name, file, format, ML100K_FILES);
  const genres = parseGenres(join(dir, "u.genre"), await read("u.genre", U_GENRE));
  const itemPath = join(dir, "u.item");
  const items = parseUItem(itemPath, await read("u.item", uItemFormat(genres)), genres);
  const ratingsPath = join(dir, "u.data");
  const ratings = parseRatings(ratingsPath, await read("u.data", U_DATA), U_DATA);
  const users = parseUsers(join(dir, "u.user"), await read("u.user", U_USER), U_USER, "ml-100k");
  return { name, items, ratings, ratingsPath, users };
}

/** Loads MovieLens-1M files (`ratings.dat`, `movies.dat`, `users.dat`) from `dir`. */
export async function loadMovieLens1m(dir: string): Promise<RawData> {
  const read = (file: string, format: LineFormat) => readLines(dir, "ml-1m", file, format, ML1M_FILES);
  const moviesPath = join(dir, "movies.dat");
  const items = new Map<number, ItemInfo>();
  for (const line of await read("movies.dat", MOVIES_DAT)) {
    const [id, title, genres] = splitFields(moviesPath, line, MOVIES_DAT);
    const itemId = parseIntField(moviesPath, line, "movie id", id, POSITIVE);
    nonEmptyField(moviesPath, line, "title", title);
    const info = { id: itemId, ...parseTitle(title), genres: genres.split("|").filter((g) => g !== "") };
    addUnique(items, itemId, info, moviesPath, line, "movie");
  }
  const ratingsPath = join(dir, "ratings.dat");
  const ratings = parseRatings(ratingsPath, await read("ratings.dat", RATINGS_DAT), RATINGS_DAT);
  const users = parseUsers(join(dir, "users.dat"), await read("users.dat", USERS_DAT), USERS_DAT, "ml-1m");
  return { name: "ml-1m", items, ratings, ratingsPath, users };
}
