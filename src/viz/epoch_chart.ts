/// <reference lib="dom" />
/**
 * Per-epoch charts of a training run: the training loss or a validation metric against the epochs of the whole
 * run, stages told apart by colour with a legend. Used live while a run trains (live.ts) and on finished runs.
 */
import * as Plot from "@observablehq/plot";
import type { EpochRecord, MetricName } from "../run/records.ts";
import { type Chart, chart } from "./chart.ts";

/** What an epoch chart shows: the mean training loss of the epoch, or a validation metric. */
export type EpochQuantity = "train_loss" | MetricName;

/** One epoch's value, placed at the run's running epoch count. */
export interface EpochPoint {
  /** Epochs trained so far in the whole run (1-based), so stages follow each other on one axis. */
  run_epoch: number;
  stage: string;
  value: number;
}

/** The epochs that have `quantity` (training loss when finite; the metric when the epoch was validated). */
export function epochPoints(records: readonly EpochRecord[], quantity: EpochQuantity): EpochPoint[] {
  return records.flatMap((r, i) => {
    const value = quantity === "train_loss" ? r.train_loss : r.val?.[quantity];
    return value === null || value === undefined ? [] : [{ run_epoch: i + 1, stage: r.stage, value }];
  });
}

/** `quantity` per epoch (x: epochs of the whole run, y: the loss or `val <metric>`, colour: stage). */
export function epochChart(records: readonly EpochRecord[], quantity: EpochQuantity): Chart {
  const points = epochPoints(records, quantity);
  return chart({
    width: 360,
    height: 220,
    x: { label: "epochs trained (whole run)", grid: true },
    y: { label: quantity === "train_loss" ? "train loss (mean per epoch)" : `val ${quantity}`, grid: true },
    color: { legend: true, label: "stage" },
    marks: [
      Plot.line(points, { x: "run_epoch", y: "value", stroke: "stage" }),
      Plot.dot(points, { x: "run_epoch", y: "value", fill: "stage", r: 2.5 }),
    ],
  });
}
