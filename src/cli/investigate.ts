/** `deno task investigate`: probes the first training steps for NaNs. Usage and flags: `INVESTIGATE_SPEC`. */
import { loadConfig } from "../config/load.ts";
import { investigate, readableReport } from "../train/investigate.ts";
import { runMain } from "../util/errors.ts";
import { type CommandSpec, commonFlags, parseCli } from "./args.ts";

/** The command line of `deno task investigate`. */
export const INVESTIGATE_SPEC: CommandSpec = {
  usage: "deno task investigate",
  summary: "Probes the first training steps (investigate_steps) and reports the first non-finite tensor.",
  details: [
    "Writes DIR/nan_report.json (first_nonfinite is null when training stays finite) and DIR/nan_report.txt, " +
    "and prints the readable report.",
  ],
  flags: {
    ...commonFlags("config", "set", "backend"),
    out: { type: "string", value: "DIR", description: "report directory (default runs/investigate)" },
  },
};

await runMain(async () => {
  const args = parseCli(INVESTIGATE_SPEC, Deno.args);
  const config = await loadConfig(args.config, args.sets);
  const out = args.out ?? "runs/investigate";
  const report = await investigate(config, out);
  console.log(readableReport(report, config));
  console.log(`wrote ${out}/nan_report.json`);
});
