/**
 * The command-line system (src/cli/args.ts): every CLI and subcommand answers `--help` from its spec with exit 0,
 * and the parser turns each kind of bad command line into one `UserError` naming the flag.
 */
import assert from "node:assert/strict";
import { type CommandSpec, commonFlags, helpText, parseCli } from "../src/cli/args.ts";
import { HelpRequested, UserError } from "../src/util/errors.ts";
import { REPO_ROOT, runScript } from "./helpers.ts";

/** A small spec with every kind of flag and one subcommand level. */
const SPEC: CommandSpec = {
  usage: "deno task demo",
  summary: "A demo.",
  subcommands: {
    run: {
      usage: "deno task demo run",
      summary: "Runs.",
      flags: {
        ...commonFlags("config", "set", "out", "backend"),
        workers: { type: "int", value: "N", min: 1, description: "workers" },
        rate: { type: "number", min: 0.5, max: 2, description: "rate" },
        kind: { type: "string", choices: ["a", "b"], description: "kind" },
        quiet: { type: "boolean", description: "quiet" },
      },
    },
    show: { usage: "deno task demo show", summary: "Shows.", positionals: [{ name: "FILE", description: "a file" }] },
  },
};

/** The message of the `UserError` that parsing `args` throws. */
function parseError(args: string[]): string {
  try {
    parseCli(SPEC, args);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err.message;
  }
  throw new Error(`no error for ${args.join(" ")}`);
}

Deno.test("args: flags of every type parse into values, --set and --backend into sets", () => {
  const args = parseCli(SPEC, [
    "run",
    "--workers=3",
    "--rate",
    "1.5",
    "--kind",
    "b",
    "--quiet",
    "--set",
    "seed=1",
    "--set=seed=2",
    "--backend",
    "cpu",
    "--out",
    "o",
  ]);
  assert.deepEqual(args.command, ["run"]);
  assert.deepEqual(args.values, {
    workers: 3,
    rate: 1.5,
    kind: "b",
    quiet: true,
    set: ["seed=1", "seed=2"],
    backend: "cpu",
    out: "o",
  });
  assert.deepEqual(args.sets, ["seed=1", "seed=2", "backend=cpu"]);
  assert.equal(args.out, "o");
  assert.equal(args.config, undefined);
  assert.deepEqual(parseCli(SPEC, ["show", "--", "--odd-name"]).positionals, { FILE: "--odd-name" });
});

Deno.test("args: each kind of bad command line is one UserError naming the flag", () => {
  const cases: [string[], string][] = [
    [["run", "--confg", "x.yaml"], "unknown option --confg (did you mean --config?); see deno task demo run --help"],
    [["run", "--zzzzzz"], "unknown option --zzzzzz; see deno task demo run --help"],
    [["run", "-x"], "unknown option -x; see deno task demo run --help"],
    [["run", "--workers", "0"], "--workers 0: expected an integer >= 1"],
    [["run", "--workers", "2.5"], "--workers 2.5: expected an integer >= 1"],
    [["run", "--workers", "many"], "--workers many: expected an integer >= 1"],
    [["run", "--rate", "9"], "--rate 9: expected a number >= 0.5 and <= 2"],
    [["run", "--kind", "c"], "--kind c: expected one of a, b"],
    [["run", "--backend", "tpu"], "--backend tpu: expected one of wasm, cpu, webgpu"],
    [["run", "--out"], "--out: expected a value (DIR)"],
    [["run", "--out", "--quiet"], "--out: expected a value (DIR)"],
    [["run", "--out="], "--out: expected a value (DIR)"],
    [["run", "--out", ""], "--out: expected a value (DIR)"],
    [["run", "--quiet=yes"], '--quiet: takes no value (got "yes")'],
    [["run", "--out", "a", "--out", "b"], "--out: given twice (a and b)"],
    [
      ["run", "configs/smoke.yaml"],
      'unexpected argument "configs/smoke.yaml": deno task demo run takes no positional arguments ' +
      "(did you mean --config configs/smoke.yaml?); see deno task demo run --help",
    ],
    [
      ["run", "extra"],
      'unexpected argument "extra": deno task demo run takes no positional arguments; ' +
      "see deno task demo run --help",
    ],
    [
      ["show", "a", "b"],
      'unexpected extra argument "b": deno task demo show takes only FILE; see deno task demo show --help',
    ],
    [["show"], "deno task demo show: missing FILE; see deno task demo show --help"],
    [["rnu"], 'deno task demo: unknown command "rnu" (did you mean "run"?); see deno task demo --help'],
    [[], "deno task demo: expected a command (run, show) first; see deno task demo --help"],
    [["--quiet", "run"], "deno task demo: expected a command (run, show) first; see deno task demo --help"],
  ];
  for (const [args, message] of cases) assert.equal(parseError(args), message, args.join(" "));
});

