/**
 * Attention benchmarks for bench/bench.ts: the attention core alone (forward + backward of `causalAttention` at a
 * SASRec step's shape, on the path the model takes there), and the tfjs attention path against the tiled kernels
 * (src/backend/causal_attention.ts) alternated round-robin on any case, with wall and process CPU time (CPU time
 * moves less than wall time when other jobs share the cores).
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { causalAttention, sequenceMasks, setTiledAttention } from "../src/models/attention.ts";
import { forwardContext } from "../src/models/layers.ts";
import { Rng } from "../src/rng.ts";
import { median } from "../src/util/stats.ts";
import type { BenchCase } from "./bench.ts";
import type { RunCounts } from "./measure.ts";

/** Shape of an attention case: batch, sequence length, heads, per-head width, dropout rate. */
export interface AttentionShape {
  batch: number;
  len: number;
  heads: number;
  dk: number;
  dropout: number;
}

/** Forward + backward (gradients of q, k, v read back) of one attention layer's core on random inputs whose first
 * quarter of positions are pads, as in bench/bench.ts's random batches; safe mask, training-mode dropout. */
export function attentionCase(name: string, shape: AttentionShape): BenchCase {
  const { batch, len, heads, dk, dropout } = shape;
  const rng = new Rng(0);
  const ids = Int32Array.from({ length: batch * len }, (_, cell) => cell % len < Math.floor(len / 4) ? 0 : 1);
  const masks = sequenceMasks({ inputs: ids, batchSize: batch, seqLen: len }, "safe");
  const normal = () =>
    tf.tensor3d(Float32Array.from({ length: batch * heads * len * dk }, () => rng.normal()), [batch, len, heads * dk]);
  const [q, k, v, dy] = [normal(), normal(), normal(), normal()];
  let step = 0;
  return {
    name,
    run: async () => {
      const ctx = forwardContext(true, "bench", { seed: step++ });
      const attend = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) =>
        causalAttention(ctx, qs as tf.Tensor3D, ks as tf.Tensor3D, vs as tf.Tensor3D, masks, heads, dropout).mul(dy)
          .sum();
      const grads = tf.tidy(() => tf.grads(attend)([q, k, v]));
      for (const g of grads) await g.data();
      tf.dispose(grads);
    },
    dispose: () => tf.dispose([q, k, v, dy, masks.additive!, masks.rowKeep!, masks.timeline!]),
    extra: shape as unknown as Record<string, unknown>,
  };
}

/** Process CPU time (user + system), ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Alternates the tfjs attention path and the tiled kernels (forced at every length) on one case, round-robin;
 * prints both medians of wall and CPU time, then restores the default (`auto`). */
export async function compareAttention(c: BenchCase, counts: RunCounts): Promise<void> {
  const variants = ["never", "always"] as const;
  const wall = { never: [] as number[], always: [] as number[] },
    cpu = { never: [] as number[], always: [] as number[] };
  for (const variant of variants) {
    setTiledAttention(variant);
    for (let i = 0; i < counts.warmup; i++) await c.run();
  }
  for (let i = 0; i < counts.runs; i++) {
    for (const variant of variants) {
      setTiledAttention(variant);
      const [start, startCpu] = [performance.now(), cpuMs()];
      await c.run();
      cpu[variant].push(cpuMs() - startCpu);
      wall[variant].push(performance.now() - start);
    }
  }
  setTiledAttention("auto");
  const round = (x: number[]) => Math.round(median(x));
  console.log(JSON.stringify({
    name: `${c.name}_tfjs_vs_tiled_attention`,
    tfjs_median_ms: round(wall.never),
    tiled_median_ms: round(wall.always),
    tfjs_cpu_ms: round(cpu.never),
    tiled_cpu_ms: round(cpu.always),
    cpu_speedup: Math.round((median(cpu.never) / median(cpu.always)) * 100) / 100,
    runs: counts.runs,
  }));
}
