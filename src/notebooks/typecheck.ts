/**
 * Type-checking notebooks: cells are not type-checked when they run, so the code cells are joined into one module
 * (written next to the notebook, so its relative imports resolve) and given to `deno check`; error locations are
 * mapped back to notebook cells.
 */
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { cellSource, type Notebook, readNotebook } from "./ipynb.ts";

/** A notebook's code cells as one module, and the module line where each cell starts (cell numbers are 1-based). */
export function notebookModule(nb: Notebook): { text: string; starts: { cell: number; line: number }[] } {
  const lines: string[] = [];
  const starts: { cell: number; line: number }[] = [];
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    starts.push({ cell: index + 1, line: lines.length + 1 });
    lines.push(...cellSource(cell).split("\n"), ";");
  });
  lines.push("export {};");
  return { text: lines.join("\n") + "\n", starts };
}

/** Rewrites `<moduleUrl>:LINE:COL` locations in `report` as `<notebook> cell N, line L:COL`. */
export function mapLocations(
  report: string,
  moduleUrl: string,
  notebook: string,
  starts: { cell: number; line: number }[],
): string {
  const escaped = moduleUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return report.replace(new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"), (_, line: string, col: string) => {
    const start = starts.findLast((s) => s.line <= Number(line)) ?? { cell: 0, line: 1 };
    return `${notebook} cell ${start.cell}, line ${Number(line) - start.line + 1}:${col}`;
  });
}

/** Runs `deno check` on a notebook's code cells; `report` holds the errors with notebook locations. */
export async function checkNotebook(path: string): Promise<{ ok: boolean; report: string }> {
  const { text, starts } = notebookModule(await readNotebook(path));
  const modulePath = join(dirname(path), `.nbcheck.${basename(path, ".ipynb")}.${Deno.pid}.ts`);
  await Deno.writeTextFile(modulePath, text);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", modulePath],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const raw = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    return { ok: out.success, report: mapLocations(raw, pathToFileURL(modulePath).href, path, starts) };
  } finally {
    await Deno.remove(modulePath);
  }
}
