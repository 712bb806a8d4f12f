/**
 * Grid and sweep specs (`configs/grids/*.yaml`) and their expansion into cells.
 *
 * A grid file holds `base` (a config file path relative to the grid file, or an inline mapping of config keys),
 * optional `set` overrides, `axes` (config key -> list of values, or a range with `search: random`; see
 * sweep_spec.ts), `seeds` and optional `exclude` (partial mappings; a cell matching every key of one is left out),
 * and optionally `early_terminate` (successive halving, see asha.ts), `max_failures` (retries of a crashed cell) and
 * `slurm` (what each Slurm array task asks for, slurm_resources.ts).
 * Expansion is the cartesian product of the axes (or the drawn trials) times the seeds, minus exclusions; each cell
 * gets a stable id derived from its values and a fully resolved config.
 */
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { applyOverrides, type Origins, parseConfigYaml, readText, resolveConfig, toOverride } from "../config/load.ts";
import { type Config, CONFIG_KEYS } from "../config/schema.ts";
import { nearest, UserError } from "../util/errors.ts";
import { type AshaSpec, parseEarlyTerminate } from "./asha.ts";
import { type SlurmResources, SlurmResourcesSchema } from "./slurm_resources.ts";
import { drawTrials, levelsOf, parseAxis, probeValues, type Range } from "./sweep_spec.ts";

/** The shape of a grid file. */
export const GridSpecSchema = z.object({
  base: z.union([z.string(), z.record(z.string(), z.unknown())]).default({}),
  set: z.record(z.string(), z.unknown()).default({}),
  axes: z.record(z.string(), z.unknown()).default({}),
  seeds: z.array(z.number().int().min(0)).min(1),
  exclude: z.array(z.record(z.string(), z.unknown())).default([]),
  search: z.enum(["grid", "random"]).default("grid"),
  trials: z.number().int().min(1).optional(),
  search_seed: z.number().int().min(0).optional(),
  early_terminate: z.unknown().optional(),
  max_failures: z.number().int().min(0).default(0),
  slurm: SlurmResourcesSchema.optional(),
}).strict();

/** A validated grid: the config values every cell starts from, the axes (keys sorted), seeds and exclusions. */
export interface Grid {
  /** The grid file. */
  path: string;
  /** Base config values after `set` and command-line `--set` overrides (validated, not yet defaulted). */
  base: Record<string, unknown>;
  /**
   * Axis key -> values in file order (random search: the values the trials use); keys sorted so that expansion does
   * not depend on the file's key order.
   */
  axes: Record<string, unknown[]>;
  seeds: number[];
  exclude: Record<string, unknown>[];
  /** Random search: the drawn trials (axis values), in draw order; grid search: undefined (cartesian product). */
  trials?: Record<string, unknown>[];
  /** Successive halving over the epoch budget, when the file asks for it (cells then train `max_epochs`). */
  earlyTerminate?: AshaSpec;
  /** Retries of a crashed cell within one run (0: none). */
  maxFailures: number;
  /** What each Slurm array task asks for (the `slurm:` mapping; `ablate` flags override it). */
  slurm?: SlurmResources;
}

/** One run of a grid. */
export interface Cell {
  /** Stable id: readable `key=value` pairs (sorted by key, seed included) plus a short hash of the values. */
  id: string;
  /** Axis values and `seed`, keys sorted. */
  values: Record<string, unknown>;
  config: Config;
}

/** A value as it appears in ids, CSV columns and tables: lists joined by "+", everything else as text. */
export function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatValue).join("+");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Canonical text of a value, used to compare values (0.1 from YAML and 0.1 from JSON are the same). */
function canonical(value: unknown): string {
  return JSON.stringify(value);
}

/** The longest readable part of an id, so run directory names stay well under file-name limits. */
const MAX_READABLE_ID = 160;

/** The stable id of a set of values: independent of key order, distinct for distinct values. */
export function cellId(values: Record<string, unknown>): string {
  const keys = Object.keys(values).sort();
  const readable = keys.map((k) => `${k}=${formatValue(values[k])}`).join(",").replace(/[^A-Za-z0-9._=,+-]/g, "_");
  const hash = createHash("sha256").update(canonical(keys.map((k) => [k, values[k]]))).digest("hex").slice(0, 8);
  return `${readable.slice(0, MAX_READABLE_ID)}-${hash}`;
}

/** The key of a cell's trial: the id of its axis values without the seed (its seeds share it). */
export function trialKey(values: Record<string, unknown>): string {
  return cellId(Object.fromEntries(Object.entries(values).filter(([k]) => k !== "seed")));
}

