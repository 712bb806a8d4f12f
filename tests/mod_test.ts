/**
 * The entry module's examples are tests: `deno test --doc src/mod.ts` runs every `@example` in it (training a tiny
 * model, investigating the NaN-era config, reading and rendering reports, charts) and must pass.
 */
import assert from "node:assert/strict";

Deno.test("every @example of src/mod.ts runs and passes under deno test --doc", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--doc", "-A", "src/mod.ts"],
    cwd: new URL("..", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, out);
  const passed = Number(out.match(/ok \| (\d+) passed \| 0 failed/)?.[1] ?? 0);
  const examples = (await Deno.readTextFile(new URL("../src/mod.ts", import.meta.url))).match(/@example/g)!.length;
  assert.equal(passed, examples, `one passing doc test per @example:\n${out}`);
});
