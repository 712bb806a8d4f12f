/**
 * Live progress of a grid run: cells done / running / failed and an ETA. On a terminal it is a `cli-progress` bar;
 * otherwise (logs, CI, Slurm) one plain line per finished cell.
 */
import cliProgress from "cli-progress";
import { join } from "node:path";
import process from "node:process";
import { CELL_FILES } from "../run/files.ts";
import { type CellStatus, cellStatus, type CellTask, readCellRecord } from "./cell.ts";

/** Receives the events of a grid run. */
export interface GridProgress {
  /** A cell's process started. */
  started(id: string): void;
  /** A cell ended; `note` says why when it failed. */
  finished(id: string, status: CellStatus, note?: string): void;
  /** Ends the display. */
  stop(): void;
}

/** Options of `createProgress`. */
export interface ProgressOptions {
  /** Draw a bar (default: when stdout is a terminal). */
  tty?: boolean;
  /** Where plain lines go (default: console.log). */
  print?: (line: string) => void;
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** A progress display for `total` cells to run. */
export function createProgress(total: number, options: ProgressOptions = {}): GridProgress {
  const tty = options.tty ?? Deno.stdout.isTerminal();
  const print = options.print ?? console.log;
  const startedAt = Date.now();
  let ended = 0, failed = 0, running = 0;
  const eta = () => {
    if (ended === 0) return "-";
    return formatDuration(((Date.now() - startedAt) / 1000 / ended) * (total - ended));
  };
  const counts = () => ({ running, failed, remaining: eta() });
  const bars = tty
    ? new cliProgress.MultiBar({
      format: "cells {bar} {value}/{total} ended | {running} running | {failed} failed | ETA {remaining}",
      stream: process.stdout,
      hideCursor: true,
      barsize: 20,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  const bar = bars?.create(total, 0, counts());
  return {
    started() {
      running++;
      bar?.update(ended, counts());
    },
    finished(id, status, note) {
      running--;
      ended++;
      if (status === "failed") failed++;
      const line = `${status} ${id}${note ? `: ${note}` : ""}`;
      if (bars) {
        if (note) bars.log(`${line}\n`);
        bar.update(ended, counts());
      } else {
        print(`[${ended}/${total}] ${line} | ${running} running | ${failed} failed | ETA ${eta()}`);
      }
    },
    stop() {
      bars?.stop();
    },
  };
}

/** Reports an ended cell from its run directory: its status, and for a failure the error and the log path. */
export async function reportEnded(progress: GridProgress, task: CellTask): Promise<void> {
  const { status, error } = cellStatus(await readCellRecord(task.runDir));
  progress.finished(task.id, status, error ? `${error} (log: ${join(task.runDir, CELL_FILES.log)})` : undefined);
}
