/** Grid directories as the runner leaves them, for report tests: grid.json and one summary.json per cell. */
import { join } from "node:path";
import { defaultConfig } from "../src/config/schema.ts";
import { type Cell, cellId } from "../src/experiments/grid.ts";
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
