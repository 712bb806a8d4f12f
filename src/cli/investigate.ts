/**
 * `deno task investigate --config FILE [--set k=v ...] --out DIR [--force]`: probes the first training steps and
 * writes DIR/nan_report.json (first_nonfinite is null when training stays finite) and DIR/nan_report.txt. A DIR
 * that already holds a report or a run is refused unless `--force` (its run files are removed first).
 */
import { loadConfig } from "../config/load.ts";
import { investigate, readableReport } from "../train/investigate.ts";
import { explainOutOfMemory } from "../train/oom.ts";
import { checkReportDir, clearRunFiles } from "../train/run_guard.ts";
import { runMain, UserError } from "../util/errors.ts";
import { parseCommonArgs } from "./args.ts";

await runMain(async () => {
  const args = parseCommonArgs(Deno.args, { force: { type: "boolean" } });
  if (args.resume) throw new UserError("--resume: investigate always starts from step 0 (use --force to redo it)");
  const config = await loadConfig(args.config, args.sets);
  const out = args.out ?? "runs/investigate";
  const flag = args.out === undefined ? `--out ${out} (the default)` : `--out ${out}`;
  const replaced = await checkReportDir(out, { flag, force: Boolean(args.values.force) });
  if (replaced) {
    console.log(`--force: removing ${replaced} from ${out}`);
    await clearRunFiles(out);
  }
  const report = await investigate(config, out).catch((err) => {
    throw explainOutOfMemory(err, config);
  });
  console.log(readableReport(report, config));
  console.log(`wrote ${out}/nan_report.json`);
});
