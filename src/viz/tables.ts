/**
 * HTML tables for notebooks from a danfojs DataFrame or an array of row objects (danfojs has no `toHTML`).
 * Non-integer numbers are shown with 4 significant digits; integers are shown in full.
 */
import type { DataFrame } from "danfojs";
import { display, type Displayable } from "./display.ts";

/** A table row: column name to cell value. */
export type Row = Record<string, unknown>;

/** Formats one cell: 4 significant digits for non-integers, integers in full, "" for null/undefined. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(Number(value.toPrecision(4)));
  }
  return String(value);
}

/** Column names and formatted cells of a DataFrame or of rows (columns in order of first appearance). */
export function tableCells(data: DataFrame | readonly Row[]): { columns: string[]; cells: string[][] } {
  if (!Array.isArray(data)) {
    const frame = data as DataFrame;
    const values = frame.values as unknown[][];
    return { columns: frame.columns, cells: values.map((row) => row.map(formatCell)) };
  }
  const rows = data as readonly Row[];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { columns, cells: rows.map((r) => columns.map((c) => formatCell(r[c]))) };
}

/** `text` with the HTML special characters `& < > "` escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** The table as an HTML `<table class="dataframe">` string. */
export function tableHtml(data: DataFrame | readonly Row[]): string {
  const { columns, cells } = tableCells(data);
  const tr = (tag: string, items: string[]) =>
    `<tr>${items.map((x) => `<${tag}>${escapeHtml(x)}</${tag}>`).join("")}</tr>`;
  return `<table class="dataframe"><thead>${tr("th", columns)}</thead><tbody>${
    cells.map((row) => tr("td", row)).join("")
  }</tbody></table>`;
}

/** The table as aligned plain text (columns padded to their widest cell). */
export function tableText(data: DataFrame | readonly Row[]): string {
  const { columns, cells } = tableCells(data);
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const line = (items: string[]) => items.map((x, j) => x.padEnd(widths[j])).join("  ").trimEnd();
  return [line(columns), ...cells.map(line)].join("\n");
}

/** Displays a DataFrame or rows as an HTML table in a notebook (plain text for non-HTML front ends). */
export function table(data: DataFrame | readonly Row[]): Displayable {
  return display({ "text/html": tableHtml(data), "text/plain": tableText(data) });
}
