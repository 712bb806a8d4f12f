/**
 * A report (title, sections of paragraphs, tables, figures, commands and sources) rendered once as Markdown, and
 * the same Markdown converted to a standalone HTML page with `marked`. Raw HTML in the text is shown as text.
 */
import { Marked } from "marked";
import type { Row } from "../viz/tables.ts";

/** A table of a report. */
export interface ReportTable {
  caption: string;
  rows: Row[];
}

/** A figure of a report: an image file (path relative to the report) and its caption. */
export interface ReportFigure {
  file: string;
  caption: string;
}

/** One section of a report. */
export interface ReportSection {
  heading: string;
  /** Markdown paragraphs (`code`, **bold**); raw HTML in them is escaped in the HTML page. */
  paragraphs: string[];
  tables?: ReportTable[];
  figures?: ReportFigure[];
  /** Shell commands that reproduce the section's numbers. */
  commands?: string[];
  /** Where the numbers come from (run or grid directories). */
  sources?: string[];
}

/** A report: a title and its sections. */
export interface Report {
  title: string;
  sections: ReportSection[];
}

function markdownCell(value: unknown): string {
  return (value === null || value === undefined ? "" : String(value)).replaceAll("|", "\\|");
}

function markdownTable(rows: Row[]): string[] {
  if (rows.length === 0) return ["(no rows)"];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [
    `| ${columns.map(markdownCell).join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${columns.map((c) => markdownCell(r[c])).join(" | ")} |`),
  ];
}

/**
 * The report as Markdown: `# title`, then per section a `##` heading, its paragraphs, each table under its bold
 * caption, each figure as an image with its caption in italics, the commands in a `sh` block and the sources as a
 * list of code spans.
 */
export function reportMarkdown(report: Report): string {
  const lines = [`# ${report.title}`, ""];
  for (const s of report.sections) {
    lines.push(`## ${s.heading}`, "");
    for (const p of s.paragraphs) lines.push(p, "");
    for (const t of s.tables ?? []) lines.push(`**${t.caption}**`, "", ...markdownTable(t.rows), "");
    for (const f of s.figures ?? []) lines.push(`![${f.caption}](${f.file})`, "", `*${f.caption}*`, "");
    if (s.commands?.length) lines.push("Reproduce with:", "", "```sh", ...s.commands, "```", "");
    if (s.sources?.length) lines.push("Sources:", "", ...s.sources.map((x) => `- \`${x}\``), "");
  }
  return lines.join("\n");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** GitHub-flavoured Markdown to HTML, with raw HTML blocks and tags escaped rather than passed through. */
const markdownToHtml = new Marked({ gfm: true, renderer: { html: ({ text }) => escapeHtml(text) } });

const STYLE = "body{font-family:DejaVu Sans,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}" +
  "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}" +
  "img{max-width:100%}pre{background:#f4f4f4;padding:.5rem}";

/** The report as a standalone HTML page: `reportMarkdown(report)` converted by `marked` (figures by relative path). */
export function reportHtml(report: Report): string {
  const body = markdownToHtml.parse(reportMarkdown(report), { async: false });
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>` +
    `<style>${STYLE}</style></head><body>\n${body}</body></html>\n`;
}
