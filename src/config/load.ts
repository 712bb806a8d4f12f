/**
 * Loading configs: YAML file + overrides (`--set key=value`, flags such as `--backend`) + env, validated against
 * `ConfigSchema`. Every error is one line that names where the bad value came from: `FILE:LINE` for a key of the
 * file, `--set key=value` (or the flag) for an override, `UR4REC_DATA_DIR=...` / `UR4REC_BACKEND=...` for the env.
 */
import YAML, { LineCounter } from "yaml";
import { z } from "zod";
import { nearest, UserError } from "../util/errors.ts";
import { type Config, CONFIG_KEYS, ConfigSchema } from "./schema.ts";

/** Environment variable that sets `data_dir` when neither the file nor `--set` does. */
export const DATA_DIR_ENV = "UR4REC_DATA_DIR";
/** Environment variable that sets `backend` when neither the file nor `--set` does. */
export const BACKEND_ENV = "UR4REC_BACKEND";

/** One config key set from the command line, with the words that set it (`--set k=v`, `--users 50`). */
export interface ConfigOverride {
  key: string;
  value: unknown;
  source: string;
}

/** Where each key's value came from, for error messages: key -> `FILE:LINE`, `--set k=v`, `ENV=value`. */
export type Origins = Record<string, string>;

/** A YAML mapping's values and the 1-based line of each top-level key. */
interface YamlMapping {
  values: Record<string, unknown>;
  lines: Record<string, number>;
}

/**
 * Parses YAML text that must be a mapping (a config, a grid spec); `source` names the file in errors. An empty or
 * comment-only file, a syntax error and a top level that is not a mapping are `UserError`s.
 */
export function readYamlMapping(text: string, source: string): YamlMapping {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: true, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : ["?", "?"];
    throw new UserError(`${source}:${line}:${col}: YAML syntax error: ${e.message.split("\n")[0]}`);
  }
  if (doc.contents === null || (YAML.isScalar(doc.contents) && doc.contents.value === null)) {
    throw new UserError(`${source}: the file is empty (or only comments); expected a YAML mapping of keys`);
  }
  if (!YAML.isMap(doc.contents)) {
    const line = doc.contents.range ? `:${lineCounter.linePos(doc.contents.range[0]).line}` : "";
    throw new UserError(`${source}${line}: expected a YAML mapping of keys at the top level`);
  }
  const lines: Record<string, number> = {};
  for (const pair of doc.contents.items) {
    const key = YAML.isScalar(pair.key) ? pair.key : undefined;
    if (key?.range) lines[String(key.value)] = lineCounter.linePos(key.range[0]).line;
  }
  return { values: doc.toJS() as Record<string, unknown>, lines };
}

/** Parses YAML text into a plain object of keys (see `readYamlMapping`). */
export function parseConfigYaml(text: string, source: string): Record<string, unknown> {
  return readYamlMapping(text, source).values;
}

/**
 * Parses `key=value`; the value is YAML (`3`, `null`, `~`, `[a, b]`, `"quoted"`), so a plain word stays a string.
 * A missing `=`, an empty key and a value that is not valid YAML are `UserError`s naming the `--set`.
 */
export function parseSet(assignment: string): [string, unknown] {
  const eq = assignment.indexOf("=");
  const key = assignment.slice(0, Math.max(eq, 0)).trim();
  if (eq < 0 || key === "") throw new UserError(`--set ${assignment}: expected key=value`);
  const doc = YAML.parseDocument(assignment.slice(eq + 1));
  if (doc.errors.length > 0) {
    const reason = doc.errors[0].message.split("\n")[0];
    throw new UserError(`--set ${assignment}: the value is not valid YAML (${reason}); quote it if it is a string`);
  }
  return [key, doc.toJS()];
}

/** A `--set key=value` string as an override (an override passes through); bad syntax is a `UserError`. */
export function toOverride(set: string | ConfigOverride): ConfigOverride {
  if (typeof set !== "string") return set;
  const [key, value] = parseSet(set);
  return { key, value, source: `--set ${set}` };
}