async function readBase(spec: z.infer<typeof GridSpecSchema>, path: string): Promise<Record<string, unknown>> {
  if (typeof spec.base !== "string") return resolveBase(spec.base, `${path}: base`);
  const basePath = resolve(dirname(path), spec.base);
  const notFound = `${path}: key "base": config file ${spec.base} not found (looked at ${basePath})`;
  const text = await readText(basePath, notFound, "a config file");
  return resolveBase(parseConfigYaml(text, basePath), basePath);
}

/** Validates config values (names `source` in errors) and returns them unchanged. */
function resolveBase(values: Record<string, unknown>, source: string): Record<string, unknown> {
  resolveConfig(values, source);
  return values;
}

/** Validates the axes against the base config and returns them as ranges; keys sorted. */
function checkAxes(
  spec: z.infer<typeof GridSpecSchema>,
  base: Record<string, unknown>,
  path: string,
): Record<string, Range> {
  const ranges: Record<string, Range> = {};
  for (const key of Object.keys(spec.axes).sort()) {
    if (key === "seed") throw new UserError(`${path}: axes: "seed" is not an axis; list seeds under "seeds"`);
    if (!CONFIG_KEYS.includes(key)) {
      const hint = nearest(key, CONFIG_KEYS);
      throw new UserError(`${path}: axes: unknown config key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
    const range = parseAxis(spec.axes[key], spec.search, `${path}: axes.${key}`);
    const seen = new Set<string>();
    probeValues(range).forEach((value, i) => {
      if (range.kind === "choice" && seen.has(canonical(value))) {
        throw new UserError(`${path}: axes.${key}: value ${canonical(value)} is listed twice`);
      }
      seen.add(canonical(value));
      const where = range.kind === "choice" ? `[${i}]` : `.${range.kind}[${i}]`;
      try {
        resolveConfig({ ...base, [key]: value }, `${path}: axes.${key}${where}`);
      } catch (err) {
        // A list value that another list axis makes valid (text_use with model) is checked per cell instead.
        if (!(err instanceof UserError && range.kind === "choice" && hasOtherListAxis(spec, key))) throw err;
      }
    });
    ranges[key] = range;
  }
  return ranges;
}

function hasOtherListAxis(spec: z.infer<typeof GridSpecSchema>, key: string): boolean {
  return Object.keys(spec.axes).some((other) => other !== key && Array.isArray(spec.axes[other]));
}

/**
 * Every combination of a grid's list axes that some seed keeps must be a valid config; the error names the cell's
 * values (a value that is only valid with another axis's value, e.g. `text_use` with `model`, needs `exclude` rules
 * for the other combinations).
 */
function checkCombinations(grid: Grid): void {
  for (const combo of cartesian(grid.axes)) {
    if (grid.seeds.every((seed) => isExcluded({ ...combo, seed }, grid.exclude))) continue;
    const cell = Object.entries(combo).map(([k, v]) => `${k} = ${canonical(v)}`).join(", ");
    resolveConfig({ ...grid.base, ...combo }, `${grid.path}: cell ${cell} (not excluded)`);
  }
}

/** The search settings: `trials`/`search_seed` only with `search: random`, which needs `trials`. */
function checkSearch(spec: z.infer<typeof GridSpecSchema>, path: string): void {
  if (spec.search === "random" && spec.trials === undefined) {
    throw new UserError(`${path}: key "trials": search: random needs the number of trials to draw`);
  }
  for (const key of ["trials", "search_seed"] as const) {
    if (spec.search === "grid" && spec[key] !== undefined) {
      throw new UserError(`${path}: key "${key}": only used with search: random (this file searches the grid)`);
    }
  }
}

/** Keys an early-terminated sweep sets itself or compares across cells, so they may not vary. */
const ASHA_FIXED_KEYS = ["epochs_per_stage", "early_stop_metric"];

function checkExclusions(grid: Grid, ranges: Record<string, Range>): void {
  const levels: Record<string, unknown[]> = { seed: grid.seeds };
  for (const [key, range] of Object.entries(ranges)) if (range.kind === "choice") levels[key] = range.values;
  grid.exclude.forEach((rule, i) => {
    const where = `${grid.path}: exclude[${i}]`;
    if (Object.keys(rule).length === 0) throw new UserError(`${where}: an empty mapping would exclude every cell`);
    for (const [key, value] of Object.entries(rule)) {
      if (key in ranges && !(key in levels)) {
        throw new UserError(`${where}: "${key}" is a range axis; exclusions name list axes and seed only`);
      }
      if (!(key in levels)) {
        throw new UserError(`${where}: "${key}" is not an axis (axes: ${Object.keys(levels).join(", ")})`);
      }
      if (!levels[key].some((level) => canonical(level) === canonical(value))) {
        throw new UserError(
          `${where}: ${key} = ${canonical(value)} is not one of its values ${canonical(levels[key])}`,
        );
      }
    }
  });
}

/**
 * Loads and validates a grid file. `sets` are command-line `key=value` overrides applied on top of the base and
 * the file's `set` (they may not name an axis). Every error is a `UserError` naming the grid file and the key.
 */
export async function loadGrid(path: string, sets: string[] = []): Promise<Grid> {
  const text = await readText(path, `${path}: grid file not found`, "a grid file");
  const parsed = GridSpecSchema.safeParse(parseConfigYaml(text, path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: key "${issue.path.join(".")}": ${issue.message}`);
  }
  const spec = parsed.data;
  const base = { ...await readBase(spec, path), ...resolveBase(spec.set, `${path}: set`) };
  const overrides = sets.map(toOverride);
  const axis = overrides.find((o) => o.key in spec.axes);
  if (axis) throw new UserError(`${axis.source}: "${axis.key}" is an axis of ${path}`);
  const origins: Origins = {};
  applyOverrides(base, origins, overrides);
  resolveConfig(base, path, origins);
  checkSearch(spec, path);
  const ranges = checkAxes(spec, base, path);
  if (new Set(spec.seeds).size !== spec.seeds.length) throw new UserError(`${path}: seeds: a seed is listed twice`);
  const earlyTerminate = spec.early_terminate === undefined
    ? undefined
    : parseEarlyTerminate(spec.early_terminate, `${path}: early_terminate`);
  const fixed = ASHA_FIXED_KEYS.find((key) => key in ranges);
  if (earlyTerminate && fixed) {
    throw new UserError(`${path}: axes.${fixed}: may not vary in a sweep with early_terminate`);
  }
  const grid: Grid = {
    path,
    base,
    axes: Object.fromEntries(Object.entries(ranges).map(([k, r]) => [k, probeValues(r)])),
    seeds: spec.seeds,
    exclude: spec.exclude,
    earlyTerminate,
    maxFailures: spec.max_failures,
    slurm: spec.slurm,
  };
  checkExclusions(grid, ranges);
  if (spec.search === "random") {
    // A trial is excluded when every seed of it is.
    const excluded = (values: Record<string, unknown>) =>
      spec.seeds.every((seed) => isExcluded({ ...values, seed }, spec.exclude));
    grid.trials = drawTrials(ranges, spec.trials!, spec.search_seed ?? 0, excluded, path);
    grid.trials.forEach((trial, t) => resolveConfig({ ...base, ...trial }, `${path}: axes (trial ${t + 1} drawn)`));
    grid.axes = levelsOf(ranges, grid.trials);
  } else checkCombinations(grid);
  return grid;
}

function isExcluded(values: Record<string, unknown>, exclude: Record<string, unknown>[]): boolean {
  return exclude.some((rule) => Object.entries(rule).every(([k, v]) => canonical(values[k]) === canonical(v)));
}

/** Every combination of the axes' values, the first key varying slowest. */
function cartesian(axes: Record<string, unknown[]>): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [key, levels] of Object.entries(axes)) {
    combos = combos.flatMap((combo) => levels.map((level) => ({ ...combo, [key]: level })));
  }
  return combos;
}

/**
 * The cells of a grid: axes in key order (first key varies slowest) or the drawn trials in draw order, seeds
 * innermost, exclusions removed. With early termination every cell's budget is `max_epochs` epochs per stage.
 */
export function expandGrid(grid: Grid): Cell[] {
  const budget = grid.earlyTerminate ? { epochs_per_stage: grid.earlyTerminate.max_epochs } : {};
  const cells: Cell[] = [];
  for (const combo of grid.trials ?? cartesian(grid.axes)) {
    for (const seed of grid.seeds) {
      const unsorted: Record<string, unknown> = { ...combo, seed };
      const values = Object.fromEntries(Object.keys(unsorted).sort().map((k) => [k, unsorted[k]]));
      if (isExcluded(values, grid.exclude)) continue;
      const config = resolveConfig({ ...grid.base, ...values, ...budget }, grid.path);
      cells.push({ id: cellId(values), values, config });
    }
  }
  return cells;
}
