/** Bad configs, `--set` values, flags and positionals (see harness.ts). */
import type { BadInput } from "./harness.ts";

/** Rows for config files, `--set` and command-line flags. */
export const CONFIG_ROWS: BadInput[] = [
  {
    name: "config file that does not exist",
    cli: "train",
    args: ["--config", "{dir}/nope.yaml", "--out", "{dir}/out"],
    expect: /\{dir\}\/nope\.yaml: config file not found/,
  },
  {
    name: "YAML syntax error",
    files: { "c.yaml": "seed: 1\nmodel: [sasrec\n" },
    cli: "train",
    args: ["--config", "{dir}/c.yaml", "--out", "{dir}/out"],
    expect: /\{dir\}\/c\.yaml:\d+:\d+: YAML syntax error/,
  },
  {
    name: "unknown config key with a suggestion",
    files: { "c.yaml": "sasrec_hiden_dim: 32\n" },
    cli: "train",
    args: ["--config", "{dir}/c.yaml", "--out", "{dir}/out"],
    expect: /c\.yaml.*unknown config key "sasrec_hiden_dim" \(did you mean "sasrec_hidden_dim"\?\)/,
  },
  {
    name: "unknown flag",
    cli: "train",
    args: ["--confg", "x.yaml", "--out", "{dir}/out"],
    expect: /--confg/,
  },
];
