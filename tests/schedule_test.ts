import assert from "node:assert/strict";
import { scheduleOptions } from "../src/config/resolve.ts";
import type { Config } from "../src/config/schema.ts";
import { learningRate } from "../src/train/schedule.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose } from "./helpers.ts";

const schedule = (over: Partial<Pick<Config, "warmup_steps" | "lr_schedule" | "cosine_t_max">>) =>
  scheduleOptions({ warmup_steps: 0, lr_schedule: "constant", cosine_t_max: 1000, ...over });

Deno.test("schedule: linear warm-up starts at base / warmup on step 0 and reaches base on step warmup - 1", () => {
  const c = schedule({ warmup_steps: 4 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((s) => learningRate(1, s, c)), [0.25, 0.5, 0.75, 1, 1, 1]);
  assert.equal(learningRate(3e-3, 0, schedule({})), 3e-3, "no warm-up: step 0 runs at base");
});

Deno.test("schedule: cosine decays from base to 0 over the steps after warm-up, then stays at 0", () => {
  const c = schedule({ warmup_steps: 2, lr_schedule: "cosine" });
  const at = (s: number) => learningRate(2, s, c, 12);
  assert.deepEqual([at(0), at(1), at(2)], [1, 2, 2]);
  assertClose([at(7), at(11), at(12), at(20)], [1, 1 + Math.cos(0.9 * Math.PI), 0, 0], 1e-12);
  assertClose([at(11)], [0.048943], 1e-6);
});

Deno.test("schedule: periodic_cosine is the original's never-ending cosine (0 at T_max, base again at 2 T_max)", () => {
  const c = schedule({ lr_schedule: "periodic_cosine", cosine_t_max: 10 });
  const values = [0, 5, 10, 15, 20, 25].map((s) => learningRate(1, s, c));
  assertClose(values, [1, 0.5, 0, 0.5, 1, 0.5], 1e-12);
  // The original: warm-up 100, T_max 1000 -> 0 at g = 1100 and base again at g = 2100 (docs/original.md#training).
  const orig = schedule({ warmup_steps: 100, lr_schedule: "periodic_cosine", cosine_t_max: 1000 });
  assertClose([1100, 2100, 600].map((s) => learningRate(5e-4, s, orig)), [0, 5e-4, 2.5e-4], 1e-15);
});

Deno.test("schedule: bad arguments are errors", () => {
  assert.throws(() => learningRate(1, -1, schedule({})), /step must be an integer >= 0/);
  assert.throws(() => learningRate(1, 0.5, schedule({})), /step must be an integer >= 0/);
  assert.throws(() => learningRate(1, 0, schedule({ lr_schedule: "cosine" })), /needs totalSteps/);
  assert.throws(
    () => learningRate(1, 5, schedule({ lr_schedule: "cosine", warmup_steps: 10 }), 10),
    (e: Error) => e instanceof UserError && /warmup_steps \(10\) must be smaller/.test(e.message),
  );
});
