/**
 * Reading delimited MovieLens-style text files with errors that name the file, the line and what was expected.
 * Files are decoded as latin-1 (MovieLens item files are; the other files are ASCII, which latin-1 decodes the same).
 */
import { UserError } from "../util/errors.ts";

/** A non-blank line of a data file and its 1-based line number. */
export interface DataLine {
  text: string;
  line: number;
}

/** The layout of the lines of one file, for splitting and for error messages. */
export interface LineFormat {
  /** Field separator, e.g. "\t", "|", "::". */
  separator: string;
  /** How the separator is named in messages, e.g. "tab", "|", "::". */
  separatorName: string;
  /** Number of fields per line. */
  fieldCount: number;
  /** What the fields are, e.g. "user, item, rating, timestamp". */
  fieldNames: string;
}

/**
 * Reads `path` into its non-blank lines. A missing file is a `UserError` that ends with `missingHint`
 * (where to put the file / how to get it); an empty file is a `UserError` that says what it should hold.
 */
export async function readDataLines(path: string, format: LineFormat, missingHint: string): Promise<DataLine[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${path}: file not found; ${missingHint}`);
    throw err;
  }
  const lines: DataLine[] = [];
  new TextDecoder("latin1").decode(bytes).split("\n").forEach((raw, i) => {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() !== "") lines.push({ text, line: i + 1 });
  });
  if (lines.length === 0) {
    throw new UserError(`${path}: file is empty; expected lines of ${describe(format)}`);
  }
  return lines;
}

/** Splits a line into exactly `format.fieldCount` fields, or throws a `UserError` naming file and line. */
export function splitFields(path: string, line: DataLine, format: LineFormat): string[] {
  const fields = line.text.split(format.separator);
  if (fields.length === format.fieldCount) return fields;
  const guess = fields.length === 1 ? guessSeparator(line.text, format.separator) : undefined;
  throw new UserError(
    `${path}:${line.line}: expected ${describe(format)}, got ${fields.length}` +
      (guess ? ` (the line looks ${guess}-separated)` : ""),
  );
}

/** Parses an integer field (optionally required to be positive), or throws a `UserError` naming file and line. */
export function parseIntField(path: string, line: DataLine, name: string, value: string, positive = false): number {
  const trimmed = value.trim();
  const n = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || (positive && n <= 0)) {
    const what = positive ? "a positive integer" : "an integer";
    throw new UserError(`${path}:${line.line}: ${name} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Parses a finite number field, or throws a `UserError` naming file and line. */
export function parseNumberField(path: string, line: DataLine, name: string, value: string): number {
  const trimmed = value.trim();
  const n = trimmed === "" ? NaN : Number(trimmed);
  if (!Number.isFinite(n)) {
    throw new UserError(`${path}:${line.line}: ${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return n;
}

function describe(format: LineFormat): string {
  return `${format.fieldCount} ${format.separatorName}-separated fields (${format.fieldNames})`;
}

const SEPARATOR_NAMES: [string, string][] = [["\t", "tab"], ["::", "::"], ["|", "|"], [",", "comma"], [";", ";"]];

function guessSeparator(text: string, expected: string): string | undefined {
  return SEPARATOR_NAMES.find(([sep]) => sep !== expected && text.includes(sep))?.[1];
}
