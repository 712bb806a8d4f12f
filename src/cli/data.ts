/**
 * `deno task data <command>`: getting and inspecting data.
 *   ml-100k    [--data-dir DIR] [--url URL] [--sha256 HEX]    download MovieLens-100K to DIR/ml-100k/
 *   synthetic  [--data-dir DIR] [--users N] [--items M]        generate the built-in dataset in DIR/synthetic/<users>x<items>/
 *   stats      [--data-dir DIR] [--dataset D] [--preset P]     print dataset statistics, the preprocessing report
 *                                                             (every drop count) and the warnings as JSON
 *   llm        [--kind users|items] [--limit N] [--rps R] [--out DIR]
 *              generate leak-free LLM texts (train history only) with the endpoint of UR4REC_LLM_BASE_URL,
 *              UR4REC_LLM_MODEL, UR4REC_LLM_API_KEY; resumable (cached answers are skipped)
 * Every command also takes --config FILE and --set key=value (the dataset, preset, split, data_dir, ...).
 */
import { join } from "node:path";
import { parseCommonArgs } from "./args.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { loadDataset, loadInteractions } from "../data/dataset.ts";
import { downloadMovieLens100k, ML100K_SHA256, ML100K_URL } from "../data/download.ts";
import { ChatClient, chatOptionsFromEnv } from "../data/llm_client.ts";
import { generateLlmTexts, type LlmKind } from "../data/llm_generate.ts";
import { interactionStats } from "../data/stats.ts";
import { ensureSynthetic, syntheticDir } from "../data/synthetic.ts";
import { runMain, UserError } from "../util/errors.ts";
import { checkWritableDir, exists } from "../util/fs.ts";

const COMMANDS = ["ml-100k", "synthetic", "stats", "llm"];

/** Parses a positive number flag (integer when `integer`), or throws a `UserError` naming it. */
function positiveFlag(name: string, value: unknown, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UserError(`--${name} ${value}: expected a positive ${integer ? "integer" : "number"}`);
  }
  return n;
}

async function main(): Promise<void> {
  const args = parseCommonArgs(Deno.args, {
    "data-dir": { type: "string" },
    dataset: { type: "string" },
    preset: { type: "string" },
    url: { type: "string" },
    sha256: { type: "string" },
    users: { type: "string" },
    items: { type: "string" },
    kind: { type: "string" },
    limit: { type: "string" },
    rps: { type: "string" },
  });
  const [command, ...rest] = args.positionals;
  if (!COMMANDS.includes(command) || rest.length > 0) {
    throw new UserError(
      `usage: deno task data <${COMMANDS.join("|")}> [options] (got "${args.positionals.join(" ")}")`,
    );
  }
  const v = args.values;
  const sets = [...args.sets];
  if (v["data-dir"] !== undefined) sets.push(`data_dir=${v["data-dir"]}`);
  if (v.dataset !== undefined) sets.push(`dataset=${v.dataset}`);
  if (v.preset !== undefined) sets.push(`preset=${v.preset}`);
  if (v.users !== undefined) sets.push(`synthetic_users=${v.users}`);
  if (v.items !== undefined) sets.push(`synthetic_items=${v.items}`);
  const config = await loadConfig(args.config, sets);

  const dataDirFlag = `${v["data-dir"] === undefined ? "data_dir" : "--data-dir"} ${config.data_dir}`;
  if (command === "ml-100k") {
    if (!(await exists(join(config.data_dir, "ml-100k", "u.data")))) {
      await checkWritableDir(join(config.data_dir, "ml-100k"), dataDirFlag);
    }
    const options = { url: String(v.url ?? ML100K_URL), sha256: String(v.sha256 ?? ML100K_SHA256) };
    const result = await downloadMovieLens100k(config.data_dir, options);
    console.log(
      result.downloaded ? `wrote ${result.files} files to ${result.dir}` : `${result.dir} already has u.data`,
    );
  } else if (command === "synthetic") {
    const size = { users: config.synthetic_users, items: config.synthetic_items };
    if (!(await exists(syntheticDir(config.data_dir, size)))) await checkWritableDir(config.data_dir, dataDirFlag);
    console.log(`synthetic dataset in ${await ensureSynthetic(config.data_dir, size)}`);
  } else if (command === "stats") {
    const { name, interactions, warnings } = await loadInteractions(config);
    const stats = interactionStats(interactions);
    const summary = { dataset: name, preset: config.preset, ...stats, report: interactions.report, warnings };
    console.log(JSON.stringify(summary, null, 2));
  } else {
    await generate(config, v);
  }
}

async function generate(config: Config, v: Record<string, unknown>): Promise<void> {
  const kind = (v.kind ?? "users") as LlmKind;
  if (kind !== "users" && kind !== "items") throw new UserError(`--kind ${kind}: expected users or items`);
  const limit = positiveFlag("limit", v.limit, true);
  const rps = positiveFlag("rps", v.rps, false);
  const options = chatOptionsFromEnv(rps === undefined ? {} : { requestsPerSecond: rps });
  const outDir = typeof v.out === "string"
    ? v.out
    : join(config.data_dir, "llm_train_only", `${config.dataset}-${config.preset}-${config.split}`);
  await checkWritableDir(outDir, typeof v.out === "string" ? `--out ${outDir}` : `llm output dir ${outDir}`);
  const ds = await loadDataset(config);
  const report = await generateLlmTexts(
    ds,
    kind,
    new ChatClient(options),
    options.model,
    outDir,
    limit,
    (done, total) => {
      if (done % 10 === 0 || done === total) console.error(`${kind}: ${done}/${total}`);
    },
  );
  console.log(JSON.stringify(report));
  console.log(`use these texts with: llm_dir: ${outDir} (and user_text: shipped / item_text: shipped)`);
}

if (import.meta.main) await runMain(main);
