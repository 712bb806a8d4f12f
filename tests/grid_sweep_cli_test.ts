/**
 * Sweep and lock errors through the CLIs, with the project's clear-error contract (tests/bad_inputs/harness.ts):
 * exit 2, one line naming the file and key (or the directory and holder, or the variable), nothing written.
 */
import { processIdentity } from "../src/experiments/process.ts";
import { type BadInput, checkBadInput } from "./bad_inputs/harness.ts";

const init = JSON.stringify(processIdentity(1));

const ROWS: BadInput[] = [
  {
    name: "ablate: a sweep range with low > high",
    files: {
      "sweep.yaml": "base: {dataset: synthetic}\nsearch: random\ntrials: 2\nseeds: [1]\n" +
        "axes: {sasrec_lr: {log_uniform: [0.01, 0.001]}}\n",
    },
    cli: "ablate",
    args: ["run", "--grid", "{dir}/sweep.yaml", "--out", "{dir}/out"],
    expect: /^error: \{dir\}\/sweep\.yaml: axes\.sasrec_lr\.log_uniform: expected low < high, got \[0\.01, 0\.001\]$/,
  },
  {
    name: "ablate: early_terminate whose max_epochs is not min_epochs x eta^k",
    files: {
      "sweep.yaml": "base: {dataset: synthetic}\nseeds: [1]\naxes: {loss: [bce]}\n" +
        "early_terminate: {type: asha, min_epochs: 2, reduction_factor: 2, max_epochs: 12}\n",
    },
    cli: "ablate",
    args: ["run", "--grid", "{dir}/sweep.yaml", "--out", "{dir}/out"],
    expect: /^error: \{dir\}\/sweep\.yaml: early_terminate\.max_epochs: expected min_epochs x reduction_factor\^k/,
  },
  {
    name: "ablate: an output directory held by a live runner",
    files: { "grid.yaml": "base: {dataset: synthetic}\nseeds: [1]\naxes: {loss: [bce]}\n", "out/runner.json": init },
    cli: "ablate",
    args: ["run", "--grid", "{dir}/grid.yaml", "--out", "{dir}/out"],
    expect: /^error: \{dir\}\/out: another runner \(pid 1\) is working on this directory$/,
  },
  {
    name: "data llm: a request timeout that is not a positive number",
    cli: "data",
    args: ["llm", "--limit", "1", "--out", "{dir}/llm"],
    env: {
      UR4REC_LLM_BASE_URL: "http://127.0.0.1:9/v1",
      UR4REC_LLM_MODEL: "m",
      UR4REC_LLM_API_KEY: "sk-secret-key",
      UR4REC_LLM_TIMEOUT_S: "soon",
    },
    expect: /^error: UR4REC_LLM_TIMEOUT_S=soon: expected a positive number of seconds$/,
  },
];

for (const row of ROWS) Deno.test(`bad input: ${row.name} -> exit 2, one line`, () => checkBadInput(row));
