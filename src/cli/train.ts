/**
 * `deno task train --config FILE [--set k=v ...] [--out DIR] [--resume | --force]`: one training run.
 * An `--out` that holds a run is refused unless `--resume` (continue it: same config up to the keys of
 * run_guard.ts RESUME_SAFE_KEYS) or `--force` (remove its run files and start over).
 * Exit code 0 when the run completed or diverged (see summary.json status), 1 when it failed, 2 on user errors
 * (a failure after the run started, such as running out of memory, is also recorded in summary.json).
 */
import { loadConfig } from "../config/load.ts";
import { checkOutDir } from "../train/run_guard.ts";
import { train } from "../train/trainer.ts";
import { runMain } from "../util/errors.ts";
import { parseCommonArgs } from "./args.ts";

await runMain(async () => {
  const args = parseCommonArgs(Deno.args, { quiet: { type: "boolean" }, force: { type: "boolean" } });
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
  console.log(`non-finite batches ${summary.nonfinite_batches}; wrote ${out}/summary.json`);
});
