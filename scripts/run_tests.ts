/**
 * Runs the whole test suite with `deno test` and ends with the plain line `N passed, N failed`
 * that CI reads. Exit code is deno test's. Extra arguments are passed to `deno test`.
 */
const args = ["test", "-A", "--parallel", ...Deno.args];
const child = new Deno.Command(Deno.execPath(), {
  args,
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1", DENO_JOBS: Deno.env.get("DENO_JOBS") || "2" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  const text = decoder.decode(chunk, { stream: true });
  await Deno.stdout.write(chunk);
  tail = (tail + text).slice(-4000);
}
const status = await child.status;
const match = tail.match(/(\d+) passed[^|]*\|\s*(\d+) failed/);
if (match) console.log(`${match[1]} passed, ${match[2]} failed`);
else console.log(`0 passed, 1 failed`);
Deno.exit(status.code);
