import assert from "node:assert/strict";
import { Rng } from "../src/rng.ts";

Deno.test("Rng: same seed, same sequence; different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
});

Deno.test("Rng: uniform mean/var and normal moments are right", () => {
  const r = new Rng(1);
  const n = 200_000;
  let s = 0, s2 = 0, ns = 0, ns2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
    const z = r.normal();
    ns += z;
    ns2 += z * z;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 0.002);
  assert.ok(Math.abs(ns / n) < 0.01);
  assert.ok(Math.abs(ns2 / n - 1) < 0.01);
});

Deno.test("Rng: int range, shuffle is a permutation, fork is independent and stable", () => {
  const r = new Rng(9);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[r.int(0, 5)]++;
  for (const c of counts) assert.ok(c > 900 && c < 1100);
  const arr = r.shuffle([...Array(50).keys()]);
  assert.deepEqual([...arr].sort((a, b) => a - b), [...Array(50).keys()]);
  const f1 = new Rng(5).fork("neg").nextUint32();
  const f2 = new Rng(5).fork("neg").nextUint32();
  assert.equal(f1, f2);
  assert.notEqual(f1, new Rng(5).fork("init").nextUint32());
});
