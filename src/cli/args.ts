/**
 * The one command-line system of the kit: each CLI declares a `CommandSpec` (its flags, positionals and
 * subcommands, each with a one-line description); `parseCli` parses `Deno.args` from it and `helpText` renders
 * its `--help`. Bad flags are `UserError`s that name the flag, suggest the nearest one and point to `--help`.
 */
import { BACKENDS } from "../config/schema.ts";
import { HelpRequested, nearest, UserError } from "../util/errors.ts";

/** What a flag takes: a string, an integer, a finite number, or nothing (a boolean switch). */
export type FlagType = "string" | "int" | "number" | "boolean";

/** One `--flag` of a command. */
export interface FlagSpec {
  type: FlagType;
  /** One-line description for the help table. */
  description: string;
  /** Name of the value in help (`FILE`, `DIR`, `N`); defaults to the type. */
  value?: string;
  /** May be given more than once (the values are collected in order). */
  multiple?: boolean;
  /** The values a string flag accepts. */
  choices?: readonly string[];
  /** Inclusive lower bound of an int/number flag. */
  min?: number;
  /** Inclusive upper bound of an int/number flag. */
  max?: number;
  /** The command cannot run without it (shown in the usage line; missing is a user error). */
  required?: boolean;
}

/** One positional argument of a command. */
export interface PositionalSpec {
  name: string;
  description: string;
}

/** Everything a command takes, the single source of its parsing and its `--help`. */
export interface CommandSpec {
  /** How the command is invoked, e.g. `deno task data stats`. */
  usage: string;
  /** One-line description (also the line in the parent's command list). */
  summary: string;
  /** Further paragraphs of help text (outputs, modes, conventions). */
  details?: string[];
  /** Flags by name (without the leading `--`). */
  flags?: Record<string, FlagSpec>;
  /** Positional arguments, in order (none when absent: a stray positional is an error). */
  positionals?: PositionalSpec[];
  /** Subcommands by name; the subcommand must be the first argument. */
  subcommands?: Record<string, CommandSpec>;
  /** Exit codes and their meaning (default: 0 success, 2 user error). */
  exitCodes?: Record<number, string>;
}

/** The names of the flags shared by the experiment CLIs. */
export type CommonFlag = "config" | "set" | "out" | "backend" | "resume";

/** The flags shared by the experiment CLIs; a command picks the ones it takes with `commonFlags`. */
export const COMMON_FLAGS: Record<CommonFlag, FlagSpec> = {
  config: { type: "string", value: "FILE", description: "YAML config (configs/README.md); without it the defaults" },
  set: {
    type: "string",
    value: "KEY=VALUE",
    multiple: true,
    description: "override one config key; VALUE is YAML (3, null, [a, b]); wins over the file",
  },
  out: { type: "string", value: "DIR", description: "output directory" },
  backend: { type: "string", value: "NAME", choices: BACKENDS, description: "tfjs backend (= --set backend=NAME)" },
  resume: { type: "boolean", description: "continue the run in --out from its last checkpoint" },
};

/** The named common flags, to spread into a command's `flags`. */
export function commonFlags<K extends CommonFlag>(...names: K[]): Record<K, FlagSpec> {
  return Object.fromEntries(names.map((n) => [n, COMMON_FLAGS[n]])) as Record<K, FlagSpec>;
}

/** A parsed flag value: string, number, boolean, or the list of a repeatable flag. */
export type FlagValue = string | number | boolean | string[];

/** A parsed command line. */
export interface ParsedArgs {
  /** The subcommand path taken (`["stats"]` for `data stats`), empty for commands without subcommands. */
  command: string[];
  /** Flag values by flag name (absent flags are absent); ints and numbers are already numbers. */
  values: Record<string, FlagValue | undefined>;
  /** Positionals by their spec name. */
  positionals: Record<string, string>;
  /** `--config`. */
  config?: string;
  /** The `--set` assignments, then `backend=NAME` for `--backend NAME` (already checked against the choices). */
  sets: string[];
  /** `--out`. */
  out?: string;
  /** `--resume`. */
  resume: boolean;
}

