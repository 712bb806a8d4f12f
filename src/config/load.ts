/**
 * Loading configs: YAML file + `--set key=value` overrides + env, validated against `ConfigSchema`.
 * Every error names the file, key (and line/column for YAML syntax) and what was expected.
 */
import YAML from "yaml";
import { z } from "zod";
import { nearest, UserError } from "../util/errors.ts";
import { type Config, CONFIG_KEYS, ConfigSchema } from "./schema.ts";

/** Environment variable that sets `data_dir` when neither the file nor `--set` does. */
export const DATA_DIR_ENV = "UR4REC_DATA_DIR";
/** Environment variable that sets `backend` when neither the file nor `--set` does. */
export const BACKEND_ENV = "UR4REC_BACKEND";

/** Parses YAML text into a plain object of config keys; `source` names the file in errors. */
export function parseConfigYaml(text: string, source: string): Record<string, unknown> {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : ["?", "?"];
    throw new UserError(`${source}:${line}:${col}: YAML syntax error: ${e.message.split("\n")[0]}`);
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new UserError(`${source}: expected a mapping of config keys at the top level`);
  }
  return value as Record<string, unknown>;
}

/** Parses `key=value` (value read as YAML, so numbers, booleans and lists work). */
export function parseSet(assignment: string): [string, unknown] {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UserError(`--set ${assignment}: expected key=value`);
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = YAML.parse(raw);
  } catch {
    value = raw;
  }
  return [key, value ?? raw];
}

function checkKeys(values: Record<string, unknown>, source: string): void {
  for (const key of Object.keys(values)) {
    if (CONFIG_KEYS.includes(key)) continue;
    const hint = nearest(key, CONFIG_KEYS);
    throw new UserError(
      `${source}: unknown config key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    );
  }
}

function describeIssue(issue: z.core.$ZodIssue, values: Record<string, unknown>, source: string): string {
  const key = issue.path.join(".");
  const top = String(issue.path[0] ?? "");
  const given = top in values ? ` = ${JSON.stringify(values[top])}` : "";
  return `${source}: key "${key}"${given}: ${issue.message}`;
}

/** Validates a merged set of values into a `Config`, with errors that name `source`. */
export function resolveConfig(values: Record<string, unknown>, source = "config"): Config {
  checkKeys(values, source);
  const result = ConfigSchema.safeParse(values);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, values, source));
    throw new UserError(lines.join("\n"));
  }
  return result.data;
}

/**
 * Loads a config file (optional), applies `--set` overrides and the data-dir env var, and validates.
 * Precedence: `--set` > file > `UR4REC_DATA_DIR` / `UR4REC_BACKEND` > schema default.
 */
export async function loadConfig(path: string | undefined, sets: string[] = []): Promise<Config> {
  let values: Record<string, unknown> = {};
  let source = "defaults";
  if (path !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new UserError(`${path}: config file not found`);
      throw err;
    }
    values = parseConfigYaml(text, path);
    checkKeys(values, path);
    source = path;
  }
  for (const assignment of sets) {
    const [key, value] = parseSet(assignment);
    checkKeys({ [key]: value }, `--set ${assignment}`);
    values[key] = value;
  }
  const envDir = Deno.env.get(DATA_DIR_ENV);
  if (values.data_dir === undefined && envDir) values.data_dir = envDir;
  const envBackend = Deno.env.get(BACKEND_ENV);
  if (values.backend === undefined && envBackend) values.backend = envBackend;
  return resolveConfig(values, source);
}

/** The config as YAML text (used to write `config.yaml` into run directories). */
export function configToYaml(config: Config): string {
  return YAML.stringify(config);
}
