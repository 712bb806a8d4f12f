/** Writing and reading a training run directory's `metrics.jsonl` (see records.ts): the trainer appends, charts and
 * reports read. */
import { UserError } from "../util/errors.ts";
import { appendText } from "../util/fs.ts";
import { runPath } from "./files.ts";
import type { EpochRecord, MetricsRecord, StepRecord } from "./records.ts";

/** Appends one record as a line of `<runDir>/metrics.jsonl` (created when absent). */
export function appendRecord(runDir: string, record: MetricsRecord): Promise<void> {
  return appendText(runPath(runDir, "metrics"), JSON.stringify(record) + "\n");
}

/** The records of `<runDir>/metrics.jsonl` in file order; a line that is not a step/epoch record is a UserError. */
export async function readMetrics(runDir: string): Promise<MetricsRecord[]> {
  const path = runPath(runDir, "metrics");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${path}: not found (is ${runDir} a run directory?)`);
    throw err;
  }
  return text.split("\n").flatMap((line, i) => {
    if (line.trim() === "") return [];
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new UserError(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const type = (record as { type?: unknown } | null)?.type;
    if (type !== "step" && type !== "epoch") {
      throw new UserError(`${path}:${i + 1}: expected a record with "type": "step" or "epoch"`);
    }
    return [record as MetricsRecord];
  });
}

/** The step records of a run. */
export function stepRecordsOf(records: readonly MetricsRecord[]): StepRecord[] {
  return records.filter((r): r is StepRecord => r.type === "step");
}

/** The epoch records of a run. */
export function epochRecordsOf(records: readonly MetricsRecord[]): EpochRecord[] {
  return records.filter((r): r is EpochRecord => r.type === "epoch");
}
