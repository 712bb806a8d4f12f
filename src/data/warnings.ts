/**
 * Readable lines for every drop and substitution that is not part of the preset's own protocol (repeated or
 * unknown-item ratings, missing texts and vectors replaced by templates, placeholders or zero rows), built from
 * the counts of the preprocessing and text reports. Each is printed once to stderr as `warning: ...` and recorded
 * in the run's `summary.json` (`data.warnings`) and in `deno task data stats`; a share above `LARGE_SHARE` is
 * called out in capitals.
 */
import type { Config } from "../config/schema.ts";
import { resolveTieOrder, type TieOrder } from "./ties.ts";
import type { Dataset, TextVectors } from "./types.ts";

/** Share of users/items/ratings above which a drop or substitution is flagged as large. */
export const LARGE_SHARE = 0.05;

/** One report count that becomes a warning when non-zero: what was counted and what was done about it. */
interface CountRule {
  key: string;
  /** What the total counts ("ratings", "items", "users"). */
  of: "ratings" | "items" | "users";
  text: string;
}

const RULES: CountRule[] = [
  {
    key: "ratings_dropped_duplicate",
    of: "ratings",
    text: "repeat an earlier (user, item) pair and were dropped (duplicate_ratings: drop_keep_first)",
  },
  {
    key: "ratings_dropped_unknown_item",
    of: "ratings",
    text: "name an item absent from the item file and were dropped",
  },
  { key: "items_missing_text", of: "items", text: "have no shipped description; the template text is used instead" },
  {
    key: "items_placeholder_text",
    of: "items",
    text: "have the placeholder description; the template text is used instead",
  },
  { key: "users_missing_text", of: "users", text: "have no shipped preference text; the placeholder text is used" },
  { key: "users_placeholder_text", of: "users", text: "have the placeholder preference text" },
  { key: "items_missing_vector", of: "items", text: "have no precomputed vector; a zero row is used" },
  { key: "users_missing_vector", of: "users", text: "have no precomputed vector; a zero row is used" },
];

/**
 * The warning lines for the non-zero counts of `report` that `RULES` knows, e.g.
 * "2 of 10 ratings (20.0%) name an item absent from the item file and were dropped [ratings_dropped_unknown_item];
 * MORE THAN 5%: check the input files". `totals` gives the denominators.
 */
export function countWarnings(
  report: Record<string, number>,
  totals: Partial<Record<CountRule["of"], number>>,
): string[] {
  const lines: string[] = [];
  for (const rule of RULES) {
    const count = report[rule.key] ?? 0;
    const total = totals[rule.of];
    if (count === 0 || total === undefined) continue;
    const share = total > 0 ? count / total : 1;
    const large = share > LARGE_SHARE ? `; MORE THAN ${LARGE_SHARE * 100}%: check the input files` : "";
    lines.push(
      `${count} of ${total} ${rule.of} (${(share * 100).toFixed(1)}%) ${rule.text} [${rule.key}]${large}`,
    );
  }
  return lines;
}

/** Prints each warning as one `warning: ...` line on stderr. */
export function printWarnings(warnings: string[]): void {
  for (const w of warnings) console.error(`warning: ${w}`);
}

/** The `data` section of a run's `summary.json`: every drop count and every substitution of its data. */
export interface DataSummary {
  dataset: string;
  preset: string;
  /** The split the report's tie counts (`users_*_target_tied`) were counted for. */
  split: string;
  duplicate_ratings: string;
  /** The order given to equal timestamps (`tie_order`, or the preset's when null). */
  tie_order: TieOrder;
  /**
   * The preprocessing report (`FilterReport`): ratings read, every drop count, users and items kept, and the users
   * whose validation/test targets the tie order decides (ties.ts `tieCounts`).
   */
  report: Record<string, number>;
  /** The text side's report (missing texts, placeholders, zero rows), null when the model uses no texts. */
  texts: Record<string, number> | null;
  /** Every warning printed for the dataset and its texts. */
  warnings: string[];
}

/** The `DataSummary` of a loaded dataset and (for models with texts) its text vectors. */
export function dataSummary(
  config: Pick<Config, "preset" | "split" | "duplicate_ratings" | "tie_order">,
  dataset: Pick<Dataset, "name" | "report" | "warnings">,
  texts?: Pick<TextVectors, "report" | "warnings">,
): DataSummary {
  return {
    dataset: dataset.name,
    preset: config.preset,
    split: config.split,
    duplicate_ratings: config.duplicate_ratings,
    tie_order: resolveTieOrder(config.preset, config.tie_order),
    report: dataset.report,
    texts: texts?.report ?? null,
    warnings: [...dataset.warnings, ...(texts?.warnings ?? [])],
  };
}
