/**
 * Live progress of a grid run: cells done / running / failed and an ETA. On a terminal it is a `cli-progress` bar;
 * otherwise (logs, CI, Slurm) one plain line per finished cell.
 */
import cliProgress from "cli-progress";
import { join } from "node:path";
import process from "node:process";
import { CELL_FILES, type CellStatus, cellStatus, type CellTask, readCellRecord } from "./cell.ts";

/** Receives the events of a grid run. */
export interface Progress {
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
export function createProgress(total: number, options: ProgressOptions = {}): Progress {
  const tty = options.tty ?? Deno.stdout.isTerminal();
  const print = options.print ?? console.log;
  const startedAt = Date.now();
  let ended = 0, failed = 0, running = 0;
  const counts = () => ({ running, failed });
  const bar = tty
    ? new cliProgress.SingleBar({
      format: "cells {bar} {value}/{total} ended | {running} running | {failed} failed | ETA {eta_formatted}",
      stream: process.stdout,
      hideCursor: true,
      etaBuffer: 20,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(total, 0, counts());
  return {
    started() {
      running++;
      bar?.update(ended, counts());
    },
    finished(id, status, note) {
      running--;
      ended++;
      if (status === "failed") failed++;
      if (bar) {
        if (note) bar.log(`${status} ${id}: ${note}\n`);
        bar.update(ended, counts());
        return;
      }
      const elapsed = (Date.now() - startedAt) / 1000;
      const eta = ended < total ? formatDuration((elapsed / ended) * (total - ended)) : "0m00s";
      print(
        `[${ended}/${total}] ${status} ${id}${note ? `: ${note}` : ""} | ${running} running | ${failed} failed | ` +
          `ETA ${eta}`,
      );
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Reports an ended cell from its run directory: its status, and for a failure the error and the log path. */
export async function reportEnded(progress: Progress, task: CellTask): Promise<void> {
  const { status, error } = cellStatus(await readCellRecord(task.runDir));
  progress.finished(task.id, status, error ? `${error} (log: ${join(task.runDir, CELL_FILES.log)})` : undefined);
}
