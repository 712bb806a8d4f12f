/**
 * `deno task train --config FILE [--set k=v ...] [--out DIR] [--resume]`: one training run.
 * Exit code 0 when the run completed or diverged (see summary.json status), 1 when it failed, 2 on user errors.
 */
import { loadConfig } from "../config/load.ts";
import { train } from "../train/trainer.ts";
import { runMain, UserError } from "../util/errors.ts";
import { writeJsonAtomic } from "../util/fs.ts";
import { parseCommonArgs } from "./args.ts";

await runMain(async () => {
  const args = parseCommonArgs(Deno.args, { quiet: { type: "boolean" } });
  const config = await loadConfig(args.config, args.sets);
  const out = args.out ?? `runs/${config.model}-${config.dataset}-seed${config.seed}`;
  try {
    const summary = await train(config, out, { resume: args.resume, quiet: Boolean(args.values.quiet) });
    const fmt = (m: Record<string, number> | null) =>
      m ? `HR@10 ${m["HR@10"].toFixed(4)} NDCG@10 ${m["NDCG@10"].toFixed(4)} MRR ${m["MRR"].toFixed(4)}` : "n/a";
    const params = Object.entries(summary.parameters).map(([m, n]) => `${m} ${n.toLocaleString("en-US")}`);
    console.log(`parameters: ${params.join(", ") || "none"}`);
    console.log(`${summary.status}: val ${fmt(summary.val)} | test ${fmt(summary.test)}`);
    console.log(`non-finite batches ${summary.nonfinite_batches}; wrote ${out}/summary.json`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    await writeJsonAtomic(`${out}/summary.json`, { status: "failed", error: String(err) });
    throw err;
  }
});
