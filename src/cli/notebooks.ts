/**
 * `deno task notebooks`: executes the notebooks headless. Usage and flags: `NOTEBOOKS_SPEC`.
 *
 * Notebook conventions (also in notebooks/README.md):
 * - The FIRST code cell is the parameters cell, read from the environment this command sets:
 *   ```ts
 *   const PROFILE = Deno.env.get("UR4REC_PROFILE") || "smoke";
 *   const DATA_DIR = Deno.env.get("UR4REC_DATA_DIR") || "../data";
 *   const OUT_DIR = Deno.env.get("UR4REC_OUT_DIR") || "../runs/notebooks/<name>";
 *   ```
 *   This command sets UR4REC_PROFILE and UR4REC_OUT_DIR (`<out>/<name>`); UR4REC_DATA_DIR passes through.
 * - The kernel runs in notebooks/, so the kit is imported with relative paths (`../src/...`) and the repository's
 *   deno.json import map applies (`"danfojs"`, `"@observablehq/plot"`, ...). `import.meta` is a syntax error in cells.
 * - Charts are shown with `show()` and tables with `table()` (src/viz), which display as text/html.
 * - Notebooks are committed without outputs (`deno run -A scripts/nbstrip.ts`) and type-checked with
 *   `deno run -A scripts/nbcheck.ts` (cells are not type-checked when they run).
 */
import { join, resolve } from "node:path";
import { listNotebooks, notebookName } from "../notebooks/ipynb.ts";
import { requireJupyter, runNotebook } from "../notebooks/jupyter.ts";
import { nearest, runMain, UserError } from "../util/errors.ts";
import { checkWritableDir } from "../util/fs.ts";
import { type CommandSpec, parseCli } from "./args.ts";

/** Run profiles a notebook can be executed with. */
export const PROFILES = ["smoke", "full"] as const;
/** One of `PROFILES`. */
export type Profile = typeof PROFILES[number];

/** Seconds allowed per cell, per profile. */
const CELL_TIMEOUT_S: Record<Profile, number> = { smoke: 600, full: 24 * 3600 };

/** Parsed command line of `deno task notebooks`. */
export interface NotebooksArgs {
  profile: Profile;
  only?: string;
  out: string;
}

/** The command line of `deno task notebooks`. */
export const NOTEBOOKS_SPEC: CommandSpec = {
  usage: "deno task notebooks",
  summary: "Executes every notebooks/*.ipynb headless with the project's Deno kernel.",
  details: [
    "Writes the executed copies and HTML to <out>/executed/ and prints one line per notebook (pass/fail, " +
    "seconds). The notebooks read UR4REC_PROFILE and UR4REC_OUT_DIR (<out>/<name>), set by this command; " +
    "UR4REC_DATA_DIR passes through.",
  ],
  flags: {
    profile: { type: "string", choices: PROFILES, description: "run profile (default smoke)" },
    only: { type: "string", value: "NAME", description: "run only this notebook (with or without .ipynb)" },
    out: { type: "string", value: "DIR", description: "output directory (default reports)" },
  },
  exitCodes: { 0: "every notebook passed", 1: "some notebook failed", 2: "user error" },
};

/** Parses the command line; bad values are user errors. */
export function parseNotebooksArgs(args: string[]): NotebooksArgs {
  const { values } = parseCli(NOTEBOOKS_SPEC, args);
  return {
    profile: values.profile as Profile | undefined ?? "smoke",
    only: values.only as string | undefined,
    out: values.out as string | undefined ?? "reports",
  };
}

/** The notebooks to run: all, or the one named by `only` (with or without `.ipynb`). */
export function selectNotebooks(paths: string[], only?: string): string[] {
  if (only === undefined) return paths;
  const name = only.replace(/\.ipynb$/, "");
  const match = paths.filter((p) => notebookName(p) === name);
  if (match.length === 0) {
    const names = paths.map(notebookName);
    const hint = nearest(name, names);
    throw new UserError(
      `--only ${only}: no such notebook${hint ? ` (did you mean "${hint}"?)` : ""}; have: ${names.join(", ")}`,
    );
  }
  return match;
}

async function main(): Promise<void> {
  const args = parseNotebooksArgs(Deno.args);
  await checkWritableDir(resolve(args.out), `--out ${args.out}`);
  await requireJupyter();
  const notebooks = selectNotebooks(await listNotebooks(), args.only);
  const out = resolve(args.out);
  let failed = 0;
  for (const path of notebooks) {
    const name = notebookName(path);
    const result = await runNotebook(path, {
      executedDir: join(out, "executed"),
      env: { UR4REC_PROFILE: args.profile, UR4REC_OUT_DIR: join(out, name) },
      cellTimeoutS: CELL_TIMEOUT_S[args.profile],
    });
    console.log(`${result.ok ? "pass" : "FAIL"}  ${name}  ${result.seconds.toFixed(1)} s`);
    if (!result.ok) {
      failed++;
      console.log(result.log.trimEnd().replace(/^/gm, "    "));
    }
  }
  console.log(
    `${notebooks.length - failed} of ${notebooks.length} notebooks passed (${args.profile}); see ${out}/executed/`,
  );
  if (failed > 0) Deno.exit(1);
}

if (import.meta.main) await runMain(main);
