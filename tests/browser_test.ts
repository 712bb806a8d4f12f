/// <reference lib="dom" />
/**
 * The live notebook UI: starts the `deno task jupyter` server on a free loopback port, opens a notebook in headless
 * Chromium, runs all cells through the UI and checks that no cell failed and that charts are drawn.
 * The notebook is BROWSER_NOTEBOOK, or UR4REC_BROWSER_NOTEBOOK when set. Skipped (with a printed reason) only when
 * /usr/bin/jupyter or /usr/bin/chromium is absent.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { NOTEBOOKS_DIR } from "../src/notebooks/ipynb.ts";
import { freePort, JUPYTER_BIN, requireJupyter, startNotebookServer } from "../src/notebooks/jupyter.ts";
import { exists } from "../src/util/fs.ts";

/** The notebook the browser opens (a name in notebooks/). */
const BROWSER_NOTEBOOK = Deno.env.get("UR4REC_BROWSER_NOTEBOOK") ?? "01_nan_investigation.ipynb";
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const absent: string[] = [];
for (const path of [JUPYTER_BIN, CHROMIUM]) if (!(await exists(path))) absent.push(path);
if (absent.length > 0) {
  console.log(`browser_test: skipping: ${absent.join(" and ")} absent (bash scripts/setup.sh --test)`);
}

/** The bits of Notebook 6's page API the test drives. */
interface JupyterPage {
  notebook: {
    kernel: { is_connected(): boolean } | null;
    set_autosave_interval(ms: number): void;
    execute_all_cells(): void;
    get_cells(): {
      cell_type: string;
      input_prompt_number?: number | string | null;
      output_area?: { outputs: { output_type: string; ename?: string; evalue?: string }[] };
    }[];
  };
}

/** The page's `Jupyter` global: only used inside functions that run in the page. */
declare const Jupyter: JupyterPage | undefined;

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

Deno.test({
  name: `browser: ${BROWSER_NOTEBOOK} runs all cells in Jupyter Notebook and draws its charts`,
  ignore: absent.length > 0,
  fn: async () => {
    await requireJupyter();
    const notebookPath = join(NOTEBOOKS_DIR, BROWSER_NOTEBOOK);
    const before = await sha256(notebookPath);
    const dir = await Deno.makeTempDir({ prefix: "ur4rec-browser-" });
    const screenshot = join(dir, "notebook.png");
    const server = await startNotebookServer({
      port: freePort(),
      env: { UR4REC_PROFILE: "smoke", UR4REC_OUT_DIR: join(dir, "out") },
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    let passed = false;
    let page: Page | undefined;
    try {
      page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`http://127.0.0.1:${server.port}/notebooks/${BROWSER_NOTEBOOK}?token=${server.token}`);
      await page.waitForFunction(() => Jupyter?.notebook?.kernel?.is_connected() === true, null, {
        timeout: 60_000,
      });
      // No autosave: the committed notebook must stay without outputs.
      await page.evaluate(() => {
        Jupyter!.notebook.set_autosave_interval(0);
        Jupyter!.notebook.execute_all_cells();
      });
      await page.waitForFunction(
        () =>
          Jupyter!.notebook.get_cells().filter((c) => c.cell_type === "code")
            .every((c) => typeof c.input_prompt_number === "number"),
        null,
        { timeout: 300_000, polling: 250 },
      );
      const errors = await page.evaluate(() =>
        Jupyter!.notebook.get_cells().flatMap((c, i) =>
          (c.output_area?.outputs ?? []).filter((o) => o.output_type === "error").map((o) =>
            `cell ${i + 1}: ${o.ename}: ${o.evalue}`
          )
        )
      );
      assert.deepEqual(errors, [], "cells raised errors");
      const charts = await page.evaluate(() =>
        [...document.querySelectorAll(".output_area svg")].map((svg) => {
          const box = svg.getBoundingClientRect();
          return {
            width: box.width,
            height: box.height,
            marks: svg.querySelectorAll("path, rect, circle, line").length,
          };
        })
      );
      const visible = charts.filter((c) => c.width > 100 && c.height > 100 && c.marks > 10);
      assert.ok(visible.length > 0, `no visible chart with > 10 marks among ${JSON.stringify(charts)}`);
      await page.screenshot({ path: screenshot, fullPage: true });
      const png = await Deno.readFile(screenshot);
      assert.equal(new TextDecoder().decode(png.subarray(1, 4)), "PNG");
      passed = true;
    } finally {
      if (!passed) await page?.screenshot({ path: screenshot, fullPage: true }).catch(() => undefined);
      await browser.close();
      await server.stop();
      if (passed) await Deno.remove(dir, { recursive: true });
      else console.log(`browser_test: kept ${dir} (screenshot, outputs) for inspection`);
    }
    assert.equal(await sha256(notebookPath), before, `${BROWSER_NOTEBOOK} was modified by the UI run`);
  },
});
