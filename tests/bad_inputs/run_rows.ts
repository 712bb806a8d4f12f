/** Bad run directories and output paths (see harness.ts). No row trains: every check runs before data is loaded. */
import type { BadInput } from "./harness.ts";

/** A small valid config; its data would go under the row's temp dir (never reached). */
const CONFIG = "dataset: synthetic\ndata_dir: {dir}/data\nsasrec_hidden_dim: 16\nsasrec_lr: 0.001\nseed: 1\n";

/** A finished run made by hand: its config and summary. */
const COMPLETED_RUN = {
  "c.yaml": CONFIG,
  "out/config.yaml": CONFIG,
  "out/summary.json": JSON.stringify({ status: "completed", test: { "NDCG@10": 0.1234 } }),
};

/** An unfinished run with a complete checkpoint (state.json is what marks a checkpoint copy complete). */
const RESUMABLE_RUN = {
  "c.yaml": CONFIG,
  "out/config.yaml": CONFIG,
  "out/metrics.jsonl": "",
  "out/checkpoint/state.json": "{}",
};

const TRAIN = ["--config", "{dir}/c.yaml", "--out", "{dir}/out"];

/** Rows for `--out`, `--resume` and other paths a CLI writes. */
export const RUN_ROWS: BadInput[] = [
  {
    name: "train --out names a file",
    files: { "c.yaml": CONFIG, "out": "not a directory\n" },
    cli: "train",
    args: TRAIN,
    expect: /^error: --out \{dir\}\/out: \{dir\}\/out is a file, expected a directory$/,
  },
  {
    name: "train --out under a file",
    files: { "c.yaml": CONFIG, "f": "a file\n" },
    cli: "train",
    args: ["--config", "{dir}/c.yaml", "--out", "{dir}/f/sub"],
    expect: /--out \{dir\}\/f\/sub: cannot create \{dir\}\/f\/sub: \{dir\}\/f is a file, not a directory/,
  },
  {
    name: "train into a directory that holds a completed run",
    files: COMPLETED_RUN,
    cli: "train",
    args: TRAIN,
    expect:
      /--out \{dir\}\/out holds a completed run \(test NDCG@10 0\.1234; config\.yaml, summary\.json\): add --resume .*--force/,
  },
  {
    name: "train into a directory whose config.yaml is another run's",
    files: { "c.yaml": CONFIG, "out/config.yaml": CONFIG.replace("seed: 1", "seed: 2") },
    cli: "train",
    args: TRAIN,
    expect: /--out \{dir\}\/out holds the files of a run \(config\.yaml\): add --resume .*--force/,
  },
  {
    name: "train --resume on a run with no checkpoint",
    files: COMPLETED_RUN,
    cli: "train",
    args: [...TRAIN, "--resume"],
    expect: /--resume \{dir\}\/out: nothing to resume, no complete checkpoint\/ .*drop --resume/,
  },
  {
    name: "train --resume on a directory that does not exist",
    files: { "c.yaml": CONFIG },
    cli: "train",
    args: [...TRAIN, "--resume"],
    expect: /--resume \{dir\}\/out: nothing to resume, .*it holds no run.*drop --resume to start a fresh run$/,
  },
  {
    name: "train --resume with a checkpoint copy that never completed (no state.json)",
    files: { "c.yaml": CONFIG, "out/config.yaml": CONFIG, "out/checkpoint.tmp-1234abcd/weights/weights.bin": "" },
    cli: "train",
    args: [...TRAIN, "--resume"],
    expect: /--resume \{dir\}\/out: nothing to resume, .*checkpoint\.tmp-1234abcd/,
  },
  {
    name: "train --resume with a changed seed",
    files: RESUMABLE_RUN,
    cli: "train",
    args: [...TRAIN, "--resume", "--set", "seed=2"],
    expect:
      /--resume \{dir\}\/out: the config differs from the run's config\.yaml: seed 1 -> 2 \(only epochs_per_stage/,
  },
  {
    name: "train --resume with a changed learning rate and a safe change",
    files: RESUMABLE_RUN,
    cli: "train",
    args: [...TRAIN, "--resume", "--set", "sasrec_lr=0.01", "--set", "patience=9"],
    expect: /config differs from the run's config\.yaml: sasrec_lr 0\.001 -> 0\.01 \(only/,
  },
  {
    name: "train --resume with a changed hidden dim",
    files: RESUMABLE_RUN,
    cli: "train",
    args: [...TRAIN, "--resume", "--set", "sasrec_hidden_dim=32"],
    expect: /config differs from the run's config\.yaml: sasrec_hidden_dim 16 -> 32 /,
  },
  {
    name: "train --resume and --force together",
    files: RESUMABLE_RUN,
    cli: "train",
    args: [...TRAIN, "--resume", "--force"],
    expect: /--resume and --force: give one/,
  },
  {
    name: "investigate into a directory that holds a report",
    files: { "c.yaml": CONFIG, "out/nan_report.json": "{}\n", "out/nan_report.txt": "report\n" },
    cli: "investigate",
    args: TRAIN,
    expect: /--out \{dir\}\/out holds a NaN report \(nan_report\.json, nan_report\.txt\): add --force to replace it/,
  },
  {
    name: "investigate into a directory that holds a training run",
    files: COMPLETED_RUN,
    cli: "investigate",
    args: TRAIN,
    expect: /--out \{dir\}\/out holds a completed run \(test NDCG@10 0\.1234.*add --force/,
  },
  {
    name: "investigate --out under a file",
    files: { "c.yaml": CONFIG, "f": "a file\n" },
    cli: "investigate",
    args: ["--config", "{dir}/c.yaml", "--out", "{dir}/f/out"],
    expect: /--out \{dir\}\/f\/out: cannot create \{dir\}\/f\/out: \{dir\}\/f is a file/,
  },
  {
    name: "ablate --out names a file",
    files: { "g.yaml": "axes:\n  seed: [1]\n", "out": "a file\n" },
    cli: "ablate",
    args: ["run", "--grid", "{dir}/g.yaml", "--out", "{dir}/out"],
    expect: /--out \{dir\}\/out: \{dir\}\/out is a file, expected a directory/,
  },
  {
    name: "notebooks --out names a file",
    files: { "out": "a file\n" },
    cli: "notebooks",
    args: ["--out", "{dir}/out"],
    expect: /--out \{dir\}\/out: \{dir\}\/out is a file, expected a directory/,
  },
  {
    name: "data synthetic --data-dir under a file",
    files: { "f": "a file\n" },
    cli: "data",
    args: ["synthetic", "--data-dir", "{dir}/f/data"],
    expect: /--data-dir \{dir\}\/f\/data: cannot create \{dir\}\/f\/data: \{dir\}\/f is a file/,
  },
  {
    name: "data ml-100k --data-dir names a file",
    files: { "f": "a file\n" },
    cli: "data",
    args: ["ml-100k", "--data-dir", "{dir}/f"],
    expect: /--data-dir \{dir\}\/f: cannot create \{dir\}\/f\/ml-100k: \{dir\}\/f is a file/,
  },
  {
    name: "data llm --out names a file",
    files: { "out": "a file\n" },
    cli: "data",
    args: ["llm", "--out", "{dir}/out", "--data-dir", "{dir}/data"],
    env: { UR4REC_LLM_BASE_URL: "http://127.0.0.1:9", UR4REC_LLM_MODEL: "m", UR4REC_LLM_API_KEY: "k" },
    expect: /--out \{dir\}\/out: \{dir\}\/out is a file, expected a directory/,
  },
];
