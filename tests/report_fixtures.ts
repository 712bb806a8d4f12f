/**
 * Grid directories as the runner leaves them, for report tests (grid.json and one summary.json per cell), and results
 * rows made by hand.
 */
import { join } from "node:path";
import { defaultConfig } from "../src/config/schema.ts";
import { type Cell, cellId } from "../src/experiments/grid.ts";
import type { ResultRow } from "../src/experiments/results.ts";
import { writeJsonAtomic } from "../src/util/fs.ts";

/** One fake run: axis values, final status and test NDCG@10 (null: no test metrics). */
export type FakeRun = { values: Record<string, unknown>; status: "completed" | "diverged"; ndcg10: number | null };

/** Writes a grid directory as the runner leaves it: grid.json and one summary.json per cell. */
export async function fakeGrid(dir: string, gridFile: string, axes: Record<string, unknown[]>, runs: FakeRun[]) {
  const cells: Cell[] = runs.map((r) => ({ id: cellId(r.values), values: r.values, config: defaultConfig() }));
  await writeJsonAtomic(join(dir, "grid.json"), { grid: gridFile, axes, seeds: [1, 2, 3], cells });
  for (const [i, r] of runs.entries()) {
    const metric = r.ndcg10 === null ? null : { "HR@10": 2 * r.ndcg10, "NDCG@10": r.ndcg10, MRR: r.ndcg10 / 2 };
    await writeJsonAtomic(join(dir, "runs", cells[i].id, "summary.json"), {
      status: r.status,
      test: metric,
      val: metric,
      nonfinite_batches: r.status === "diverged" ? 3 : 0,
      first_nonfinite: null,
    });
  }
}

/** One fake run per NDCG@10 value (null: no test metrics), seeds 1, 2, ...; status completed unless given. */
export const seeds = (
  values: Record<string, unknown>,
  ndcg: (number | null)[],
  status: FakeRun["status"] = "completed",
) => ndcg.map((ndcg10, i) => ({ values: { ...values, seed: i + 1 }, status, ndcg10 }));

/** A results row of a finished run with test NDCG@10 `ndcg` (null: no test metrics), HR@10 = 2 x NDCG@10. */
export function resultRow(
  id: string,
  values: Record<string, unknown>,
  ndcg: number | null,
  status = "completed",
): ResultRow {
  return {
    id,
    values,
    status: status as ResultRow["status"],
    first_nonfinite: null,
    nonfinite_batches: 0,
    skipped_batches: 0,
    patched_batches: 0,
    val: null,
    test: ndcg === null ? null : { "NDCG@10": ndcg, "HR@10": 2 * ndcg },
    slices: null,
    wall_time_s: 1,
    steps: 10,
    best: null,
    resumed: false,
    error: null,
    log: `logs/${id}.log`,
    epochs: 10,
    rung: null,
    rung_val: null,
    retries: 0,
  };
}
