/** Bad configs, `--set` values, flags and positionals (see harness.ts). */
import type { BadInput } from "./harness.ts";

/** A train row: the config text `yaml` (when given) as {dir}/c.yaml, then `args`, run into {dir}/out. */
function train(name: string, yaml: string | undefined, args: string[], expect: RegExp): BadInput {
  return {
    name,
    files: yaml === undefined ? undefined : { "c.yaml": yaml },
    cli: "train",
    args: [...(yaml === undefined ? [] : ["--config", "{dir}/c.yaml"]), ...args, "--out", "{dir}/out"],
    expect,
  };
}

/** Rows for config files, `--set` and command-line flags. */
export const CONFIG_ROWS: BadInput[] = [
  {
    name: "config file that does not exist",
    cli: "train",
    args: ["--config", "{dir}/nope.yaml", "--out", "{dir}/out"],
    expect: /\{dir\}\/nope\.yaml: config file not found/,
  },
  train("YAML syntax error", "seed: 1\nmodel: [sasrec\n", [], /\{dir\}\/c\.yaml:\d+:\d+: YAML syntax error/),
  train(
    "unknown config key with a suggestion",
    "# tiny\nsasrec_hiden_dim: 32\n",
    [],
    /^error: \{dir\}\/c\.yaml:2: unknown config key "sasrec_hiden_dim" \(did you mean "sasrec_hidden_dim"\?\)$/,
  ),
  train(
    "duplicate key",
    "seed: 1\nseed: 2\n",
    [],
    /^error: \{dir\}\/c\.yaml:2:1: YAML syntax error: Map keys must be unique/,
  ),
  {
    name: "config path that is a directory",
    files: { "conf/x.txt": "" },
    cli: "train",
    args: ["--config", "{dir}/conf", "--out", "{dir}/out"],
    expect: /^error: \{dir\}\/conf: is a directory, not a config file$/,
  },
  train("empty config file", "", [], /^error: \{dir\}\/c\.yaml: the file is empty \(or only comments\)/),
  train("comment-only config file", "# seed: 3\n\n", [], /^error: \{dir\}\/c\.yaml: the file is empty/),
  train("config that is a list", "- seed: 1\n", [], /^error: \{dir\}\/c\.yaml:1: expected a YAML mapping of keys/),
  train(
    "wrong type, with the key's line",
    "seed: 1\nbatch_size: big\n",
    [],
    /^error: \{dir\}\/c\.yaml:2: key "batch_size" = "big": expected number, received string$/,
  ),
  train(
    "out of range",
    "seed: 1\n\nsasrec_dropout: 1.5\n",
    [],
    /^error: \{dir\}\/c\.yaml:3: key "sasrec_dropout" = 1\.5: Too big: expected number to be <=0\.99$/,
  ),
  train("NaN from .nan", "sasrec_lr: .nan\n", [], /c\.yaml:1: key "sasrec_lr" = NaN: expected number, received NaN/),
  train("Infinity from .inf", "grad_clip: .inf\n", [], /c\.yaml:1: key "grad_clip" = Infinity: expected number/),
  train("max_seq_len beyond the wasm heap", "max_seq_len: 5000\n", [], /key "max_seq_len" = 5000: .*<=1024/),
  train("num_negatives beyond the limit", "num_negatives: 100000\n", [], /key "num_negatives" = 100000: .*<=1000/),
  train(
    "max_seq_len within its bound but too big for the batch",
    "seed: 1\n",
    ["--set", "max_seq_len=1024"],
    /^error: --set max_seq_len=1024: a step would hold 268,435,456 floats of attention scores/,
  ),
  train("init std that is Infinity in float32", "sasrec_init_std: 1e39\n", [], /key "sasrec_init_std" = 1e\+39: .*<=1/),
  train(
    "SASRec heads that do not divide the hidden size",
    "model: sasrec\nsasrec_hidden_dim: 50\nsasrec_num_heads: 4\n",
    [],
    /^error: \{dir\}\/c\.yaml:3: sasrec_num_heads = 4 must divide sasrec_hidden_dim = 50$/,
  ),
  train(
    "MoE heads that do not divide the retriever dim (from --set)",
    "model: ur4rec\n",
    ["--set", "retriever_output_dim=30"],
    /^error: --set retriever_output_dim=30: moe_num_heads = 4 must divide retriever_output_dim = 30$/,
  ),
  train(
    "residual fusion with no stage that trains the gate (it would score as SASRec exactly)",
    "model: ur4rec\nfusion_method: residual\nstages: [pretrain_sasrec, pretrain_retriever]\n",
    [],
    /c\.yaml:2: fusion_method = residual: no stage trains the gate .* every score would be SASRec's exactly/,
  ),
  train(
    "precomputed text encoder without a path",
    "text_encoder: precomputed\n",
    [],
    /c\.yaml:1: text_encoder: precomputed needs text_embeddings_path/,
  ),
  train(
    "stages that train nothing of the model",
    "model: bprmf\nstages: [pretrain_retriever]\n",
    [],
    /c\.yaml:2: model bprmf has no retriever, so stages \[pretrain_retriever\] would train nothing/,
  ),
  train(
    "loss weights that leave nothing to train",
    undefined,
    ["--set", "sasrec_loss_weight=0"],
    /^error: --set sasrec_loss_weight=0: stage pretrain_sasrec of model sasrec would have no loss term with a non-zero weight/,
  ),
  train("--set without =", undefined, ["--set", "seed"], /^error: --set seed: expected key=value$/),
  train(
    "--set unknown key",
    undefined,
    ["--set", "paddng=left"],
    /^error: --set paddng=left: unknown config key "paddng" \(did you mean "padding"\?\)$/,
  ),
  train(
    "--set null on a non-nullable key",
    "seed: 1\n",
    ["--set", "data_dir=null"],
    /^error: --set data_dir=null: key "data_dir" = null: expected string, received null$/,
  ),
  train(
    "--set max_users=null and ~ are null (valid); the bad --set after them is named",
    undefined,
    ["--set", "max_users=null", "--set", "max_users=~", "--set", "batch_size=0"],
    /^error: --set batch_size=0: key "batch_size" = 0: Too small/,
  ),
  train(
    "--set value that is not YAML",
    undefined,
    ["--set", "stages=[pretrain_sasrec"],
    /^error: --set stages=\[pretrain_sasrec: the value is not valid YAML/,
  ),
  train(
    "stray positional config path",
    undefined,
    ["{dir}/c.yaml"],
    /^error: unexpected argument "\{dir\}\/c\.yaml": deno task train takes no positional arguments \(did you mean --config \{dir\}\/c\.yaml\?\); see deno task train --help$/,
  ),
  train(
    "unknown flag",
    undefined,
    ["--confg", "x.yaml"],
    /^error: unknown option --confg \(did you mean --config\?\); see deno task train --help$/,
  ),
  train("boolean flag with a value", undefined, ["--resume=yes"], /^error: --resume: takes no value \(got "yes"\)$/),
  train("bad --backend", undefined, ["--backend", "tpu"], /^error: --backend tpu: expected one of wasm, cpu, webgpu$/),
  {
    name: "UR4REC_BACKEND with a bad value",
    cli: "train",
    args: ["--out", "{dir}/out"],
    env: { UR4REC_BACKEND: "tpu" },
    expect: /^error: UR4REC_BACKEND=tpu: key "backend" = "tpu": expected one of "wasm"\|"cpu"\|"webgpu"$/,
  },
  {
    name: "investigate: stray positional",
    cli: "investigate",
    args: ["configs/nan_repro.yaml", "--out", "{dir}/out"],
    expect:
      /^error: unexpected argument "configs\/nan_repro\.yaml": .*\(did you mean --config configs\/nan_repro\.yaml\?\)/,
  },
  {
    name: "investigate: unknown flag",
    cli: "investigate",
    args: ["--resume", "--out", "{dir}/out"],
    expect: /^error: unknown option --resume; see deno task investigate --help$/,
  },
  {
    name: "ablate: a mode given as a flag (the old grammar)",
    cli: "ablate",
    args: ["--summarize", "{dir}/out"],
    expect:
      /^error: deno task ablate: expected a command \(run, summarize, run-task\) first; see deno task ablate --help$/,
  },
  {
    name: "ablate run without --out",
    cli: "ablate",
    args: ["run", "--grid", "configs/grids/models_smoke.yaml"],
    expect: /^error: deno task ablate run: missing --out DIR; see deno task ablate run --help$/,
  },
  {
    name: "ablate run --time that is not a Slurm time",
    cli: "ablate",
    args: [
      "run",
      "--grid",
      "configs/grids/models_smoke.yaml",
      "--out",
      "{dir}/out",
      "--executor",
      "slurm",
      "--time",
      "1h",
    ],
    expect: /^error: --time 1h: a Slurm time limit such as 90, 1:30:00 or 2-00:00:00$/,
  },
  {
    name: "ablate: unknown flag",
    cli: "ablate",
    args: ["run", "--grd", "g.yaml", "--out", "{dir}/out"],
    expect: /^error: unknown option --grd \(did you mean --grid\?\); see deno task ablate run --help$/,
  },
  {
    name: "ablate: bad --workers",
    cli: "ablate",
    args: ["run", "--grid", "configs/grids/models_smoke.yaml", "--out", "{dir}/out", "--workers", "0"],
    expect: /^error: --workers 0: expected an integer >= 1$/,
  },
  {
    name: "ablate: bad --executor",
    cli: "ablate",
    args: ["run", "--grid", "configs/grids/models_smoke.yaml", "--out", "{dir}/out", "--executor", "k8s"],
    expect: /^error: --executor k8s: expected one of local, slurm$/,
  },
  {
    name: "data: a flag before the command",
    cli: "data",
    args: ["--data-dir", "{dir}", "stats"],
    expect: /^error: deno task data: expected a command \(ml-100k, synthetic, stats, llm\) first/,
  },
  {
    name: "data: unknown command",
    cli: "data",
    args: ["stat", "--data-dir", "{dir}"],
    expect: /^error: deno task data: unknown command "stat" \(did you mean "stats"\?\)/,
  },
  ...["ml-100k", "synthetic", "stats", "llm"].map((command): BadInput => ({
    name: `data ${command}: unknown flag`,
    cli: "data",
    args: [command, "--data-dri", "{dir}"],
    expect: new RegExp(
      `^error: unknown option --data-dri \\(did you mean --data-dir\\?\\); see deno task data ${command} --help$`,
    ),
  })),
  {
    name: "data stats: stray positional config path",
    cli: "data",
    args: ["stats", "--data-dir", "{dir}", "configs/smoke.yaml"],
    expect:
      /^error: unexpected argument "configs\/smoke\.yaml": deno task data stats takes no positional arguments \(did you mean --config configs\/smoke\.yaml\?\)/,
  },
  {
    name: "notebooks: stray positional",
    cli: "notebooks",
    args: ["01_nan_investigation", "--out", "{dir}/out"],
    expect:
      /^error: unexpected argument "01_nan_investigation": deno task notebooks takes no positional arguments; see/,
  },
  {
    name: "data synthetic: --items below the generator's minimum",
    cli: "data",
    args: ["synthetic", "--data-dir", "{dir}", "--items", "5"],
    expect: /^error: --items 5: expected an integer >= 20 and <= 4096$/,
  },
  {
    name: "data stats: --set out of range",
    cli: "data",
    args: ["stats", "--data-dir", "{dir}", "--set", "max_users=0"],
    expect: /^error: --set max_users=0: key "max_users" = 0: Too small/,
  },
  {
    name: "data llm: bad --kind",
    cli: "data",
    args: ["llm", "--data-dir", "{dir}", "--kind", "movies"],
    expect: /^error: --kind movies: expected one of users, items$/,
  },
  {
    name: "notebooks: unknown flag",
    cli: "notebooks",
    args: ["--profle", "smoke", "--out", "{dir}/out"],
    expect: /^error: unknown option --profle \(did you mean --profile\?\); see deno task notebooks --help$/,
  },
  {
    name: "notebooks: bad --profile",
    cli: "notebooks",
    args: ["--profile", "huge", "--out", "{dir}/out"],
    expect: /^error: --profile huge: expected one of smoke, full$/,
  },
];
