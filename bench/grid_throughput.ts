/**
 * `deno run -A bench/grid_throughput.ts [--grid FILE] [--workers N] [--rounds R] [--process-per-cell]`: grid throughput
 * of the local executor, in cells per hour, at 1 worker and at N (default: `navigator.hardwareConcurrency`, what
 * `deno task ablate` uses when `--workers` is not given). Each round runs the whole grid (default
 * configs/grids/nan_ablation_smoke.yaml, 16 cells) with `src/cli/ablate.ts` into a fresh temporary directory, once
 * per worker count, alternating 1 and N; one untimed run first generates the synthetic data (shared by every run
 * through `--set data_dir=`). `--set KEY=VALUE` (repeatable) is passed to every run, e.g. to make the cells longer;
 * `--process-per-cell` is passed on too (one process per cell instead of cell workers, the runner before workers).
 * Prints one JSON line per run (wall seconds, cells, cells/hour, the cells phase: seconds from the first cell's start
 * to the last cell's end, without the runner's start and summary; the CPU seconds of all its processes and the cores
 * they kept busy on average, load average from /proc/loadavg before and after) and a summary line with the medians
 * and the speedups of N workers over 1, of the whole run and of the cells phase. The smoke grid's cells take ~0.1 s
 * each in a warm worker, so its whole run is mostly fixed start-up and summary; `--set synthetic_users=943 --set
 * synthetic_items=1682 --set sasrec_hidden_dim=64 --set sasrec_num_heads=2 --set batch_size=128 --set
 * epochs_per_stage=3 --set max_steps_per_epoch=8` gives cells of ML-100K's size (docs/performance.md, "Grid
 * throughput").
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
  processPerCell: boolean,
): Promise<{ wall: number; cpu: number; cellsPhase: number }> {
  const out = await Deno.makeTempDir({ dir: tmp, prefix: `w${workers}-` });
  const args = ["run", "-A", ABLATE, "run", "--grid", grid, "--out", out, "--workers", String(workers)];
  for (const set of sets) args.push("--set", set);
  if (processPerCell) args.push("--process-per-cell");
  const [start, cpuBefore] = [performance.now(), childrenCpuSeconds()];
  const result = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const wall = (performance.now() - start) / 1000;
  if (!result.success) {
    const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`grid run with ${workers} worker(s) failed (exit ${result.code}): ${tail}`);
  }
  return { wall, cpu: childrenCpuSeconds() - cpuBefore, cellsPhase: await cellsPhaseSeconds(out) };
}

/**
 * Seconds from the first cell's start (the time in the first header of its log.txt) to the last cell's end (the
 * modification time of its exit.json): the grid run without the runner's start, planning and summary.
 */
async function cellsPhaseSeconds(out: string): Promise<number> {
  let [first, last] = [Infinity, -Infinity];
  for await (const run of Deno.readDir(`${out}/runs`)) {
    const dir = `${out}/runs/${run.name}`;
    const header = (await Deno.readTextFile(`${dir}/log.txt`)).match(/^### (\S+) /)!;
    first = Math.min(first, Date.parse(header[1]));
    last = Math.max(last, (await Deno.stat(`${dir}/exit.json`)).mtime!.getTime());
  }
  return (last - first) / 1000;
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
      "process-per-cell": { type: "boolean", default: false },
    },
  });
  const grid = values.grid ?? SMOKE_GRID;
  const many = values.workers ? positive(values.workers, "--workers") : navigator.hardwareConcurrency;
  const rounds = positive(values.rounds, "--rounds");
  const cells = expandGrid(await loadGrid(grid)).length;
  const tmp = await Deno.makeTempDir({ prefix: "ur4rec-grid-bench-" });
  try {
    const sets = [`data_dir=${tmp}/data`, ...values.set];
    const perCell = values["process-per-cell"];
    await runGrid(grid, many, tmp, sets, perCell); // generates the data; not timed
    const times: Record<number, number[]> = { 1: [], [many]: [] };
    const phases: Record<number, number[]> = { 1: [], [many]: [] };
    for (let round = 0; round < rounds; round++) {
      for (const workers of [1, many]) {
        const loadBefore = loadAverage();
        const { wall: seconds, cpu, cellsPhase } = await runGrid(grid, workers, tmp, sets, perCell);
        times[workers].push(seconds);
        phases[workers].push(cellsPhase);
        console.log(JSON.stringify({
          name: "grid_run",
          grid,
          workers,
          cells,
          wall_s: Math.round(seconds * 10) / 10,
          cells_per_hour: Math.round((cells * 3600) / seconds),
          cells_phase_s: Math.round(cellsPhase * 10) / 10,
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
      cells_phase_speedup: Math.round((median(phases[1]) / median(phases[many])) * 100) / 100,
      process_per_cell: perCell,
      rounds,
    }));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) runMain(main);
