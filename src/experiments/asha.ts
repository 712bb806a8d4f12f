/**
 * Early termination across the cells of a sweep: successive halving on the epoch budget (Li et al. 2020, "A System
 * for Massively Parallel Hyperparameter Tuning"; the synchronous variant).
 *
 * `early_terminate: {type: asha, min_epochs: r, reduction_factor: eta, max_epochs: R}` with R = r * eta^k gives the
 * rungs r, r*eta, ..., R epochs per stage. Every trial (a cell's axis values; its seeds together) trains to the
 * first rung; when ALL cells of a rung have reported, the trials are ranked by their rung value (the mean over
 * seeds of the best validation `early_stop_metric` in metrics.jsonl so far; the summary's validation for a run
 * without epochs, such as Popularity) and the top max(1, floor(n / eta)) are promoted: their cells continue from
 * their checkpoints (`--resume`) with the next rung's `epochs_per_stage`; the others are stopped (results.csv status
 * `stopped`). Deciding only when a rung is complete makes every decision independent of the order cells finish in
 * (asynchronous ASHA promotes as soon as a cell lands in the top 1/eta, which keeps workers busier but depends on
 * timing). Trials without a value (every seed diverged or failed) are never promoted; ties go to the smaller trial
 * id. Decisions are recorded in `DIR/asha.json` as they are made, so a rerun after an interruption replays them and
 * continues with the next rung.
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { readJsonIfExists, writeJsonAtomic } from "../util/fs.ts";
import { epochRecordsOf, readMetrics } from "../run/metrics.ts";

/** The `early_terminate` block of a sweep file. */
export interface AshaSpec {
  type: "asha";
  /** Epochs per stage at the first rung (r). */
  min_epochs: number;
  /** Keep 1 in eta trials at each rung. */
  reduction_factor: number;
  /** Epochs per stage at the last rung (R = r * eta^k). */
  max_epochs: number;
}

/** One decided rung. */
export interface RungDecision {
  /** Epochs per stage the rung trained. */
  epochs: number;
  /** Cell id -> its rung value (null: no validation, e.g. diverged or failed). */
  cells: Record<string, number | null>;
  /** Trial key -> rung value (mean over its seeds with a value; null when none). */
  trials: Record<string, number | null>;
  /** Trial keys promoted to the next rung, best first. */
  promoted: string[];
}

/** Content of `DIR/asha.json`. */
export interface AshaRecord {
  spec: AshaSpec;
  /** Decided rungs in order (the last rung is never decided: its cells simply finish). */
  rungs: RungDecision[];
}

/** The file the decisions go to inside DIR. */
export const ASHA_FILE = "asha.json";

