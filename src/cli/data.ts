/** `deno task data <command>`: getting and inspecting data. Commands, usage and flags: `DATA_SPEC`. */
import { join } from "node:path";
import { type CommandSpec, commonFlags, type FlagSpec, parseCli, type ParsedArgs } from "./args.ts";
import { type ConfigOverride, loadConfig } from "../config/load.ts";
import { type Config, DATASETS, LIMITS, PRESETS } from "../config/schema.ts";
import { loadDataset, loadInteractions } from "../data/dataset.ts";
import { downloadMovieLens100k, ML100K_SHA256, ML100K_URL } from "../data/download.ts";
import { ChatClient, chatOptionsFromEnv } from "../data/llm_client.ts";
import { generateLlmTexts, type LlmKind } from "../data/llm_generate.ts";
import { interactionStats } from "../data/stats.ts";
import { ensureSynthetic, syntheticDir } from "../data/synthetic.ts";
import { resolveTieOrder } from "../data/ties.ts";
import { runMain } from "../util/errors.ts";
import { checkWritableDir, exists } from "../util/fs.ts";

/** Flags that set a config key, each with that key; their errors name the flag. */
const CONFIG_FLAGS: Record<string, FlagSpec & { key: string }> = {
  "data-dir": { key: "data_dir", type: "string", value: "DIR", description: "data directory (= --set data_dir=DIR)" },
  dataset: { key: "dataset", type: "string", choices: DATASETS, description: "dataset (= --set dataset=D)" },
  preset: { key: "preset", type: "string", choices: PRESETS, description: "preprocessing (= --set preset=P)" },
  users: {
    key: "synthetic_users",
    type: "int",
    value: "N",
    min: 1,
    max: LIMITS.syntheticUsers,
    description: "users of the synthetic dataset (= --set synthetic_users=N)",
  },
  items: {
    key: "synthetic_items",
    type: "int",
    value: "M",
    min: LIMITS.minSyntheticItems,
    max: LIMITS.syntheticItems,
    description: "items of the synthetic dataset (= --set synthetic_items=M)",
  },
};

/** The named config-setting flags plus `--config` and `--set`, for a subcommand's `flags`. */
function configFlags(...names: string[]): Record<string, FlagSpec> {
  return { ...commonFlags("config", "set"), ...Object.fromEntries(names.map((n) => [n, CONFIG_FLAGS[n]])) };
}

/** The command line of `deno task data` and its subcommands. */
export const DATA_SPEC: CommandSpec = {
  usage: "deno task data",
  summary: "Getting and inspecting data (every command also takes --config FILE and --set key=value).",
  subcommands: {
    "ml-100k": {
      usage: "deno task data ml-100k",
      summary: "Download MovieLens-100K (sha256-checked) to <data_dir>/ml-100k/.",
      flags: {
        ...configFlags("data-dir"),
        url: { type: "string", value: "URL", description: `archive URL (default ${ML100K_URL})` },
        sha256: { type: "string", value: "HEX", description: "expected SHA-256 of the archive" },
      },
    },
    synthetic: {
      usage: "deno task data synthetic",
      summary: "Generate the built-in dataset in <data_dir>/synthetic/<users>x<items>/.",
      flags: configFlags("data-dir", "users", "items"),
    },
    stats: {
      usage: "deno task data stats",
      summary:
        "Print dataset statistics (after preprocessing), the preprocessing report (every drop count, and the users whose validation/test target equal timestamps decide) and the warnings as JSON.",
      flags: configFlags("data-dir", "dataset", "preset", "users", "items"),
    },
    llm: {
      usage: "deno task data llm",
      summary: "Generate leak-free LLM texts (train history only); resumable, cached answers are skipped.",
      details: [
        "Uses the OpenAI-compatible chat-completions endpoint of UR4REC_LLM_BASE_URL, UR4REC_LLM_MODEL and " +
        "UR4REC_LLM_API_KEY (request timeout UR4REC_LLM_TIMEOUT_S, default 60 s). Use the texts with llm_dir: DIR (and user_text: shipped / item_text: shipped).",
      ],
      flags: {
        ...configFlags("data-dir", "dataset", "preset", "users", "items"),
        kind: { type: "string", choices: ["users", "items"], description: "what to describe (default users)" },
        limit: { type: "int", value: "N", min: 1, description: "generate at most N texts" },
        rps: { type: "number", value: "R", min: 0.01, description: "requests per second" },
        out: {
          type: "string",
          value: "DIR",
          description: "output directory (default <data_dir>/llm_train_only/<dataset>-<preset>-<split>)",
        },
      },
    },
  },
};

/** The config overrides given by config-setting flags, named by the flag. */
function flagOverrides(values: ParsedArgs["values"]): ConfigOverride[] {
  return Object.entries(CONFIG_FLAGS).filter(([name]) => values[name] !== undefined)
    .map(([name, flag]) => ({ key: flag.key, value: values[name], source: `--${name} ${values[name]}` }));
}

async function main(): Promise<void> {
  const args = parseCli(DATA_SPEC, Deno.args);
  const [command] = args.command;
  const v = args.values;
  const config = await loadConfig(args.config, [...args.sets, ...flagOverrides(v)]);

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
    const summary = {
      dataset: name,
      preset: config.preset,
      split: config.split, // the tie counts of the report depend on it
      tie_order: resolveTieOrder(config.preset, config.tie_order),
      ...stats,
      report: interactions.report,
      warnings,
    };
    console.log(JSON.stringify(summary, null, 2));
  } else {
    await generate(config, v);
  }
}

async function generate(config: Config, v: ParsedArgs["values"]): Promise<void> {
  const kind = (v.kind ?? "users") as LlmKind;
  const limit = v.limit as number | undefined;
  const rps = v.rps as number | undefined;
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
