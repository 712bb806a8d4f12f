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

/**
 * One training run from command-line arguments `args` (`TRAIN_SPEC`); errors are thrown (`runMain` turns them into
 * exit codes). Exported as the cell entry point a grid's cell worker calls in process (src/experiments/cell_worker.ts).
 */
export async function main(args: string[]): Promise<void> {
  const cli = parseCli(TRAIN_SPEC, args);
  const config = await loadConfig(cli.config, cli.sets);
  const out = cli.out ?? `runs/${config.model}-${config.dataset}-seed${config.seed}`;
  const force = Boolean(cli.values.force);
  const flag = cli.out === undefined ? `--out ${out} (the default)` : `--out ${out}`;
  const replaced = await checkOutDir(out, config, { flag, resume: cli.resume, force });
  if (replaced) console.log(`--force: removing ${replaced} from ${out} and starting over`);
  const summary = await train(config, out, { resume: cli.resume, quiet: Boolean(cli.values.quiet) });
  const fmt = (m: Record<string, number> | null) =>
    m ? `HR@10 ${m["HR@10"].toFixed(4)} NDCG@10 ${m["NDCG@10"].toFixed(4)} MRR ${m["MRR"].toFixed(4)}` : "n/a";
  const params = Object.entries(summary.parameters).map(([m, n]) => `${m} ${n.toLocaleString("en-US")}`);
  console.log(`parameters: ${params.join(", ") || "none"}`);
  console.log(`${summary.status}: val ${fmt(summary.val)} | test ${fmt(summary.test)}`);
  console.log(`non-finite batches ${summary.nonfinite_batches}; wrote ${runPath(out, "summary")}`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
