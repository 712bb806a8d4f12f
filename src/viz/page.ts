/// <reference lib="dom" />
/**
 * A standalone HTML page of headings, paragraphs, charts (inline SVG) and tables: what the quick-start tour
 * writes. Charts are embedded as their `outerHTML` (Plot figures keep their legends), so the page needs no files
 * beside it.
 */
import { escapeHtml, type Row, tableHtml } from "./tables.ts";

/** One block of a page. */
export type PageBlock =
  | { heading: string }
  | { text: string }
  | { pre: string }
  | { chart: Element; caption: string }
  | { table: readonly Row[] };

const STYLE = "body{font-family:DejaVu Sans,sans-serif;max-width:980px;margin:2em auto;line-height:1.45}" +
  "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}figure{margin:1em 0}figcaption{color:#444;font-size:90%}" +
  "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}";

function blockHtml(block: PageBlock): string {
  if ("heading" in block) return `<h2>${escapeHtml(block.heading)}</h2>`;
  if ("text" in block) return `<p>${escapeHtml(block.text)}</p>`;
  if ("pre" in block) return `<pre>${escapeHtml(block.pre)}</pre>`;
  if ("chart" in block) {
    return `<figure>${block.chart.outerHTML}<figcaption>${escapeHtml(block.caption)}</figcaption></figure>`;
  }
  return tableHtml(block.table);
}

/** The page as an HTML document titled `title`. */
export function htmlPage(title: string, blocks: readonly PageBlock[]): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>\n<h1>${escapeHtml(title)}</h1>\n` +
    blocks.map(blockHtml).join("\n") + "\n</body></html>\n";
}
