/**
 * The local executor: cells run on this machine, `workers` at a time, each in a cell worker that runs cell after cell
 * in process (worker_pool.ts), or, with `processPerCell`, each in a `deno run` process of its own (cell.ts `runCell`,
 * as a Slurm task runs it). Both give the same numbers (tests/grid_workers_test.ts); a worker saves each cell the
 * process start (docs/performance.md, "Grid throughput").
 */
import { type CellTask, recordNotRun, runCell } from "./cell.ts";
import { reportEnded } from "./progress.ts";
import type { Executor } from "./runner.ts";
import { CellWorker } from "./worker_pool.ts";

/** Options of the local executor. */
export interface LocalOptions {
  /** Run each cell in a process of its own instead of in cell workers. */
  processPerCell?: boolean;
}

/** Runs cells on this machine, at most `workers` at once (see the module comment). */
export function localExecutor(workers: number, options: LocalOptions = {}): Executor {
  /** Workers started (or starting) and not running a cell. */
  let idle: Promise<CellWorker>[] = [];
  const live = new Set<CellWorker>();
  const startWorker = (script: string) => {
    const worker = CellWorker.start(script).then((w) => (live.add(w), w));
    worker.catch(() => {}); // a failure is seen where the worker is awaited
    return worker;
  };
  const retire = (worker: CellWorker) => worker.close(true).finally(() => live.delete(worker));
  /** The worker a slot runs `task` in: its own while usable, else an idle one still usable, else a new one. */
  const workerFor = async (task: CellTask, own: CellWorker | undefined) => {
    if (own?.usable) return own;
    if (own) await retire(own);
    for (let next = idle.shift(); next; next = idle.shift()) {
      const worker = await next;
      if (worker.usable) return worker;
      await retire(worker);
    }
    return await startWorker(task.script);
  };
  const runInWorker = async (task: CellTask, own: CellWorker | undefined, signal?: AbortSignal) => {
    let worker: CellWorker;
    try {
      worker = await workerFor(task, own);
    } catch (err) { // the script imported before, so this is the machine (out of memory, processes): the cell fails
      await recordNotRun(task.runDir, `its cell worker did not start: ${err}`);
      return undefined;
    }
    if (!signal?.aborted) await worker.run(task, signal); // aborted while the worker started: the cell stays pending
    return worker;
  };
  return {
    name: "local",
    async start(script, unfinished) {
      if (options.processPerCell) return;
      // One worker even with nothing to run: it checks the script. The others start together, now.
      idle = Array.from({ length: Math.max(1, Math.min(workers, unfinished)) }, () => startWorker(script));
      await idle[0]; // throws the UserError of a script that cannot run in a worker
    },
    async run(tasks, progress, signal) {
      const queue = [...tasks];
      const slots = Math.min(workers, tasks.length);
      // A sweep's later rung (or a retry) may need more workers than `start` saw unfinished cells.
      while (!options.processPerCell && idle.length < slots) idle.push(startWorker(tasks[0].script));
      const slot = async () => {
        let own: CellWorker | undefined;
        for (let task = queue.shift(); task && !signal?.aborted; task = queue.shift()) {
          progress.started(task.id);
          if (options.processPerCell) await runCell(task, signal);
          else own = await runInWorker(task, own, signal);
          if (!signal?.aborted) await reportEnded(progress, task);
        }
        if (own?.usable) idle.push(Promise.resolve(own));
        else if (own) await retire(own);
      };
      await Promise.all(Array.from({ length: slots }, slot));
    },
    async close() {
      await Promise.allSettled(idle);
      await Promise.all([...live].map((w) => w.close(!w.usable)));
      live.clear();
      idle = [];
    },
  };
}
