/** `deno task tour` (what `npm start` runs): the kit's story in a minute. Usage and flags: `TOUR_SPEC`. */
import { join, resolve } from "node:path";
import { DATA_DIR_ENV } from "../config/load.ts";
import { GUARDED_TRAIN_SETS, nanEraConfig } from "../experiments/nan_study.ts";
import { readMetrics } from "../run/metrics.ts";
import { investigate } from "../train/investigate.ts";
import type { MetricsRecord, RunSummary } from "../run/records.ts";
import { train } from "../train/trainer.ts";
import { runMain, UserError } from "../util/errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "../util/fs.ts";
import { saveSvg } from "../viz/display.ts";
import { htmlPage } from "../viz/page.ts";
import { activationHeatmap, attentionMaskChart } from "../viz/nan_charts.ts";
import { lossCurves } from "../viz/plots.ts";
import { protocolLabel } from "../report/rows.ts";
import { type CommandSpec, parseCli } from "./args.ts";

/** The command line of `deno task tour`. */
export const TOUR_SPEC: CommandSpec = {
  usage: "deno task tour",
  summary: "The kit's story in about a minute, offline, on the built-in data (what npm start runs).",
  details: [
    "Reproduces the original UR4Rec MoE's NaN with the NaN-era config (configs/nan_repro.yaml, small dims), " +
    "locates the first non-finite value and prints the locator's diagnosis, trains that config with the NaN guard " +
    "(every batch non-finite) and with the fix (attention_mask: safe), and writes DIR/report.html with the figures.",
    "DIR is the tour's own: an earlier tour there is replaced; a directory holding anything else is refused " +
    "unless --force.",
  ],
  flags: {
    out: { type: "string", value: "DIR", description: "output directory (default runs/tour)" },
    "data-dir": { type: "string", value: "DIR", description: "data directory (default $UR4REC_DATA_DIR or data)" },
    force: { type: "boolean", description: "replace DIR even when it holds files that are not an earlier tour" },
  },
};

/** The file that marks a directory as the tour's own (so a rerun may replace it). */
const TOUR_MARKER = "tour.json";

/** Empties `out` for a new tour: absent, empty or an earlier tour are fine; anything else needs `force`. */
async function claimOutDir(out: string, force: boolean): Promise<void> {
  if (await exists(out)) {
    const stat = await Deno.stat(out);
    if (!stat.isDirectory) throw new UserError(`--out ${out}: exists and is not a directory`);
    const entries = [];
    for await (const e of Deno.readDir(out)) entries.push(e.name);
    if (entries.length > 0 && !entries.includes(TOUR_MARKER) && !force) {
      throw new UserError(`--out ${out}: holds files that are not an earlier tour; pick another --out or add --force`);
    }
    if (entries.length > 0) console.log(`replacing the earlier tour in ${out}`);
    await Deno.remove(out, { recursive: true });
  }
  await writeJsonAtomic(join(out, TOUR_MARKER), { started: new Date().toISOString() });
}

/** One guarded run of the NaN-era config with `attention_mask` set to `mask`. */
async function guardedRun(mask: "torch" | "safe", dataDir: string, out: string) {
  const dir = join(out, `train_${mask}`);
  const config = await nanEraConfig("smoke", dataDir, [...GUARDED_TRAIN_SETS, `attention_mask=${mask}`]);
  const summary: RunSummary = await train(config, dir);
  return { mask, dir, summary, records: await readMetrics(dir) };
}

await runMain(async () => {
  const args = parseCli(TOUR_SPEC, Deno.args);
  const out = resolve(args.out ?? "runs/tour");
  const dataDir = (args.values["data-dir"] as string | undefined) ?? (Deno.env.get(DATA_DIR_ENV) || "data");
  const started = performance.now();
  await claimOutDir(out, Boolean(args.values.force));

  console.log("[1/3] The NaN: the original UR4Rec MoE setup (configs/nan_repro.yaml, small dims, built-in data)");
  const config = await nanEraConfig("smoke", dataDir);
  const subtitle = protocolLabel(config);
  const report = await investigate(config, join(out, "investigate"));
  const first = report.first_nonfinite;
  if (first === null) throw new Error("the NaN-era config stayed finite: nothing to show");
  console.log(`\n${report.diagnosis}\n`);

  console.log("[2/3] Training it with the NaN guard (nan_policy: skip): attention_mask torch, as the original");
  const torch = await guardedRun("torch", dataDir, out);
  console.log("[3/3] The fix: the same config with attention_mask: safe");
  const safe = await guardedRun("safe", dataDir, out);

  const heatmap = activationHeatmap(report.probes, { first, subtitle });
  const mask = attentionMaskChart({
    seqLen: report.input_padding.seq_len,
    pads: first.row_padding[0],
    side: report.input_padding.side,
  });
  const curves = lossCurves(
    [torch, safe].flatMap(({ mask, records }): MetricsRecord[] =>
      records.map((r) => ({ ...r, stage: `attention_mask ${mask}: ${r.stage}` }))
    ),
    { subtitle },
  );
  await saveSvg(heatmap, join(out, "activation_heatmap.svg"));
  await saveSvg(mask, join(out, "attention_mask.svg"));
  await saveSvg(curves, join(out, "loss_torch_vs_safe.svg"));
  const runRow = (r: typeof torch) => ({
    attention_mask: r.mask,
    status: r.summary.status,
    steps: r.summary.steps,
    nonfinite_batches: r.summary.nonfinite_batches,
    skipped_batches: r.summary.skipped_batches,
    "val NDCG@10": r.summary.val?.["NDCG@10"] ?? null,
    "test NDCG@10": r.summary.test?.["NDCG@10"] ?? null,
    run_dir: r.dir,
  });
  const page = htmlPage("ur4rec-lab tour: the UR4Rec MoE NaN, located and fixed", [
    {
      text: "The original UR4Rec MoE (SASRec fused with a text retriever) gave loss = nan from the first batch. " +
        "Below, the kit reproduces it on its built-in data, locates the first non-finite value by probing every " +
        "layer forward and backward, and trains the same config with the NaN guard, without and with the fix.",
    },
    { heading: "Diagnosis (generated by the locator)" },
    { pre: report.diagnosis },
    { chart: heatmap, caption: "max |x| per probed tensor and step; red: non-finite, outlined: the first one" },
    {
      chart: mask,
      caption: `attention mask of batch row ${first.rows[0]} (${first.row_padding[0]} of ` +
        `${report.input_padding.seq_len} positions padding): red query rows see no key, so their -inf softmax is 0/0`,
    },
    { heading: "Training with the guard: torch mask vs safe mask" },
    { table: [runRow(torch), runRow(safe)] },
    { chart: curves, caption: "loss per step; red rules: steps the guard skipped (non-finite)" },
    {
      text: "Next: notebooks/01_nan_investigation.ipynb tests the original's three claimed fixes (dropout, init " +
        "std, softplus BPR) and its NaN -> 0 patch; `deno task train --config configs/ur4rec_moe_100k.yaml` " +
        "trains the repaired model on MovieLens-100K.",
    },
  ]);
  await writeFileAtomic(join(out, "report.html"), page);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(
    `\ntorch mask: ${torch.summary.status}, ${torch.summary.nonfinite_batches} of ${torch.summary.steps} ` +
      `batches non-finite | safe mask: ${safe.summary.status}, test NDCG@10 ` +
      `${safe.summary.test?.["NDCG@10"].toFixed(4) ?? "-"}`,
  );
  console.log(`report: ${join(out, "report.html")} (${seconds} s)`);
});
