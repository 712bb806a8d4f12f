/**
 * Notebooks: committed without outputs, and every notebook runs on the smoke profile through the real Deno kernel
 * via scripts/run_notebook.py. The runner keeps each cell's outputs in that cell and fails on a cell error.
 * The kernel tests are skipped (with a printed reason) only when /usr/bin/jupyter is absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cellSource,
  hasOutputs,
  listNotebooks,
  type NotebookCell,
  readNotebook,
  REPO_ROOT,
  writeNotebook,
} from "../src/notebooks/ipynb.ts";
import { JUPYTER_BIN, requireJupyter, runNotebook } from "../src/notebooks/jupyter.ts";
import { exists } from "../src/util/fs.ts";
import { tempDir } from "./helpers.ts";

const notebooks = await listNotebooks();
const noJupyter = !(await exists(JUPYTER_BIN));
if (noJupyter) {
  console.log(`notebooks_test: skipping kernel tests: ${JUPYTER_BIN} is absent (bash scripts/setup.sh --test)`);
}

Deno.test("every committed notebook has no outputs and starts with the parameters cell", async () => {
  assert.ok(notebooks.length > 0, "notebooks/ holds no notebook");
  for (const path of notebooks) {
    const nb = await readNotebook(path);
    assert.ok(!hasOutputs(nb), `${path} has outputs: run deno run -A scripts/nbstrip.ts`);
    const first = cellSource(nb.cells.find((c) => c.cell_type === "code")!);
    for (const name of ["PROFILE", "DATA_DIR", "OUT_DIR"]) {
      assert.match(
        first,
        new RegExp(`const ${name} = Deno\\.env\\.get\\("UR4REC_${name}"\\) \\|\\| `), // empty = unset, as for the CLIs
        `${path}: ${name}`,
      );
    }
  }
});

/** A notebook output as nbformat stores it (multi-line strings as lists of lines). */
type Output = { output_type: string; text?: string | string[]; data?: Record<string, string | string[]> };
const joined = (text: string | string[] | undefined) => [text ?? ""].flat().join("");
const code = (source: string): NotebookCell => ({
  cell_type: "code",
  metadata: {},
  source,
  outputs: [],
  execution_count: null,
});

Deno.test({
  name: "run_notebook.py keeps every output in its own cell and fails naming the failing cell",
  ignore: noJupyter,
  fn: async () => {
    await requireJupyter();
    await using dir = await tempDir();
    const cells = [
      ...Array.from({ length: 8 }, (_, i) => code(`console.log("out ${i}");\n${i} * 10`)),
      code(`throw new Error("planned failure in " + Deno.cwd());`),
      code(`"never runs"`),
    ];
    const path = join(dir.path, "probe.ipynb");
    await writeNotebook(path, { cells, metadata: {}, nbformat: 4, nbformat_minor: 4 });
    const result = await runNotebook(path, { executedDir: join(dir.path, "executed") });
    assert.equal(result.ok, false);
    assert.match(result.log, /cell 9 of 10 failed \(CellExecutionError\)/);
    assert.match(
      result.log,
      new RegExp(`planned failure in ${dir.path}`),
      "the kernel runs in the notebook's directory",
    );
    const executed = await readNotebook(result.executed);
    for (let i = 0; i < 8; i++) {
      const outputs = executed.cells[i].outputs as Output[];
      const stream = outputs.filter((o) => o.output_type === "stream").map((o) => joined(o.text)).join("");
      const value = joined(outputs.find((o) => o.output_type === "execute_result")?.data?.["text/plain"]);
      assert.deepEqual([stream, value], [`out ${i}\n`, String(i * 10)], `cell ${i + 1}`);
    }
    assert.equal(executed.cells[9].execution_count, null, "cells after the failure do not run");
    assert.ok((await Deno.stat(result.html)).size > 1000, "the HTML is written even on failure");
  },
});

Deno.test({
  name: "a LiveDisplay updates one output in place through the kernel; the executed notebook keeps its last state",
  ignore: noJupyter,
  fn: async () => {
    await requireJupyter();
    // Under the repository so that its deno.json (import map) applies to the kernel.
    const dir = join(REPO_ROOT, ".cache", `live-test-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(dir, { recursive: true });
    try {
      const cells = [
        code(`import { LiveDisplay } from "../../src/viz/live.ts";\nconst live = new LiveDisplay();`),
        code(`for (let i = 1; i <= 5; i++) await live.update(\`<b>step \${i}</b>\`, \`step \${i} of 5\`);\n"done"`),
      ];
      const path = join(dir, "live.ipynb");
      await writeNotebook(path, { cells, metadata: {}, nbformat: 4, nbformat_minor: 4 });
      const result = await runNotebook(path, { executedDir: join(dir, "executed") });
      assert.ok(result.ok, result.log);
      const outputs = (await readNotebook(result.executed)).cells[1].outputs as Output[];
      const displays = outputs.filter((o) => o.output_type === "display_data");
      assert.equal(displays.length, 1, `one display output, updated in place: ${JSON.stringify(outputs)}`);
      assert.equal(joined(displays[0].data?.["text/plain"]), "step 5 of 5");
      assert.equal(joined(displays[0].data?.["text/html"]), "<b>step 5</b>");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const path of notebooks) {
  Deno.test({
    name: `notebook ${path.split("/").at(-1)} runs on the smoke profile`,
    ignore: noJupyter,
    fn: async () => {
      await requireJupyter();
      await using dir = await tempDir();
      const result = await runNotebook(path, {
        executedDir: join(dir.path, "executed"),
        env: { UR4REC_PROFILE: "smoke", UR4REC_OUT_DIR: join(dir.path, "out") },
        cellTimeoutS: 600,
      });
      assert.ok(result.ok, `${path} failed:\n${result.log}`);
      const executed = await readNotebook(result.executed);
      const unrun = executed.cells.filter((c) => c.cell_type === "code" && typeof c.execution_count !== "number");
      assert.equal(unrun.length, 0, "every code cell ran");
    },
  });
}

Deno.test("an empty UR4REC_JUPYTER or UR4REC_PYTHON means unset: the defaults, not an empty command", async () => {
  const module = new URL("../src/notebooks/jupyter.ts", import.meta.url).href;
  const code = `const m = await import("${module}"); console.log(m.JUPYTER_BIN, m.PYTHON_BIN);`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { UR4REC_JUPYTER: "", UR4REC_PYTHON: "" },
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "/usr/bin/jupyter /usr/bin/python3");
});
