/**
 * Malformed inputs of every kind (configs, `--set`, flags, data files, paths, run directories), each a row of
 * tests/bad_inputs/*_rows.ts: every one must give exit 2, one error line naming its source, no stack trace, and
 * leave the files around it untouched (tests/bad_inputs/harness.ts).
 */
import { CONFIG_ROWS } from "./bad_inputs/config_rows.ts";
import { DATA_ROWS } from "./bad_inputs/data_rows.ts";
import { checkBadInput } from "./bad_inputs/harness.ts";
import { RUN_ROWS } from "./bad_inputs/run_rows.ts";

for (const row of [...CONFIG_ROWS, ...DATA_ROWS, ...RUN_ROWS]) {
  Deno.test(`bad input: ${row.name} -> exit 2, one line`, () => checkBadInput(row));
}
