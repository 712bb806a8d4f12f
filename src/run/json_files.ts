/**
 * Readers and writers of a run directory's JSON files: `summary.json` (`RunSummary`, or the partial one of a failed
 * run) and `nan_report.json` (`NanReport`). Writes are atomic (util/fs.ts `writeJsonAtomic`); reads return undefined
 * when the file is absent, and filesystem errors are user errors naming the path (util/fs.ts `onPath`).
 */
import { readJsonIfExists, writeJsonAtomic } from "../util/fs.ts";
import { runPath } from "./files.ts";
import type { NanReport, RunSummary } from "./records.ts";

/** Writes `<dir>/summary.json` atomically: a finished run's summary, or the partial one of a failed run. */
export function writeRunSummary(dir: string, summary: RunSummary | Partial<RunSummary>): Promise<void> {
  return writeJsonAtomic(runPath(dir, "summary"), summary);
}

/** `<dir>/summary.json` as written (partial for a failed run), or undefined when absent. */
export function readRunSummary(dir: string): Promise<Partial<RunSummary> | undefined> {
  return readJsonIfExists<Partial<RunSummary>>(runPath(dir, "summary"));
}

/** Writes `<dir>/nan_report.json` atomically. */
export function writeNanReport(dir: string, report: NanReport): Promise<void> {
  return writeJsonAtomic(runPath(dir, "nanReport"), report);
}

/** `<dir>/nan_report.json`, or undefined when absent. */
export function readNanReport(dir: string): Promise<NanReport | undefined> {
  return readJsonIfExists<NanReport>(runPath(dir, "nanReport"));
}
