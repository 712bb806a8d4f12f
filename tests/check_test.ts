/**
 * The code standards as tests, so that CI enforces them: `deno fmt --check`, `deno lint`, type checks of what the
 * test run does not import (scripts/, bench/) and of every notebook's cells (scripts/nbcheck.ts).
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function deno(...args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: result.code, out: text.decode(result.stdout) + text.decode(result.stderr) };
}

for (
  const [name, args] of [
    ["deno fmt --check", ["fmt", "--check"]],
    ["deno lint", ["lint"]],
    ["deno check scripts bench", ["check", "scripts", "bench"]],
    ["notebook cells type-check", ["run", "-A", "scripts/nbcheck.ts"]],
  ] as const
) {
  Deno.test(`standards: ${name} is clean`, async () => {
    const { code, out } = await deno(...args);
    assert.equal(code, 0, out.slice(-4000));
  });
}
