/// <reference lib="dom" />
/**
 * Charts of training records, one pure function per chart: records in, a detached Plot element (`<svg>`, or a
 * `<figure>` when it has a legend) out. Show them in notebooks with `show()` and save them with `saveSvg`/`savePng`
 * (display.ts). As in Observable Plot, each chart is `chart(data, options)`: the data are records or summaries computed
 * elsewhere (no aggregation here), the options override the chart's Plot settings (chart.ts).
 */
import * as Plot from "@observablehq/plot";
import type { MetricsRecord, StepRecord } from "../run/records.ts";
import { type Chart, chart, type ChartOptions, FLAG_COLOR } from "./chart.ts";

/** One value of one named series at one training step. */
export interface StepPoint {
  stage: string;
  global_step: number;
  series: string;
  /** NaN where the record holds null (a non-finite value). */
  value: number;
}

/** Flattens a per-name field of the step records (loss terms, modules) into one point per name and step. */
export function stepPoints(records: readonly MetricsRecord[], field: "loss" | "grad_norm" | "lr"): StepPoint[] {
  return stepRecords(records).flatMap((s) =>
    Object.entries(s[field]).map(([series, value]) => ({
      stage: s.stage,
      global_step: s.global_step,
      series,
      value: value ?? NaN,
    }))
  );
}

/** Steps the NaN guard acted on or that saw non-finite loss/gradient values. */
export function flaggedSteps(records: readonly MetricsRecord[]): StepRecord[] {
  return stepRecords(records).filter((s) => s.action !== "ok" || s.nonfinite.loss + s.nonfinite.grads > 0);
}

function stepRecords(records: readonly MetricsRecord[]): StepRecord[] {
  return records.filter((r): r is StepRecord => r.type === "step");
}

/**
 * Lines per series over global steps (colour legend: the loss term or module), one row per stage (named at the
 * right), with flagged steps drawn as red rules.
 */
function stepCurves(
  records: readonly MetricsRecord[],
  field: "loss" | "grad_norm" | "lr",
  y: Plot.ScaleOptions,
  options: ChartOptions,
): Chart {
  const points = stepPoints(records, field);
  const data = y.type === "log" ? points.map((p) => ({ ...p, value: p.value > 0 ? p.value : NaN })) : points;
  const stages = [...new Set(stepRecords(records).map((s) => s.stage))];
  return chart({
    marginRight: 10 + 6.5 * Math.max(0, ...stages.map((s) => s.length)),
    y: { grid: true, ...y },
    x: { label: "global step (optimizer steps over all stages)" },
    color: { legend: true, label: field === "loss" ? "loss term" : "module" },
    fy: { domain: stages, label: null },
    marks: [
      Plot.ruleX(flaggedSteps(records), {
        x: "global_step",
        fy: "stage",
        stroke: FLAG_COLOR,
        strokeOpacity: 0.6,
        title: (s: StepRecord) =>
          `step ${s.global_step}: ${s.action}, non-finite loss ${s.nonfinite.loss}, grads ${s.nonfinite.grads}`,
      }),
      Plot.lineY(data, { x: "global_step", y: "value", z: "series", stroke: "series", fy: "stage" }),
    ],
    ...options,
  });
}

/** Loss per term (and "total") over steps, per stage; skipped/patched/non-finite steps are red rules. */
export function lossCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(records, "loss", { label: "loss (mean over the batch, per term)" }, options);
}

/** Pre-clip gradient L2 norm per module over steps (log scale), per stage; flagged steps are red rules. */
export function gradNormCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(
    records,
    "grad_norm",
    { label: "gradient L2 norm before clipping (log scale)", type: "log" },
    options,
  );
}

/** Learning rate per module over steps, per stage; flagged steps are red rules. */
export function learningRateCurves(records: readonly MetricsRecord[], options: ChartOptions = {}): Chart {
  return stepCurves(records, "lr", { label: "learning rate (per step)" }, options);
}
