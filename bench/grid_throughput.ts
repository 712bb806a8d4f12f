/**
 * `deno run -A bench/grid_throughput.ts [--grid FILE] [--workers N] [--rounds R]`: grid throughput of the local
 * executor, in cells per hour, at 1 worker and at N (default: `navigator.hardwareConcurrency`, what `deno task
 * ablate` uses when `--workers` is not given). Each round runs the whole grid (default
 * configs/grids/nan_ablation_smoke.yaml, 16 cells) with `src/cli/ablate.ts` into a fresh temporary directory, once
 * per worker count, alternating 1 and N; one untimed run first generates the synthetic data (shared by every run
 * through `--set data_dir=`). `--set KEY=VALUE` (repeatable) is passed to every run, e.g. to make the cells longer.
 * Prints one JSON line per run (wall seconds, cells, cells/hour, the CPU seconds of all its processes and the cores
 * they kept busy on average, load average from /proc/loadavg before and after) and a summary line with the medians
 * and the speedup of N workers over 1. `cores_busy` of the 1-worker runs bounds the speedup: a cell process that
 * keeps 1.4 cores busy by itself (V8's compiler and GC threads) can gain at most 2 / 1.4 on 2 cores. The smoke grid's
 * cells are mostly process start-up; `--set synthetic_users=943 --set synthetic_items=1682 --set sasrec_hidden_dim=64
 * --set sasrec_num_heads=2 --set batch_size=128 --set epochs_per_stage=3 --set max_steps_per_epoch=8` gives cells of
 * ML-100K's size (docs/performance.md, "Grid throughput").
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

/**
 * CPU seconds (user + system) of this process's finished, waited-for descendants: fields cutime and cstime of
 * /proc/self/stat, in clock ticks of 1/100 s (Linux's USER_HZ).
 */
function childrenCpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").replace(/^.*\) /, "").split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // fields 16 and 17, counted from the state field (3)
}

/**
 * Runs the grid once with `workers` workers into a fresh directory under `tmp`, with `sets` as extra `--set`
 * options; returns its wall seconds and the CPU seconds of all its processes.
 */
async function runGrid(
  grid: string,
  workers: number,
  tmp: string,
  sets: string[],
): Promise<{ wall: number; cpu: number }> {
  const out = await Deno.makeTempDir({ dir: tmp, prefix: `w${workers}-` });
  const args = ["run", "-A", ABLATE, "run", "--grid", grid, "--out", out, "--workers", String(workers)];
  for (const set of sets) args.push("--set", set);
  const [start, cpuBefore] = [performance.now(), childrenCpuSeconds()];
  const result = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const wall = (performance.now() - start) / 1000;
  if (!result.success) {
    const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`grid run with ${workers} worker(s) failed (exit ${result.code}): ${tail}`);
  }
  return { wall, cpu: childrenCpuSeconds() - cpuBefore };
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0)) throw new UserError(`${flag} ${value}: expected an integer > 0`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      grid: { type: "string" },
      workers: { type: "string" },
      rounds: { type: "string", default: "2" },
      set: { type: "string", multiple: true, default: [] },
    },
  });
  const grid = values.grid ?? SMOKE_GRID;
  const many = values.workers ? positive(values.workers, "--workers") : navigator.hardwareConcurrency;
  const rounds = positive(values.rounds, "--rounds");
  const cells = expandGrid(await loadGrid(grid)).length;
  const tmp = await Deno.makeTempDir({ prefix: "ur4rec-grid-bench-" });
  try {
    const sets = [`data_dir=${tmp}/data`, ...values.set];
    await runGrid(grid, many, tmp, sets); // generates the data; not timed
    const times: Record<number, number[]> = { 1: [], [many]: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of [1, many]) {
        const loadBefore = loadAverage();
        const { wall: seconds, cpu } = await runGrid(grid, workers, tmp, sets);
        times[workers].push(seconds);
        console.log(JSON.stringify({
          name: "grid_run",
          grid,
          workers,
          cells,
          wall_s: Math.round(seconds * 10) / 10,
          cells_per_hour: Math.round((cells * 3600) / seconds),
          cpu_s: Math.round(cpu * 10) / 10,
          cores_busy: Math.round((cpu / seconds) * 100) / 100,
          load_before: loadBefore,
          load_after: loadAverage(),
        }));
      }
    }
    const [one, n] = [median(times[1]), median(times[many])];
    console.log(JSON.stringify({
      name: "grid_throughput",
      grid,
      set: values.set,
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
