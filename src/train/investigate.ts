/**
 * NaN investigation: trains for `investigate_steps` steps with a statistics probe on every layer (forward and
 * backward) at every step, locates the first non-finite value and writes `nan_report.json` + `nan_report.txt`.
 */
import { optimizerOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import { runPath } from "../run/files.ts";
import { writeNanReport } from "../run/json_files.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { batchLayout, emptyLayout, nanReport, probeStep } from "./locator.ts";
import { ModuleOptimizer } from "./optimizer.ts";
import type { FirstNonfinite, NanReport, ProbeStat } from "../run/records.ts";
import { epochSteps, plannedSteps, prepareRun, trainableModules } from "./run.ts";
import { trainStep } from "./step.ts";

/** Probes the first `investigate_steps` training steps of the first stage and returns the report. */
export async function investigate(config: Config, outDir?: string): Promise<NanReport> {
  const ctx = await prepareRun(config);
  const { model } = ctx;
  const modules = trainableModules(model);
  const optimizer = new ModuleOptimizer(model.modules(), optimizerOptions(config), {
    totalSteps: plannedSteps(ctx, config.stages.length),
  });
  const stage = config.stages[0];
  const stats: ProbeStat[] = [];
  let first: FirstNonfinite | null = null;
  let layout = null;
  let step = 0;
  try {
    for (let epoch = 0; step < config.investigate_steps; epoch++) {
      const steps = epochSteps(ctx, { stage, epoch, firstStep: step }, modules);
      if (steps.length === 0) break;
      for (const { batch, seed, active } of steps) {
        if (step >= config.investigate_steps) break;
        layout ??= batchLayout(batch, config);
        const probed = await probeStep(model, batch, config, active, { step, stage, seed }, ctx.texts);
        stats.push(...probed.stats);
        if (first === null && probed.first !== null) {
          first = probed.first;
          layout = batchLayout(batch, config);
        }
        const outcome = await trainStep(model, optimizer, batch, config, active, step, { seed });
        step++;
        if (outcome.action === "raised") break;
      }
      if (first !== null && config.nan_policy === "raise") break;
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  const report = nanReport(
    first,
    stats,
    layout ?? emptyLayout(config),
    step,
  );
  if (outDir) {
    await writeNanReport(outDir, report);
    await writeFileAtomic(runPath(outDir, "nanText"), readableReport(report, config));
  }
  return report;
}

/** The report as text: diagnosis, then the first tensors per step that were non-finite. */
export function readableReport(report: NanReport, config: Config): string {
  const lines = [
    `NaN investigation (${report.steps} step(s); model ${config.model}, attention_mask ${config.attention_mask}, ` +
    `padding ${config.padding}, loss ${config.loss}, dropout ${config.sasrec_dropout}, init std ${config.sasrec_init_std})`,
    "",
    report.diagnosis,
    "",
    `Input padding (${report.input_padding.side}): pads per row ${JSON.stringify(report.input_padding.pads_per_row)}`,
  ];
  const bad = report.probes.filter((p) => p.nonfinite > 0).slice(0, 12);
  if (bad.length > 0) {
    lines.push("", "Non-finite tensors, in the order they were seen:");
    for (const p of bad) lines.push(`  step ${p.step} ${p.phase} ${p.layer} ${p.op}: ${p.nonfinite}/${p.size}`);
  }
  return lines.join("\n") + "\n";
}
