/**
 * `deno run -A bench/profile.ts <case> [--shapes]` (a short name of bench/bench.ts's CASES: l50, l200, ur4rec, eval,
 * ...): per-kernel time of one run of the case (tf.profile after two warm-up runs), as a table sorted by total time
 * (`--shapes`: one row per kernel and input shapes). On wasm every kernel runs synchronously, so a kernel's time is
 * the wall time of its call. Rows named "unnamed scope" are custom-gradient ops; their time includes the kernels
 * inside them, which are listed again on their own.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { CASES } from "./bench.ts";

async function main() {
  const shape = Deno.args[0] ?? "l50";
  const entry = CASES[shape];
  if (!entry) throw new UserError(`unknown case "${shape}": expected one of ${Object.keys(CASES).join(", ")}`);
  await initBackend();
  const c = await entry.make();
  await c.run();
  await c.run();
  const info = await tf.profile(() => c.run());
  const byKernel = new Map<string, { calls: number; ms: number }>();
  const detailed = Deno.args.includes("--shapes");
  for (const k of info.kernels) {
    const key = detailed ? `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(" ")}` : k.name;
    const entry = byKernel.get(key) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += k.kernelTimeMs as number;
    byKernel.set(key, entry);
  }
  const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`${c.name}: ${info.kernels.length} kernels, ${total.toFixed(0)} ms in kernels`);
  console.log("| kernel | calls | ms | share |\n|---|---|---|---|");
  for (const [name, e] of rows.slice(0, detailed ? 30 : 15)) {
    console.log(`| ${name} | ${e.calls} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / total).toFixed(0)} % |`);
  }
  c.dispose();
}

if (import.meta.main) runMain(main);
