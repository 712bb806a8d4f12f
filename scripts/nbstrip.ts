/**
 * Strips outputs, execution counts and execution timing from notebooks (they are committed without outputs).
 *   deno run -A scripts/nbstrip.ts [--check] [NOTEBOOK.ipynb ...]     (default: every notebooks/*.ipynb)
 * With --check nothing is written; the exit status is 1 when a notebook holds outputs.
 */
import { parseArgs } from "node:util";
import {
  hasOutputs,
  listNotebooks,
  notebookJson,
  readNotebook,
  stripOutputs,
  writeNotebook,
} from "../src/notebooks/ipynb.ts";
import { runMain } from "../src/util/errors.ts";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { check: { type: "boolean" } },
  });
  const paths = positionals.length > 0 ? positionals : await listNotebooks();
  let dirty = 0;
  for (const path of paths) {
    const nb = await readNotebook(path);
    if (values.check) {
      if (hasOutputs(nb)) {
        dirty++;
        console.log(`has outputs: ${path}`);
      }
      continue;
    }
    const stripped = stripOutputs(nb);
    if (notebookJson(stripped) !== (await Deno.readTextFile(path))) {
      await writeNotebook(path, stripped);
      console.log(`stripped: ${path}`);
    }
  }
  if (dirty > 0) Deno.exit(1);
}

if (import.meta.main) await runMain(main);
