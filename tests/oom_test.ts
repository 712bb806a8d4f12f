/** Allocation failures of a run become a user error naming the settings that size the tensors (src/train/oom.ts). */
import assert from "node:assert/strict";
import { resolveConfig } from "../src/config/load.ts";
import { explainOutOfMemory } from "../src/train/oom.ts";
import { UserError } from "../src/util/errors.ts";

// max_seq_len 3000 is past the schema bound (1024): an allocation failure can still happen inside the bounds, and the
// message must name whatever the settings were.
const config = { ...resolveConfig({ batch_size: 256, num_negatives: 20 }, "test"), max_seq_len: 3000 };
const SETTINGS =
  "out of memory in the wasm backend at batch_size 256 x max_seq_len 3000 x hidden 64 x num_negatives 20 " +
  "(eval_batch_size 256, 3000 items, model sasrec): lower batch_size/max_seq_len/num_negatives/eval_batch_size";

Deno.test("explainOutOfMemory: V8, emscripten, tfjs and the wasm backend's unchecked malloc are recognised", () => {
  const wasmMove = new RangeError("offset is out of bounds");
  wasmMove.stack = "RangeError: offset is out of bounds\n    at Uint8Array.set (<anonymous>)\n" +
    "    at BackendWasm.move (file:///x/tf-backend-wasm.node.js:9138:30)";
  const cases: [Error, string][] = [
    [new RangeError("Array buffer allocation failed"), "Array buffer allocation failed"],
    [new Error("RuntimeError: memory access out of bounds"), "RuntimeError: memory access out of bounds"],
    [
      new Error("Aborted(OOM). Build with -sASSERTIONS for more info."),
      "Aborted(OOM). Build with -sASSERTIONS for more info.",
    ],
    [new Error("Failed to allocate 123 bytes"), "Failed to allocate 123 bytes"],
    [wasmMove, "offset is out of bounds"],
  ];
  for (const [err, cause] of cases) {
    const explained = explainOutOfMemory(err, config, 3000);
    assert.ok(explained instanceof UserError, err.message);
    assert.equal(explained.message, `${SETTINGS} (${cause})`);
  }
});

Deno.test("explainOutOfMemory: other errors, and the same RangeError outside the wasm backend, pass unchanged", () => {
  const bug = new RangeError("offset is out of bounds"); // e.g. a wrong offset in our own Float32Array.set
  bug.stack = "RangeError: offset is out of bounds\n    at readValues (file:///x/src/models/checkpoint.ts:1:1)";
  for (const err of [bug, new TypeError("x is undefined"), new UserError("out of memory? no: a config error")]) {
    assert.equal(explainOutOfMemory(err, config), err);
  }
});
