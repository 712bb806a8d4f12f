/**
 * Writes the key tables of configs/README.md from the schema (src/config/docs.ts); run after changing a key:
 * `./scripts/deno.sh run -A scripts/config_docs.ts`. tests/config_docs_test.ts fails while the README is stale.
 */
import { withKeyTables } from "../src/config/docs.ts";

const path = new URL("../configs/README.md", import.meta.url);
const before = await Deno.readTextFile(path);
const after = withKeyTables(before);
if (after !== before) await Deno.writeTextFile(path, after);
console.log(after === before ? "configs/README.md: key tables up to date" : "configs/README.md: key tables rewritten");