function positiveInteger(value: unknown, where: string, min: number): number {
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new UserError(`${where}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** Reads an `early_terminate` block; every error names `where` and the key. */
export function parseEarlyTerminate(raw: unknown, where: string): AshaSpec {
  const keys = ["type", "min_epochs", "reduction_factor", "max_epochs"];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UserError(`${where}: expected a mapping {type: asha, min_epochs, reduction_factor, max_epochs}`);
  }
  const block = raw as Record<string, unknown>;
  const unknown = Object.keys(block).find((k) => !keys.includes(k));
  if (unknown) throw new UserError(`${where}: unknown key "${unknown}" (expected ${keys.join(", ")})`);
  if (block.type !== "asha") throw new UserError(`${where}.type: expected asha, got ${JSON.stringify(block.type)}`);
  const spec: AshaSpec = {
    type: "asha",
    min_epochs: positiveInteger(block.min_epochs, `${where}.min_epochs`, 1),
    reduction_factor: positiveInteger(block.reduction_factor, `${where}.reduction_factor`, 2),
    max_epochs: positiveInteger(block.max_epochs, `${where}.max_epochs`, 1),
  };
  const budgets = rungBudgets(spec);
  if (budgets.at(-1) !== spec.max_epochs || budgets.length < 2) {
    const { min_epochs: r, reduction_factor: eta } = spec;
    throw new UserError(
      `${where}.max_epochs: expected min_epochs x reduction_factor^k with k >= 1 (${r * eta}, ${
        r * eta * eta
      }, ...), ` +
        `got ${spec.max_epochs}`,
    );
  }
  return spec;
}

/** Epochs per stage at each rung: r, r*eta, ... up to max_epochs. */
export function rungBudgets(spec: AshaSpec): number[] {
  const budgets = [spec.min_epochs];
  while (budgets.at(-1)! * spec.reduction_factor <= spec.max_epochs) {
    budgets.push(budgets.at(-1)! * spec.reduction_factor);
  }
  return budgets;
}

/**
 * A cell's rung value: the best `metric` over the validation records of `runDir/metrics.jsonl` (higher is better
 * for every metric), or null when it has none.
 */
export async function rungValue(runDir: string, metric: string): Promise<number | null> {
  let best: number | null = null;
  for (const record of epochRecordsOf(await readMetrics(runDir))) {
    const value = record.val?.[metric as keyof typeof record.val];
    if (typeof value === "number" && Number.isFinite(value) && (best === null || value > best)) best = value;
  }
  return best;
}

/**
 * Decides a rung: `cells` maps each cell id to its trial key and rung value. Trials are ranked by the mean value of
 * their cells that have one; the best max(1, floor(trials / eta)) with a value are promoted (ties: smaller key).
 */
export function decideRung(
  epochs: number,
  cells: { id: string; trial: string; value: number | null }[],
  eta: number,
): RungDecision {
  const byTrial = new Map<string, number[]>();
  for (const cell of cells) {
    const values = byTrial.get(cell.trial) ?? [];
    if (cell.value !== null) values.push(cell.value);
    byTrial.set(cell.trial, values);
  }
  const trials = Object.fromEntries(
    [...byTrial].map(([key, v]) => [key, v.length ? v.reduce((a, b) => a + b, 0) / v.length : null]),
  );
  const ranked = Object.entries(trials)
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const keep = Math.max(1, Math.floor(byTrial.size / eta));
  return {
    epochs,
    cells: Object.fromEntries(cells.map((c) => [c.id, c.value])),
    trials,
    promoted: ranked.slice(0, keep).map(([key]) => key),
  };
}

/** Reads `DIR/asha.json`, or a fresh record; refuses one written for other early-termination settings. */
export async function readAshaRecord(out: string, spec: AshaSpec): Promise<AshaRecord> {
  const record = await readJsonIfExists<AshaRecord>(join(out, ASHA_FILE));
  if (!record) return { spec, rungs: [] };
  if (JSON.stringify(record.spec) !== JSON.stringify(spec)) {
    throw new UserError(
      `${out}: ${ASHA_FILE} was written for early_terminate ${JSON.stringify(record.spec)}, not ` +
        `${JSON.stringify(spec)}; use a new --out directory`,
    );
  }
  return record;
}

/** Writes `DIR/asha.json` atomically. */
export function writeAshaRecord(out: string, record: AshaRecord): Promise<void> {
  return writeJsonAtomic(join(out, ASHA_FILE), record);
}

/**
 * Where a cell ended in a sweep's decisions: the last rung it trained (0-based) and, when its trial was not
 * promoted from that rung, `stopped` with its rung value. Null for a cell no decided rung lists.
 */
export function rungOutcome(
  record: AshaRecord,
  id: string,
  trial: string,
): { rung: number; stopped: boolean; value: number | null } | null {
  let outcome: { rung: number; stopped: boolean; value: number | null } | null = null;
  for (const [rung, decision] of record.rungs.entries()) {
    if (!(id in decision.cells)) continue;
    const promoted = decision.promoted.includes(trial);
    outcome = { rung: promoted ? rung + 1 : rung, stopped: !promoted, value: decision.cells[id] };
  }
  return outcome;
}
