/**
 * `deno task investigate --config FILE [--set k=v ...] --out DIR`: probes the first training steps and writes
 * DIR/nan_report.json (first_nonfinite is null when training stays finite) and DIR/nan_report.txt.
 */
import { loadConfig } from "../config/load.ts";
import { investigate, readableReport } from "../train/investigate.ts";
import { runMain } from "../util/errors.ts";
import { parseCommonArgs } from "./args.ts";

await runMain(async () => {
  const args = parseCommonArgs(Deno.args);
  const config = await loadConfig(args.config, args.sets);
  const out = args.out ?? "runs/investigate";
  const report = await investigate(config, out);
  console.log(readableReport(report, config));
  console.log(`wrote ${out}/nan_report.json`);
});
