/**
 * The table-driven bad-input check: each `BadInput` row writes its files into a fresh temp dir, runs one CLI and
 * expects the project's clear-error contract: exit code 2, exactly one line on stderr matching `expect`, no stack
 * trace, and nothing in the temp dir created, removed or rewritten (so `--out` inside it stays as it was).
 * Adding a case is adding a row to one of the row files beside this module.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** A CLI of `src/cli/`. */
export type CliName = "train" | "investigate" | "ablate" | "data" | "notebooks";

/** One malformed input and the error it must give. */
export interface BadInput {
  /** What is wrong, as the test name. */
  name: string;
  /** Files to write under the row's temp dir before the run: relative path -> content. */
  files?: Record<string, string | Uint8Array>;
  /** The CLI to run. */
  cli: CliName;
  /** Its arguments; `{dir}` stands for the row's temp dir. */
  args: string[];
  /** The single error line must match this (it names the file and line/key, the `--set` or the flag). */
  expect: RegExp;
  /** Extra environment variables (`{dir}` is substituted here too). */
  env?: Record<string, string>;
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** Every file under `dir` with its bytes as a string, for before/after comparison. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (sub: string) => {
    for await (const entry of Deno.readDir(join(dir, sub))) {
      const rel = join(sub, entry.name);
      if (entry.isDirectory) {
        files.set(rel + "/", "");
        await walk(rel);
      } else {
        const bytes = await Deno.readFile(join(dir, rel));
        files.set(rel, `${bytes.length}:${new TextDecoder("latin1").decode(bytes)}`);
      }
    }
  };
  await walk("");
  return files;
}

/** Runs one row and asserts the clear-error contract. */
export async function checkBadInput(row: BadInput): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ur4rec-bad-" });
  try {
    for (const [rel, content] of Object.entries(row.files ?? {})) {
      const path = join(dir, rel);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(path, content.replaceAll("{dir}", dir));
      else await Deno.writeFile(path, content);
    }
    const before = await snapshot(dir);
    const sub = (s: string) => s.replaceAll("{dir}", dir);
    const env = Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, sub(v)]));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `src/cli/${row.cli}.ts`, ...row.args.map(sub)],
      cwd: ROOT,
      env: { NO_COLOR: "1", UR4REC_DATA_DIR: join(dir, "no-data-dir"), ...env },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    const lines = stderr.split("\n").filter((l) => l.trim() !== "");
    const context = `${row.cli} ${row.args.join(" ")}\nstderr:\n${stderr}`;
    assert.equal(output.code, 2, `exit code ${output.code}, expected 2\n${context}`);
    assert.doesNotMatch(stderr, /\n\s+at /, `stack trace on stderr\n${context}`);
    assert.equal(lines.length, 1, `expected one stderr line, got ${lines.length}\n${context}`);
    assert.match(lines[0], /^error: /, context);
    assert.match(lines[0].replaceAll(dir, "{dir}"), row.expect, context);
    assert.deepEqual([...(await snapshot(dir)).keys()], [...before.keys()], `files created or removed\n${context}`);
    assert.deepEqual(await snapshot(dir), before, `files rewritten\n${context}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
