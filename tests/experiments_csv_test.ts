/** `toCsv`: RFC 4180 quoting, empty fields for missing and non-finite values, "\n" line ends. */
import assert from "node:assert/strict";
import { toCsv } from "../src/experiments/csv.ts";

Deno.test("toCsv: quotes commas, quotes and line breaks; missing and non-finite are empty; booleans as words", () => {
  const text = toCsv(["id", "note"], [
    ["a,b", 'say "hi"'],
    ["line\nbreak", "cr\rhere"],
    [1.5, -0.25],
    [NaN, Infinity],
    [null, undefined],
    [true, false],
    ["", " padded "],
  ]);
  assert.equal(
    text,
    'id,note\n"a,b","say ""hi"""\n"line\nbreak","cr\rhere"\n1.5,-0.25\n,\n,\ntrue,false\n, padded \n',
  );
  assert.equal(toCsv(["only"], []), "only\n");
});
