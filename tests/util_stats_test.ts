import assert from "node:assert/strict";
import { median } from "../src/util/stats.ts";

Deno.test("median: middle value, mean of the two middle values for an even count; input left as it was", () => {
  const values = [30, 10, 20];
  assert.equal(median(values), 20);
  assert.deepEqual(values, [30, 10, 20]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});
