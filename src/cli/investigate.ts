/** `deno task investigate`: probes the first training steps for NaNs. Usage and flags: `INVESTIGATE_SPEC`. */
import { loadConfig } from "../config/load.ts";
import { runPath } from "../run/files.ts";
import { investigate, readableReport } from "../train/investigate.ts";
import { explainOutOfMemory } from "../train/oom.ts";
import { checkReportDir, clearRunFiles } from "../train/run_guard.ts";
import { runMain } from "../util/errors.ts";
import { type CommandSpec, commonFlags, parseCli } from "./args.ts";

/** The command line of `deno task investigate`. */
export const INVESTIGATE_SPEC: CommandSpec = {
  usage: "deno task investigate",
  summary: "Probes the first training steps (investigate_steps) and reports the first non-finite tensor.",
  details: [
    "Writes DIR/nan_report.json (first_nonfinite is null when training stays finite) and DIR/nan_report.txt, " +
    "and prints the readable report. A DIR that already holds a report or a run is refused unless --force.",
  ],
  flags: {
    ...commonFlags("config", "set", "backend"),
    out: { type: "string", value: "DIR", description: "report directory (default runs/investigate)" },
    force: { type: "boolean", description: "remove the report or run files already in --out first" },
  },
};

await runMain(async () => {
  const args = parseCli(INVESTIGATE_SPEC, Deno.args);
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
  console.log(`wrote ${runPath(out, "nanReport")}`);
});
