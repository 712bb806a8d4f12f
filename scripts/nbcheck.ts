/**
 * Type-checks notebooks (cells are not type-checked when they run): joins each notebook's code cells into a module
 * and runs `deno check` on it; errors name the notebook cell and line.
 *   deno run -A scripts/nbcheck.ts [NOTEBOOK.ipynb ...]     (default: every notebooks/*.ipynb)
 */
import { listNotebooks } from "../src/notebooks/ipynb.ts";
import { checkNotebook } from "../src/notebooks/typecheck.ts";
import { runMain } from "../src/util/errors.ts";

async function main(): Promise<void> {
  const paths = Deno.args.length > 0 ? Deno.args : await listNotebooks();
  let failed = 0;
  for (const path of paths) {
    const { ok, report } = await checkNotebook(path);
    console.log(`${ok ? "ok  " : "FAIL"}  ${path}`);
    if (!ok) {
      failed++;
      console.log(report.trimEnd());
    }
  }
  if (failed > 0) Deno.exit(1);
}

if (import.meta.main) await runMain(main);
