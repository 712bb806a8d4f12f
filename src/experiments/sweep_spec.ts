/**
 * The search part of a grid file (`configs/grids/*.yaml`): how the axes are explored.
 * - `search: grid` (default): every axis is a list of values; the cells are the cartesian product.
 * - `search: random` with `trials: N` and `search_seed: S` (default 0): each axis is a list (a choice) or a range,
 *   `{uniform: [a, b]}`, `{log_uniform: [a, b]}` (0 < a < b), `{int: [a, b]}` (both ends included) or
 *   `{choice: [v, ...]}`; N distinct trials are drawn with the project's seeded generator (src/rng.ts), axes in key
 *   order, floats rounded to 4 significant digits, so the same file gives the same trials. Draws matching an
 *   exclusion or repeating an earlier trial are drawn again.
 */
import { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";

/** A sampled axis: a continuous range, an integer range, or a finite choice. */
export type Range =
  | { kind: "uniform"; low: number; high: number }
  | { kind: "log_uniform"; low: number; high: number }
  | { kind: "int"; low: number; high: number }
  | { kind: "choice"; values: unknown[] };

/** How the axes are explored. */
export type SearchMethod = "grid" | "random";

/** Significant digits kept of a sampled float (readable ids and configs). */
const FLOAT_DIGITS = 4;
/** Draws per requested trial before concluding the space is too small. */
const DRAWS_PER_TRIAL = 100;
const RANGE_KINDS = ["uniform", "log_uniform", "int", "choice"] as const;

/**
 * Reads one axis of a file with search `method`: a non-empty list, or (random search only) a range mapping.
 * `where` names the file and key in errors.
 */
export function parseAxis(raw: unknown, method: SearchMethod, where: string): Range {
  if (Array.isArray(raw)) {
    if (raw.length === 0) throw new UserError(`${where}: expected at least one value`);
    return { kind: "choice", values: raw };
  }
  const keys = raw !== null && typeof raw === "object" ? Object.keys(raw) : [];
  const kind = RANGE_KINDS.find((k) => keys.length === 1 && keys[0] === k);
  if (method === "grid" || kind === undefined) {
    const forms = method === "grid"
      ? "a list of values (ranges need search: random)"
      : "a list of values or one of {uniform: [a, b]}, {log_uniform: [a, b]}, {int: [a, b]}, {choice: [...]}";
    throw new UserError(`${where}: expected ${forms}, got ${JSON.stringify(raw)}`);
  }
  const arg = (raw as Record<string, unknown>)[kind];
  if (kind === "choice") return parseAxis(arg, "grid", `${where}.choice`);
  const pair = Array.isArray(arg) && arg.length === 2 && arg.every((x) => typeof x === "number" && Number.isFinite(x));
  if (!pair) throw new UserError(`${where}.${kind}: expected [low, high], two numbers, got ${JSON.stringify(arg)}`);
  const [low, high] = arg as number[];
  if (!(low < high)) throw new UserError(`${where}.${kind}: expected low < high, got [${low}, ${high}]`);
  if (kind === "log_uniform" && low <= 0) throw new UserError(`${where}.log_uniform: expected 0 < low, got ${low}`);
  if (kind === "int" && !(Number.isInteger(low) && Number.isInteger(high))) {
    throw new UserError(`${where}.int: expected integers, got [${low}, ${high}]`);
  }
  return { kind, low, high };
}

/** The values of a range that a config check should try: every choice, or both ends of a numeric range. */
export function probeValues(range: Range): unknown[] {
  return range.kind === "choice" ? range.values : [range.low, range.high];
}

/** One draw from `range`. */
export function sample(range: Range, rng: Rng): unknown {
  switch (range.kind) {
    case "choice":
      return range.values[rng.int(0, range.values.length)];
    case "int":
      return rng.int(range.low, range.high + 1);
    case "uniform":
      return Number((range.low + (range.high - range.low) * rng.next()).toPrecision(FLOAT_DIGITS));
    case "log_uniform": {
      const [a, b] = [Math.log(range.low), Math.log(range.high)];
      return Number(Math.exp(a + (b - a) * rng.next()).toPrecision(FLOAT_DIGITS));
    }
  }
}

/**
 * Draws `trials` distinct trials (axis -> value, keys in `ranges` order) from generator seed `seed`, skipping draws
 * that `excluded` rejects or that repeat a trial; a UserError naming `where` when the space cannot supply them.
 */
export function drawTrials(
  ranges: Record<string, Range>,
  trials: number,
  seed: number,
  excluded: (values: Record<string, unknown>) => boolean,
  where: string,
): Record<string, unknown>[] {
  const rng = new Rng(seed);
  const drawn: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (let draw = 0; drawn.length < trials; draw++) {
    if (draw >= trials * DRAWS_PER_TRIAL) {
      throw new UserError(
        `${where}: trials: ${trials} distinct trials wanted, only ${drawn.length} found in ${draw} draws ` +
          `(the axes and exclusions allow fewer; lower trials or use search: grid)`,
      );
    }
    const values = Object.fromEntries(Object.entries(ranges).map(([key, range]) => [key, sample(range, rng)]));
    const key = JSON.stringify(values);
    if (seen.has(key) || excluded(values)) continue;
    seen.add(key);
    drawn.push(values);
  }
  return drawn;
}

/**
 * The levels of each axis that `trials` use, for tables and summaries: a choice's values in file order, a range's
 * drawn values ascending.
 */
export function levelsOf(ranges: Record<string, Range>, trials: Record<string, unknown>[]): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(ranges).map(([key, range]) => {
      const used = new Set(trials.map((t) => JSON.stringify(t[key])));
      const levels = range.kind === "choice"
        ? range.values.filter((v) => used.has(JSON.stringify(v)))
        : [...used].map((v) => JSON.parse(v) as number).sort((a, b) => a - b);
      return [key, levels];
    }),
  );
}
