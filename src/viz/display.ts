/// <reference lib="dom" />
/**
 * Showing charts in notebooks and saving them to files.
 * Notebook output is `text/html` (not `image/svg+xml`, which nbconvert 6.5 blanks in its HTML export);
 * files are standalone SVG (figures with their titles and legends, figure_svg.ts) or PNG rendered with resvg-wasm
 * (no browser needed).
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { writeFileAtomic } from "../util/fs.ts";
import { figureSvg } from "./figure_svg.ts";

/** The symbol the Deno Jupyter kernel calls to get a value's rich output. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A Jupyter MIME bundle such as `{"text/html": ..., "text/plain": ...}`. */
export type MimeBundle = Record<string, string>;

/** A value the Deno kernel renders as the given MIME bundle. */
export interface Displayable {
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** Wraps a MIME bundle so that a notebook cell ending with it displays it. */
export function display(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

/** Displays a chart (element) or an HTML string in a notebook. */
export function show(content: Element | string): Displayable {
  const html = typeof content === "string" ? content : content.outerHTML;
  return display({ "text/html": html, "text/plain": "[plot]" });
}

/**
 * The chart's SVG as a standalone document: the element itself when it is an `<svg>`; a Plot `<figure>` (title,
 * subtitle, legends, chart, caption) redrawn as one `<svg>` by `figureSvg`, so saved files keep its legends and titles.
 */
export function standaloneSvg(chart: Element): string {
  let text = (chart.tagName.toLowerCase() === "svg" ? chart : figureSvg(chart)).outerHTML;
  const openTag = text.slice(0, text.indexOf(">"));
  if (!openTag.includes("xmlns=")) text = text.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  if (text.includes("xlink:") && !openTag.includes("xmlns:xlink")) {
    text = text.replace("<svg", '<svg xmlns:xlink="http://www.w3.org/1999/xlink"');
  }
  return text;
}

/** Writes the chart as a standalone `.svg` file (atomically). */
export async function saveSvg(chart: Element, path: string): Promise<void> {
  await writeFileAtomic(path, standaloneSvg(chart) + "\n");
}

const FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
let fonts: Promise<Uint8Array[]> | undefined;

/** Starts resvg's wasm once and loads DejaVu Sans when the system has it (text is not drawn without a font). */
function resvgFonts(): Promise<Uint8Array[]> {
  fonts ??= (async () => {
    const wasmUrl = new URL("../../node_modules/@resvg/resvg-wasm/index_bg.wasm", import.meta.url);
    await initWasm(await Deno.readFile(wasmUrl));
    try {
      return [await Deno.readFile(FONT_PATH)];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
  })();
  return fonts;
}

/** Renders the chart's SVG to PNG bytes on a white background. */
export async function renderPng(chart: Element): Promise<Uint8Array> {
  const fontBuffers = await resvgFonts();
  const resvg = new Resvg(standaloneSvg(chart), {
    background: "white",
    font: { fontBuffers, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  try {
    const image = resvg.render();
    const png = image.asPng();
    image.free();
    return png;
  } finally {
    resvg.free();
  }
}

/** Writes the chart as a `.png` file (atomically). */
export async function savePng(chart: Element, path: string): Promise<void> {
  await writeFileAtomic(path, await renderPng(chart));
}
