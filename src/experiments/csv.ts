/**
 * CSV text (RFC 4180) through `csv-stringify`: fields holding a comma, quote or line break are quoted; missing and
 * non-finite values are empty fields; booleans are written `true` / `false`.
 */
import { stringify } from "csv-stringify/sync";

/** A CSV field value. */
export type CsvValue = string | number | boolean | null | undefined;

/** Non-finite numbers become empty fields (csv-stringify would write `NaN`, `Infinity`). */
function finiteOrEmpty(value: CsvValue): CsvValue {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/** The CSV text of a header and rows, each line ended by "\n". */
export function toCsv(header: string[], rows: CsvValue[][]): string {
  const records = [header, ...rows.map((row) => row.map(finiteOrEmpty))];
  return stringify(records, { cast: { boolean: (value) => String(value) } });
}
