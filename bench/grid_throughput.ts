/**
 * `deno run -A bench/grid_throughput.ts [--grid FILE] [--workers N] [--rounds R]`: grid throughput of the local
 * executor, in cells per hour, at 1 worker and at N (default: `navigator.hardwareConcurrency`, what `deno task
 * ablate` uses when `--workers` is not given). Each round runs the whole grid (default
 * configs/grids/nan_ablation_smoke.yaml, 16 cells) with `src/cli/ablate.ts` into a fresh temporary directory, once
 * per worker count, alternating 1 and N; one untimed run first generates the synthetic data (shared by every run
 * through `--set data_dir=`). Prints one JSON line per run (wall seconds, cells, cells/hour, load average from
 * /proc/loadavg before and after) and a summary line with the medians and the speedup of N workers over 1.
 */
import { parseArgs } from "node:util";
import { expandGrid, loadGrid } from "../src/experiments/grid.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { median } from "../src/util/stats.ts";

const ABLATE = new URL("../src/cli/ablate.ts", import.meta.url).pathname;
const SMOKE_GRID = new URL("../configs/grids/nan_ablation_smoke.yaml", import.meta.url).pathname;

/** The 1-minute load average. */
function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

/** Runs the grid once with `workers` workers into a fresh directory under `tmp`; returns its wall seconds. */
async function runGrid(grid: string, workers: number, tmp: string, dataDir: string): Promise<number> {
  const out = await Deno.makeTempDir({ dir: tmp, prefix: `w${workers}-` });
  const args = ["run", "-A", ABLATE, "run", "--grid", grid, "--out", out, "--workers", String(workers)];
  args.push("--set", `data_dir=${dataDir}`);
  const start = performance.now();
  const result = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!result.success) {
    const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`grid run with ${workers} worker(s) failed (exit ${result.code}): ${tail}`);
  }
  return seconds;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0)) throw new UserError(`${flag} ${value}: expected an integer > 0`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: { grid: { type: "string" }, workers: { type: "string" }, rounds: { type: "string", default: "2" } },
  });
  const grid = values.grid ?? SMOKE_GRID;
  const many = values.workers ? positive(values.workers, "--workers") : navigator.hardwareConcurrency;
  const rounds = positive(values.rounds, "--rounds");
  const cells = expandGrid(await loadGrid(grid)).length;
  const tmp = await Deno.makeTempDir({ prefix: "ur4rec-grid-bench-" });
  try {
    const dataDir = `${tmp}/data`;
    await runGrid(grid, many, tmp, dataDir); // generates the data; not timed
    const times: Record<number, number[]> = { 1: [], [many]: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of [1, many]) {
        const loadBefore = loadAverage();
        const seconds = await runGrid(grid, workers, tmp, dataDir);
        times[workers].push(seconds);
        console.log(JSON.stringify({
          name: "grid_run",
          grid,
          workers,
          cells,
          wall_s: Math.round(seconds * 10) / 10,
          cells_per_hour: Math.round((cells * 3600) / seconds),
          load_before: loadBefore,
          load_after: loadAverage(),
        }));
      }
    }
    const [one, n] = [median(times[1]), median(times[many])];
    console.log(JSON.stringify({
      name: "grid_throughput",
      grid,
      cells,
      workers: many,
      cells_per_hour_1: Math.round((cells * 3600) / one),
      [`cells_per_hour_${many}`]: Math.round((cells * 3600) / n),
      speedup: Math.round((one / n) * 100) / 100,
      rounds,
    }));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) runMain(main);