function checkKeys(values: Record<string, unknown>, source: string, origins: Origins): void {
  for (const key of Object.keys(values)) {
    if (CONFIG_KEYS.includes(key)) continue;
    const hint = nearest(key, CONFIG_KEYS);
    throw new UserError(
      `${origins[key] ?? source}: unknown config key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    );
  }
}

/** A value as the user would write it (non-finite numbers included, which JSON cannot show). */
function show(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

function describeIssue(issue: z.core.$ZodIssue, values: Record<string, unknown>, source: string, origins: Origins) {
  const top = String(issue.path[0] ?? "");
  const related = (issue.code === "custom" ? issue.params?.keys : undefined) as string[] | undefined;
  const where = (related ?? [top]).map((k) => origins[k]).find((o) => o !== undefined) ?? source;
  const message = issue.message.replace(/^Invalid (input|option): /, "");
  if (related) return `${where}: ${message}`;
  const given = top in values ? ` = ${show(values[top])}` : "";
  return `${where}: key "${issue.path.join(".")}"${given}: ${message}`;
}

/**
 * Validates a merged set of values into a `Config`. Errors name the origin of the offending key (`origins`), else
 * `source`; when several keys are bad, the first is described and the others are counted on the same line.
 */
export function resolveConfig(values: Record<string, unknown>, source = "config", origins: Origins = {}): Config {
  checkKeys(values, source, origins);
  const result = ConfigSchema.safeParse(values);
  if (!result.success) {
    const [first, ...others] = result.error.issues;
    const more = others.length > 0
      ? ` (and ${others.length} more: ${[...new Set(others.map((i) => String(i.path[0])))].join(", ")})`
      : "";
    throw new UserError(describeIssue(first, values, source, origins) + more);
  }
  return result.data;
}

/**
 * Reads a text file a user named: a missing file is a `UserError` with `notFound` as its message, a directory one
 * saying it is not `what` (e.g. "a config file"); other I/O errors propagate.
 */
export async function readText(path: string, notFound: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(notFound);
    if (err instanceof Deno.errors.IsADirectory) throw new UserError(`${path}: is a directory, not ${what}`);
    throw err;
  }
}

/**
 * Lays the command line and the environment over values read from a file, in `loadConfig`'s precedence:
 * overrides > file > `UR4REC_DATA_DIR` / `UR4REC_BACKEND` (each only where nothing set the key). Updates `values`
 * and records each new value's origin in `origins`. An override naming an unknown key is a `UserError` naming it.
 */
export function applyOverrides(
  values: Record<string, unknown>,
  origins: Origins,
  sets: readonly (string | ConfigOverride)[],
): void {
  for (const override of sets.map(toOverride)) {
    origins[override.key] = override.source;
    checkKeys({ [override.key]: override.value }, override.source, origins);
    values[override.key] = override.value;
  }
  for (const [key, env] of [["data_dir", DATA_DIR_ENV], ["backend", BACKEND_ENV]]) {
    const value = Deno.env.get(env);
    if (values[key] !== undefined || !value) continue;
    values[key] = value;
    origins[key] = `${env}=${value}`;
  }
}

/**
 * Loads a config file (optional), applies overrides (`--set` strings or `ConfigOverride`s) and the env vars, and
 * validates. Precedence: overrides > file > `UR4REC_DATA_DIR` / `UR4REC_BACKEND` > schema default. Nothing is
 * written: a bad config fails before a command touches its output.
 */
export async function loadConfig(path: string | undefined, sets: (string | ConfigOverride)[] = []): Promise<Config> {
  let values: Record<string, unknown> = {};
  const origins: Origins = {};
  if (path !== undefined) {
    const text = await readText(path, `${path}: config file not found`, "a config file");
    const mapping = readYamlMapping(text, path);
    values = mapping.values;
    for (const key of Object.keys(values)) origins[key] = `${path}:${mapping.lines[key] ?? "?"}`;
    checkKeys(values, path, origins);
  }
  applyOverrides(values, origins, sets);
  return resolveConfig(values, path ?? "config", origins);
}

/** The config as YAML text (used to write `config.yaml` into run directories). */
export function configToYaml(config: Config): string {
  return YAML.stringify(config);
}
