/** "Did you mean" hints: `nearest` picks the closest candidate within max(2, ⌊length / 3⌋) edits, or none. */
import assert from "node:assert/strict";
import { nearest } from "../src/util/errors.ts";

Deno.test("nearest: closest candidate by edit distance, first of a tie, none beyond the bound", () => {
  const keys = ["padding", "patience", "seed", "sasrec_hidden_dim"];
  assert.equal(nearest("paddng", keys), "padding"); // 1 insertion
  assert.equal(nearest("sasrec_hiden_dim", keys), "sasrec_hidden_dim");
  assert.equal(nearest("sed", keys), "seed");
  assert.equal(nearest("ab", ["ax", "ay"]), "ax"); // both 1 edit away: the first wins
  assert.equal(nearest("patiense", keys), "patience"); // 1 substitution
  assert.equal(nearest("learning_rate", keys), undefined); // nothing within ⌊13 / 3⌋ = 4 edits
  assert.equal(nearest("xyz", keys), undefined); // "seed" is 4 edits away, the bound is 2
  assert.equal(nearest("--epoks", ["--epochs", "--help"]), "--epochs"); // 2 edits, bound max(2, 2)
  assert.equal(nearest("anything", []), undefined);
});
