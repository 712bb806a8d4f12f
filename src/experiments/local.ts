/** The local executor: cells run as `deno run` subprocesses on this machine, `workers` at a time. */
import { runCell } from "./cell.ts";
import { reportEnded } from "./progress.ts";
import type { Executor } from "./runner.ts";

/** Runs each cell in its own subprocess (its own tfjs instance), at most `workers` at once. */
export function localExecutor(workers: number): Executor {
  return {
    name: "local",
    async run(tasks, progress, signal) {
      const queue = [...tasks];
      const worker = async () => {
        for (let task = queue.shift(); task && !signal?.aborted; task = queue.shift()) {
          progress.started(task.id);
          await runCell(task, signal);
          if (!signal?.aborted) await reportEnded(progress, task);
        }
      };
      await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, worker));
    },
  };
}
