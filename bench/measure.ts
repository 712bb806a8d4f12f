/**
 * Timing of one benchmark case: warm-up runs, then timed runs, summarised as one JSON-ready record with the median,
 * min and max, the live tensor count before and after (a leak shows as a difference), and peak memory.
 */
import { median } from "../src/util/stats.ts";
import * as tf from "@tensorflow/tfjs";

/** One benchmark result line. */
export interface BenchRecord {
  name: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
  tensors_before: number;
  tensors_after: number;
  /** Largest resident set size seen after a run, MiB. */
  peak_rss_mib: number;
  /** Largest tfjs backend memory seen after a run (the wasm heap size on wasm), MiB. */
  peak_tf_mib: number;
  [extra: string]: unknown;
}

/** How many warm-up and timed runs. */
export interface RunCounts {
  warmup: number;
  runs: number;
}

const MIB = 1024 * 1024;

/** Runs `run` `counts.warmup` times untimed, then `counts.runs` times timed (run must read its results back). */
export async function measure(
  name: string,
  run: () => Promise<void>,
  counts: RunCounts,
  extra: Record<string, unknown> = {},
): Promise<BenchRecord> {
  for (let i = 0; i < counts.warmup; i++) await run();
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  let peakRss = 0, peakTf = 0;
  for (let i = 0; i < counts.runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
    peakTf = Math.max(peakTf, tf.memory().numBytes);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  const record: BenchRecord = {
    name,
    median_ms: round(median(times)),
    min_ms: round(Math.min(...times)),
    max_ms: round(Math.max(...times)),
    runs: counts.runs,
    tensors_before: tensorsBefore,
    tensors_after: tf.memory().numTensors,
    peak_rss_mib: round(peakRss / MIB),
    peak_tf_mib: round(peakTf / MIB),
    ...extra,
  };
  return record;
}
