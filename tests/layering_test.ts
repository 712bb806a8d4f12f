/**
 * The layering of src/ as a test: every static import (`import`, `import type`, `export ... from`, side-effect
 * `import "..."`) of every src/ module must point to its own layer or a lower one. The layers, lowest first, as the
 * real import graph has them:
 *
 * 0. util/, rng.ts, backend/: no project imports above them;
 * 1. config/: the schema and its loading;
 * 2. data/: datasets, splits, batches, texts;
 * 3. run/: the run directory (file names, record types, readers); its summary embeds the data report (data/warnings.ts);
 * 4. models/: the recommenders, unaware of training;
 * 5. eval/: metrics and evaluation of a model;
 * 6. train/: the trainer (which evaluates: eval sits below it) and the NaN tooling;
 * 7. experiments/: grids, sweeps, executors, results and their statistics (results do not know the charts);
 * 8. viz/: charts and tables (the live grid chart reads the grid's progress);
 * 9. report/: rendered reports, when that folder exists;
 * 10. notebooks/: notebook tooling;
 * 11. cli/: the entry points;
 * 12. mod.ts: the public facade, re-exports only.
 *
 * A module in a folder that is not listed fails the test, so a new folder gets its place here.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const SRC = new URL("../src/", import.meta.url).pathname;

/** Layer of each top-level folder or file of src/ (see the module doc). */
const LAYERS: Record<string, number> = {
  util: 0,
  "rng.ts": 0,
  backend: 0,
  config: 1,
  data: 2,
  run: 3,
  models: 4,
  eval: 5,
  train: 6,
  experiments: 7,
  viz: 8,
  report: 9,
  notebooks: 10,
  cli: 11,
  "mod.ts": 12,
};

/**
 * Upward imports accepted for now, each with its reason (none today); a listed edge that no longer exists fails the
 * test, so the list cannot go stale.
 */
const KNOWN_EXCEPTIONS: readonly string[] = [];

/** The relative specifiers of a module's static imports and re-exports (multi-line import lists included). */
function staticImports(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found.filter((s) => s.startsWith("."));
}

/** The top-level part of a src/-relative path: its folder, or the file itself for files directly in src/. */
function topOf(path: string): string {
  return path.split("/")[0];
}

/** One edge "from -> to" (src/-relative paths) per import that points to a higher layer; unknown folders throw. */
function upwardImports(graph: Record<string, string[]>): string[] {
  const layerOf = (path: string) => {
    const layer = LAYERS[topOf(path)];
    if (layer === undefined) {
      throw new Error(`src/${path}: folder ${topOf(path)} has no layer in tests/layering_test.ts`);
    }
    return layer;
  };
  const upward: string[] = [];
  for (const [from, targets] of Object.entries(graph)) {
    for (const to of targets) {
      if (to.startsWith("..")) continue; // outside src/ (none today)
      if (layerOf(to) > layerOf(from)) upward.push(`${from} -> ${to}`);
    }
  }
  return upward.sort();
}

/** The import graph of src/: each module's src/-relative path -> the src/-relative paths it imports. */
async function srcGraph(): Promise<Record<string, string[]>> {
  const graph: Record<string, string[]> = {};
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        const from = relative(SRC, path);
        graph[from] = staticImports(await Deno.readTextFile(path)).map((s) => normalize(join(dirname(from), s)));
      }
    }
  };
  await walk(SRC);
  return graph;
}

Deno.test("layering: staticImports finds imports, type imports, multi-line lists and re-exports", () => {
  const source = [
    'import * as tf from "@tensorflow/tfjs";',
    'import type { Metrics } from "../run/records.ts";',
    "import {\n  a,\n  type B,\n} from './multi.ts';",
    'export { x } from "./x.ts";',
    'export * from "../y.ts";',
    'import "./side_effect.ts";',
    'const s = "import { z } from \\"./not_at_line_start.ts\\"";',
  ].join("\n");
  assert.deepEqual(staticImports(source).sort(), [
    "../run/records.ts",
    "../y.ts",
    "./multi.ts",
    "./side_effect.ts",
    "./x.ts",
  ]);
});

Deno.test("layering: eval -> train, models -> train and experiments -> viz are upward; downward and sideways are not", () => {
  assert.deepEqual(
    upwardImports({
      "eval/evaluate.ts": ["train/records.ts", "models/types.ts", "eval/metrics.ts"],
      "models/sasrec.ts": ["train/step.ts", "backend/backend.ts", "rng.ts"],
      "experiments/report.ts": ["viz/plots.ts", "run/records.ts"],
      "cli/train.ts": ["train/trainer.ts", "run/files.ts", "util/errors.ts"],
      "run/records.ts": ["data/warnings.ts", "config/schema.ts"],
    }),
    [
      "eval/evaluate.ts -> train/records.ts",
      "experiments/report.ts -> viz/plots.ts",
      "models/sasrec.ts -> train/step.ts",
    ],
  );
  assert.throws(
    () => upwardImports({ "nan/locator.ts": ["util/fs.ts"] }),
    /src\/nan\/locator\.ts: folder nan has no layer/,
  );
});

Deno.test("layering: no src/ module imports a higher layer (beyond the listed known exceptions)", async () => {
  const upward = upwardImports(await srcGraph());
  const unexpected = upward.filter((edge) => !KNOWN_EXCEPTIONS.includes(edge));
  assert.deepEqual(
    unexpected,
    [],
    `upward imports (see the layers in tests/layering_test.ts):\n${unexpected.join("\n")}`,
  );
  const stale = KNOWN_EXCEPTIONS.filter((edge) => !upward.includes(edge));
  assert.deepEqual(stale, [], `known exceptions that no longer exist: remove them from KNOWN_EXCEPTIONS`);
});
