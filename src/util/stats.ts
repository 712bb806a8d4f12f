/** Small descriptive statistics shared by reports, data summaries and benchmarks. */

/** Median of a non-empty list (mean of the two middle values for an even count); the input is not modified. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
