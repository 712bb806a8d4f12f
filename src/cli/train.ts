/** `deno task train`: one training run. Usage, flags and exit codes: `TRAIN_SPEC` (`deno task train --help`). */
import { loadConfig } from "../config/load.ts";
import { runPath } from "../run/files.ts";
import { checkOutDir } from "../train/run_guard.ts";
import { train } from "../train/trainer.ts";
import { runMain } from "../util/errors.ts";
import { type CommandSpec, commonFlags, parseCli } from "./args.ts";

/** The command line of `deno task train`. */
export const TRAIN_SPEC: CommandSpec = {
  usage: "deno task train",
  summary: "One staged training run of the configured model.",
  details: [
    "Writes config.yaml, metrics.jsonl, summary.json, nan_report.json, best/ and checkpoint/ into --out " +
    "(default runs/<model>-<dataset>-seed<seed>). The config, the data and --out are checked before anything is " +
    "written. An --out that holds a run is refused unless --resume (continue it: the same config up to the keys " +
    "that change no computed number, see configs/README.md 'Run directories') or --force (remove its run files " +
    "and start over). A failure after the run started (such as running out of memory) is recorded in summary.json.",
  ],
  flags: {
    ...commonFlags("config", "set", "backend"),
    out: { type: "string", value: "DIR", description: "run directory (default runs/<model>-<dataset>-seed<seed>)" },
    resume: commonFlags("resume").resume,
    force: { type: "boolean", description: "remove the run files already in --out and start over" },
    quiet: { type: "boolean", description: "no progress bars or per-epoch lines" },
  },
  exitCodes: { 0: "the run completed or diverged (see summary.json status)", 1: "the run failed", 2: "user error" },
};

await runMain(async () => {
  const args = parseCli(TRAIN_SPEC, Deno.args);
  const config = await loadConfig(args.config, args.sets);
  const out = args.out ?? `runs/${config.model}-${config.dataset}-seed${config.seed}`;
  const force = Boolean(args.values.force);
  const flag = args.out === undefined ? `--out ${out} (the default)` : `--out ${out}`;
  const replaced = await checkOutDir(out, config, { flag, resume: args.resume, force });
  if (replaced) console.log(`--force: removing ${replaced} from ${out} and starting over`);
  const summary = await train(config, out, { resume: args.resume, quiet: Boolean(args.values.quiet) });
  const fmt = (m: Record<string, number> | null) =>
    m ? `HR@10 ${m["HR@10"].toFixed(4)} NDCG@10 ${m["NDCG@10"].toFixed(4)} MRR ${m["MRR"].toFixed(4)}` : "n/a";
  const params = Object.entries(summary.parameters).map(([m, n]) => `${m} ${n.toLocaleString("en-US")}`);
  console.log(`parameters: ${params.join(", ") || "none"}`);
  console.log(`${summary.status}: val ${fmt(summary.val)} | test ${fmt(summary.test)}`);
  console.log(`non-finite batches ${summary.nonfinite_batches}; wrote ${runPath(out, "summary")}`);
});