const HELP_FLAG: FlagSpec = { type: "boolean", description: "show this help and exit" };
const DEFAULT_EXIT_CODES: Record<number, string> = { 0: "success", 2: "user error (bad flag, config or data)" };

/**
 * Parses `args` by `spec`. `-h`/`--help` anywhere throws `HelpRequested` with the help text (runMain prints it
 * and exits 0); an unknown flag, a missing or bad value, a repeated single flag, a missing or unknown subcommand
 * and a stray positional are `UserError`s.
 */
export function parseCli(spec: CommandSpec, args: string[]): ParsedArgs {
  if (spec.subcommands) {
    const [first, ...rest] = args;
    if (first === undefined || first.startsWith("-")) {
      if (first === "-h" || first === "--help") throw new HelpRequested(helpText(spec));
      const names = Object.keys(spec.subcommands);
      throw new UserError(`${spec.usage}: expected a command (${names.join(", ")}) first; see ${spec.usage} --help`);
    }
    const sub = spec.subcommands[first];
    if (!sub) {
      const hint = nearest(first, Object.keys(spec.subcommands));
      throw new UserError(
        `${spec.usage}: unknown command "${first}"${
          hint ? ` (did you mean "${hint}"?)` : ""
        }; see ${spec.usage} --help`,
      );
    }
    const parsed = parseCli(sub, rest);
    return { ...parsed, command: [first, ...parsed.command] };
  }
  const { values, positionals } = scan(spec, args);
  const missingFlag = Object.entries(spec.flags ?? {}).find(([name, flag]) =>
    flag.required && values[name] === undefined
  );
  if (missingFlag) {
    const [name, flag] = missingFlag;
    throw new UserError(`${spec.usage}: missing --${name} ${valueName(flag)}; see ${spec.usage} --help`);
  }
  const expected = spec.positionals ?? [];
  if (positionals.length > expected.length) throw strayPositional(spec, positionals[expected.length]);
  if (positionals.length < expected.length) {
    const missing = expected[positionals.length].name;
    throw new UserError(`${spec.usage}: missing ${missing}; see ${spec.usage} --help`);
  }
  const sets = [...(values.set as string[] | undefined ?? [])];
  if (typeof values.backend === "string") sets.push(`backend=${values.backend}`);
  return {
    command: [],
    values,
    positionals: Object.fromEntries(expected.map((p, i) => [p.name, positionals[i]])),
    config: values.config as string | undefined,
    sets,
    out: values.out as string | undefined,
    resume: values.resume === true,
  };
}

/** Splits `args` into flag values and positionals (everything after `--` is positional). */
function scan(spec: CommandSpec, args: string[]): { values: ParsedArgs["values"]; positionals: string[] } {
  const flags = spec.flags ?? {};
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (token === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (token === "-h" || token === "--help") throw new HelpRequested(helpText(spec));
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const name = token.slice(token.startsWith("--") ? 2 : 1, eq < 0 ? undefined : eq);
    const flag = token.startsWith("--") ? flags[name] : undefined;
    if (!flag) throw unknownFlag(spec, token.slice(0, eq < 0 ? undefined : eq));
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    if (flag.type === "boolean") {
      if (inline !== undefined) throw new UserError(`--${name}: takes no value (got "${inline}")`);
      values[name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith("--")) [raw, i] = [next, i + 1];
    }
    if (!raw) throw new UserError(`--${name}: expected a value (${valueName(flag)})`);
    const value = convert(name, flag, raw);
    if (flag.multiple) values[name] = [...(values[name] as string[] | undefined ?? []), String(value)];
    else if (values[name] !== undefined) throw new UserError(`--${name}: given twice (${values[name]} and ${raw})`);
    else values[name] = value;
  }
  return { values, positionals };
}

