/**
 * Ranking metrics for one held-out target per user (docs/original.md#evaluation, with the tie and NaN fixes of F6):
 * rank r by `tie_policy`, then HR@K = [r <= K], NDCG@K = [r <= K] / log2(r + 1), MRR = 1 / r (not truncated),
 * averaged over users, for the names in `METRIC_NAMES`.
 * A row whose target or any candidate score is non-finite gets the worst rank (1 + number of other candidates)
 * and is counted, never skipped.
 */
import { type Config, METRIC_NAMES } from "../config/schema.ts";
import type { MetricName, Metrics } from "../run/records.ts";

/** How a target tied with other candidates is ranked. */
export type TiePolicy = Config["tie_policy"];

/** The rank of a target that `greater` candidates outscore and `ties` candidates tie. */
export function rankFromCounts(greater: number, ties: number, policy: TiePolicy): number {
  switch (policy) {
    case "pessimistic":
      return 1 + greater + ties;
    case "optimistic":
      return 1 + greater;
    case "average":
      return 1 + greater + ties / 2;
  }
}

/** The rank of `target` among `others` (the other candidates' scores); `nonfinite` rows get the worst rank. */
export function rankOf(target: number, others: ArrayLike<number>, policy: TiePolicy): {
  rank: number;
  nonfinite: boolean;
} {
  let greater = 0;
  let ties = 0;
  let nonfinite = !Number.isFinite(target);
  for (let i = 0; i < others.length; i++) {
    if (!Number.isFinite(others[i])) nonfinite = true;
    if (others[i] > target) greater++;
    else if (others[i] === target) ties++;
  }
  if (nonfinite) return { rank: 1 + others.length, nonfinite };
  return { rank: rankFromCounts(greater, ties, policy), nonfinite };
}

/** The contribution of one user with target rank `rank` to metric `name`. */
export function metricValue(name: MetricName, rank: number): number {
  if (name === "MRR") return 1 / rank;
  const [kind, k] = name.split("@");
  if (rank > Number(k)) return 0;
  return kind === "HR" ? 1 : 1 / Math.log2(rank + 1);
}

/** Every metric in `METRIC_NAMES`, averaged over the given per-user ranks (at least one). */
export function metricsFromRanks(ranks: ArrayLike<number>): Metrics {
  if (ranks.length === 0) throw new Error("metricsFromRanks: no ranks to average");
  const metrics = {} as Metrics;
  for (const name of METRIC_NAMES) {
    let sum = 0;
    for (let i = 0; i < ranks.length; i++) sum += metricValue(name, ranks[i]);
    metrics[name] = sum / ranks.length;
  }
  return metrics;
}