Deno.test("args: -h / --help anywhere gives the help text of the (sub)command", () => {
  for (const [args, spec] of [[["-h"], SPEC], [["run", "--out", "x", "--help"], SPEC.subcommands!.run]] as const) {
    assert.throws(() => parseCli(SPEC, [...args]), (err: unknown) => {
      assert.ok(err instanceof HelpRequested);
      assert.equal(err.text, helpText(spec));
      return true;
    });
  }
  const run = helpText(SPEC.subcommands!.run);
  assert.match(run, /^Usage: deno task demo run \[options\]\n\nRuns\.\n\nOptions:\n/);
  assert.match(run, /\n {2}--workers N {6}workers\n/);
  assert.match(run, /\n {2}--set KEY=VALUE {2}override one config key.*\(repeatable\)\n/);
  assert.match(
    run,
    /\n {2}-h, --help {7}show this help and exit\n\nExit codes:\n {2}0 {2}success\n {2}2 {2}user error/,
  );
  assert.match(
    helpText(SPEC),
    /^Usage: deno task demo <command> \[options\]\n[^]*Commands:\n {2}run {3}Runs\.\n {2}show {2}Shows\./,
  );
  assert.match(
    helpText(SPEC.subcommands!.show),
    /^Usage: deno task demo show FILE \[options\]\n[^]*Arguments:\n {2}FILE {2}a file/,
  );
});

/** Every command and subcommand of the kit (every entry point in src/cli/), as arguments of `deno run -A`. */
const COMMANDS = [
  ...[...Deno.readDirSync(`${REPO_ROOT}src/cli`)].map((e) => e.name).filter((n) => n !== "args.ts").sort()
    .map((n) => [`src/cli/${n}`]),
  ...["ml-100k", "synthetic", "stats", "llm"].map((sub) => ["src/cli/data.ts", sub]),
  ...["run", "summarize", "run-task"].map((sub) => ["src/cli/ablate.ts", sub]),
  ["bench/bench.ts"],
];

function run([script, ...args]: string[]) {
  return runScript(script, args);
}

Deno.test("cli: every command and subcommand answers --help with exit 0 and a usage line", async () => {
  for (const [script, ...sub] of COMMANDS) {
    const name = `deno task ${script.replace(/^.*\/(\w+)\.ts$/, "$1")}${sub.map((s) => ` ${s}`).join("")}`;
    const result = await run([script, ...sub, "--help"]);
    assert.equal(result.code, 0, `${name} --help: exit ${result.code}\n${result.stderr}`);
    assert.equal(result.stderr, "", name);
    assert.match(result.stdout, new RegExp(`^Usage: ${name} `), name);
    assert.match(result.stdout, /\nExit codes:\n/, name);
  }
});

Deno.test("cli: jupyter and bench reject an unknown flag with exit 2 and one line", async () => {
  for (const [script, name] of [["src/cli/jupyter.ts", "jupyter"], ["bench/bench.ts", "bench"]]) {
    const result = await run([script, "--prot", "1"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      `error: unknown option --prot${name === "jupyter" ? " (did you mean --port?)" : ""}; ` +
        `see deno task ${name} --help\n`,
    );
  }
});