/** Checks and converts one flag value. */
function convert(name: string, flag: FlagSpec, raw: string): string | number {
  if (flag.type === "string") {
    if (flag.choices && !flag.choices.includes(raw)) {
      throw new UserError(`--${name} ${raw}: expected one of ${flag.choices.join(", ")}`);
    }
    return raw;
  }
  const n = raw.trim() === "" ? NaN : Number(raw);
  const kind = flag.type === "int" ? "an integer" : "a number";
  const bounds = [flag.min !== undefined ? `>= ${flag.min}` : "", flag.max !== undefined ? `<= ${flag.max}` : ""]
    .filter(Boolean).join(" and ");
  const ok = Number.isFinite(n) && (flag.type !== "int" || Number.isSafeInteger(n)) &&
    !(flag.min !== undefined && n < flag.min) && !(flag.max !== undefined && n > flag.max);
  if (!ok) throw new UserError(`--${name} ${raw}: expected ${kind}${bounds ? ` ${bounds}` : ""}`);
  return n;
}

function unknownFlag(spec: CommandSpec, flag: string): UserError {
  const names = Object.keys(spec.flags ?? {}).map((n) => `--${n}`);
  const hint = nearest(flag, [...names, "--help"]);
  return new UserError(
    `unknown option ${flag}${hint ? ` (did you mean ${hint}?)` : ""}; see ${spec.usage} --help`,
  );
}

function strayPositional(spec: CommandSpec, arg: string): UserError {
  const what = spec.positionals?.length ? "extra argument" : "argument";
  const takes = spec.positionals?.length
    ? `takes only ${spec.positionals.map((p) => p.name).join(" ")}`
    : "takes no positional arguments";
  const hint = /\.ya?ml$/i.test(arg) && spec.flags?.config ? ` (did you mean --config ${arg}?)` : "";
  return new UserError(`unexpected ${what} "${arg}": ${spec.usage} ${takes}${hint}; see ${spec.usage} --help`);
}

function valueName(flag: FlagSpec): string {
  if (flag.value) return flag.value;
  if (flag.choices) return flag.choices.join("|");
  return flag.type === "int" ? "N" : flag.type === "number" ? "X" : "VALUE";
}

/** Wraps each line of a paragraph at `width` columns (explicit newlines and their indentation are kept). */
function wrap(paragraph: string, width = 100): string[] {
  return paragraph.split("\n").flatMap((line) => {
    const indent = line.match(/^ */)![0];
    const out: string[] = [];
    let current = "";
    for (const word of line.trim().split(/ +/)) {
      if (current && indent.length + current.length + 1 + word.length > width) {
        out.push(indent + current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    return [...out, indent + current];
  });
}

/** Two-column rows, the first column padded to a common width. */
function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

/** The `--help` text of a command: usage line, description, commands or flags, exit codes. */
export function helpText(spec: CommandSpec): string {
  const lines: string[] = [];
  if (spec.subcommands) {
    lines.push(`Usage: ${spec.usage} <command> [options]`, "", spec.summary, "", "Commands:");
    lines.push(...table(Object.entries(spec.subcommands).map(([name, sub]) => [name, sub.summary])));
    lines.push("", `Run \`${spec.usage} <command> --help\` for the options of a command.`);
  } else {
    const positionals = (spec.positionals ?? []).map((p) => ` ${p.name}`).join("");
    const required = Object.entries(spec.flags ?? {}).filter(([, f]) => f.required)
      .map(([name, f]) => ` --${name} ${valueName(f)}`).join("");
    lines.push(`Usage: ${spec.usage}${positionals}${required} [options]`, "", spec.summary);
    for (const paragraph of spec.details ?? []) lines.push("", ...wrap(paragraph));
    if (spec.positionals?.length) {
      lines.push("", "Arguments:", ...table(spec.positionals.map((p) => [p.name, p.description])));
    }
    const flags: [string, FlagSpec][] = [...Object.entries(spec.flags ?? {}), ["help", HELP_FLAG]];
    lines.push("", "Options:");
    lines.push(...table(flags.map(([name, flag]) => {
      const left = `${name === "help" ? "-h, " : ""}--${name}${flag.type === "boolean" ? "" : ` ${valueName(flag)}`}`;
      return [left, flag.description + (flag.multiple ? " (repeatable)" : "")];
    })));
  }
  lines.push("", "Exit codes:");
  lines.push(...table(Object.entries(spec.exitCodes ?? DEFAULT_EXIT_CODES).map(([code, text]) => [code, text])));
  return lines.join("\n");
}
