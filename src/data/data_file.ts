/**
 * Reading delimited MovieLens-style text files with errors that name the file, the line and what was expected.
 * Text files are decoded by `decodeText`: valid UTF-8 holding non-ASCII bytes is UTF-8 (a re-saved `u.item`),
 * anything else is latin-1 (the MovieLens originals), so "Café" is read right either way.
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
  decodeText(bytes).split("\n").forEach((raw, i) => {
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

/** The allowed range of an integer field, inclusive; a missing bound is unbounded. */
export interface IntRange {
  min?: number;
  max?: number;
}

/** Positive ids: 1, 2, ... */
export const POSITIVE: IntRange = { min: 1 };
/** Non-negative integers such as Unix timestamps: 0, 1, ... */
export const NON_NEGATIVE: IntRange = { min: 0 };

/** "an integer in 1..5", "an integer >= 0", "an integer". */
function describeRange(range: IntRange): string {
  const { min, max } = range;
  if (min !== undefined && max !== undefined) return `an integer in ${min}..${max}`;
  if (min !== undefined) return `an integer >= ${min}`;
  return max !== undefined ? `an integer <= ${max}` : "an integer";
}

/**
 * Parses an integer field that must lie in `range`, or throws a `UserError` naming the file, line, field,
 * value and allowed range (e.g. `u.data:3: rating must be an integer in 1..5, got "9"`).
 */
export function parseIntField(path: string, line: DataLine, name: string, value: string, range: IntRange = {}): number {
  const trimmed = value.trim();
  const n = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  const inRange = (range.min === undefined || n >= range.min) && (range.max === undefined || n <= range.max);
  if (!Number.isSafeInteger(n) || !inRange) {
    throw new UserError(`${path}:${line.line}: ${name} must be ${describeRange(range)}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Checks that a field is one of `allowed`, or throws a `UserError` naming the file, line, field and choices. */
export function parseChoiceField(path: string, line: DataLine, name: string, value: string, allowed: string[]): string {
  if (allowed.includes(value)) return value;
  throw new UserError(
    `${path}:${line.line}: ${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`,
  );
}

/** Checks that a text field is not blank, or throws a `UserError` naming the file, line and field. */
export function nonEmptyField(path: string, line: DataLine, name: string, value: string): string {
  if (value.trim() !== "") return value;
  throw new UserError(`${path}:${line.line}: ${name} must not be empty`);
}

/**
 * Decodes a text file's bytes: as UTF-8 when they are valid UTF-8 (a BOM is dropped; pure ASCII is both),
 * as latin-1 otherwise (every byte sequence is valid latin-1, so this never fails).
 */
export function decodeText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes);
  }
}

function describe(format: LineFormat): string {
  return `${format.fieldCount} ${format.separatorName}-separated fields (${format.fieldNames})`;
}

const SEPARATOR_NAMES: [string, string][] = [["\t", "tab"], ["::", "::"], ["|", "|"], [",", "comma"], [";", ";"]];

function guessSeparator(text: string, expected: string): string | undefined {
  return SEPARATOR_NAMES.find(([sep]) => sep !== expected && text.includes(sep))?.[1];
}
