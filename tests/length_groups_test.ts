import assert from "node:assert/strict";
import { lengthGroups } from "../src/models/length_groups.ts";

/** Rows of a [B, T] id batch as arrays. */
function rowsOf(inputs: Int32Array, seqLen: number): number[][] {
  return Array.from(
    { length: inputs.length / seqLen },
    (_, r) => Array.from(inputs.subarray(r * seqLen, (r + 1) * seqLen)),
  );
}

Deno.test("length groups: rows sorted by item span, trimmed to the columns the group uses, inverse order", () => {
  // left padding, T = 5: spans 2, 5, 0 (empty), 1, 3
  const inputs = Int32Array.from([0, 0, 0, 4, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 6, 7, 8]);
  const { groups, inverse } = lengthGroups({ inputs, batchSize: 5, seqLen: 5 }, 2);
  assert.deepEqual(groups.map((g) => Array.from(g.rows)), [[2, 3], [0, 4], [1]]);
  assert.deepEqual(groups.map((g) => g.start), [4, 2, 0]);
  assert.deepEqual(rowsOf(groups[0].batch.inputs, groups[0].batch.seqLen), [[0], [9]]);
  assert.deepEqual(rowsOf(groups[1].batch.inputs, groups[1].batch.seqLen), [[0, 4, 5], [6, 7, 8]]);
  assert.deepEqual(rowsOf(groups[2].batch.inputs, groups[2].batch.seqLen), [[1, 2, 3, 4, 5]]);
  assert.deepEqual(groups.map((g) => g.batch.batchSize), [2, 2, 1]);
  // row r sits at position inverse[r] of the concatenated group rows [2, 3, 0, 4, 1]
  assert.deepEqual(Array.from(inverse), [2, 4, 0, 1, 3]);
});

Deno.test("length groups: right padding keeps column 0; a group without items keeps the last column", () => {
  const inputs = Int32Array.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0]);
  const { groups, inverse } = lengthGroups({ inputs, batchSize: 4, seqLen: 3 }, 2);
  assert.deepEqual(groups.map((g) => Array.from(g.rows)), [[1, 2], [0, 3]]);
  assert.deepEqual(groups.map((g) => [g.start, g.batch.seqLen]), [[2, 1], [0, 2]]);
  assert.deepEqual(rowsOf(groups[0].batch.inputs, 1), [[0], [0]]);
  assert.deepEqual(rowsOf(groups[1].batch.inputs, 2), [[3, 0], [1, 2]]);
  assert.deepEqual(Array.from(inverse), [2, 0, 1, 3]);
  // one group holds everything when it may
  assert.deepEqual(lengthGroups({ inputs, batchSize: 4, seqLen: 3 }, 8).groups.map((g) => g.batch.seqLen), [2]);
  assert.throws(() => lengthGroups({ inputs, batchSize: 4, seqLen: 3 }, 0), /groupRows 0/);
});
