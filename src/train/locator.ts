/**
 * The first non-finite locator: replays a training step with a statistics probe on every layer's forward
 * output and on the gradients flowing back, and reports the step, phase, layer and op where a non-finite value
 * first appeared, the batch rows and sequence positions holding it, and the inputs' padding pattern. The
 * diagnosis is derived from what was observed (which op, which cells, whether those cells are queries with no
 * visible key), never assumed. Parameters and inputs that were already non-finite or huge are named first
 * (suspects.ts), so an op is not blamed for values it was fed.
 */
import * as tf from "@tensorflow/tfjs";
import type { Config } from "../config/schema.ts";
import type { TextVectors, TrainBatch } from "../data/types.ts";
import { stableName } from "../models/params.ts";
import type { Recommender } from "../models/types.ts";
import { type BatchLayout, type ProbeReading, StatsProbe } from "./probes.ts";
import type { FirstNonfinite, NanReport, ProbeStat } from "../run/records.ts";
import { lossAndGrads, withSeed } from "./step.ts";
import { describeSuspects, inputSuspects, parameterSuspects } from "./suspects.ts";

/** Pads per row of a [B, T] id batch. */
export function padsPerRow(inputs: Int32Array, batchSize: number, seqLen: number): number[] {
  return Array.from({ length: batchSize }, (_, b) => {
    let pads = 0;
    for (let t = 0; t < seqLen; t++) if (inputs[b * seqLen + t] === 0) pads++;
    return pads;
  });
}

/** The batch layout a probe needs to map tensor cells to rows/positions. */
export function batchLayout(batch: TrainBatch, config: Config): BatchLayout {
  return {
    batchSize: batch.batchSize,
    seqLen: batch.seqLen,
    padsPerRow: padsPerRow(batch.inputs, batch.batchSize, batch.seqLen),
    leftPadded: config.padding === "left",
  };
}

/** The layout to report when no batch was probed. */
export function emptyLayout(config: Config): BatchLayout {
  return { batchSize: 0, seqLen: config.max_seq_len, padsPerRow: [], leftPadded: config.padding === "left" };
}

/**
 * Replays one training step under a probe (no parameter update) and returns what it saw. When a non-finite value
 * appeared, the parameters and the text-vector inputs (`texts`, when given) are checked too, and the ones that
 * were already non-finite or huge are recorded as `first.suspects`. `where.seed` is the step's dropout seed (the
 * batch's own when absent). Reads back asynchronously after the step (every backend, webgpu included); leaks no
 * tensor.
 */
export async function probeStep(
  model: Recommender,
  batch: TrainBatch,
  config: Config,
  active: string[],
  where: { step: number; stage: string; seed?: number },
  texts?: TextVectors,
): Promise<ProbeReading> {
  const probe = new StatsProbe(batchLayout(batch, config), true);
  probe.step = where.step;
  probe.stage = where.stage;
  try {
    const { terms, total, grads } = lossAndGrads(model, withSeed(batch, where.seed), config, active, probe);
    for (const [name, g] of Object.entries(grads)) probe.record("backward", stableName(name), "param_grad", g);
    tf.dispose([total, ...Object.values(terms), ...Object.values(grads)]);
    const { first, stats } = await probe.read();
    if (first === null) return { first, stats };
    const suspects = [
      ...await parameterSuspects(model, config, where.step),
      ...(texts ? inputSuspects(texts, config) : []),
    ];
    return { first: suspects.length > 0 ? { ...first, suspects } : first, stats };
  } finally {
    probe.dispose();
  }
}

/** A readable diagnosis built from the observations. */
export function diagnose(first: FirstNonfinite | null, layout: BatchLayout, steps: number): string {
  if (first === null) return `All probed tensors stayed finite over ${steps} step(s): no non-finite value appeared.`;
  const what = first.kind === "nan" ? "NaN" : "infinite";
  const suspects = first.suspects ?? [];
  const lines = [
    ...describeSuspects(suspects),
    `First ${what} value: step ${first.step} (${first.stage}), ${first.phase} pass, layer "${first.layer}", ` +
    `op "${first.op}": ${first.count} ${what} value(s) in a tensor of shape [${first.shape.join(", ")}].`,
    suspects.length > 0
      ? "It is where the bad parameter/input above first showed among the probed op outputs, not its cause."
      : first.phase === "forward"
      ? `No tensor probed before it in this forward pass held NaN, so this op produced the first NaN.`
      : "The forward pass held no NaN; the first one appeared in the gradient flowing back through this op.",
  ];
  const infinite = first.preceded_by ?? [];
  if (first.kind === "nan" && infinite.length > 0) {
    const inf = infinite.map((p) => `${p.layer} ${p.op} (${p.neginf} -inf, ${p.posinf} +inf)`).join("; ");
    lines.push(`Infinite values were present before it: ${inf}.`);
  }
  if (first.rows.length > 0) {
    lines.push(
      `Rows holding it: ${list(first.rows)} (pads per row: ${list(first.row_padding)}); ` +
        `positions: ${list(first.positions)}; ${
          first.all_in_padding ? "all of them are padding positions" : "not only padding positions"
        } (padding side: ${layout.leftPadded ? "left" : "right"}).`,
    );
  }
  const cellCount = first.cell_count ?? 0;
  if (cellCount > 0) {
    const blind = first.blind_cells ?? 0;
    lines.push(
      `${blind} of ${cellCount} affected (row, position) cells are queries that see no key under the causal + ` +
        `key-padding mask${
          blind === cellCount && /softmax/i.test(first.op)
            ? ": the softmax of a row whose logits are all -inf is 0/0 = NaN, which is the cause here."
            : "."
        }`,
    );
  }
  return lines.join("\n");
}

function list(xs: number[], max = 16): string {
  return xs.length <= max ? `[${xs.join(", ")}]` : `[${xs.slice(0, max).join(", ")}, ... ${xs.length} total]`;
}

/** Assembles nan_report.json content. */
export function nanReport(
  first: FirstNonfinite | null,
  stats: ProbeStat[],
  layout: BatchLayout,
  steps: number,
): NanReport {
  return {
    first_nonfinite: first,
    steps,
    input_padding: {
      side: layout.leftPadded ? "left" : "right",
      pads_per_row: layout.padsPerRow,
      seq_len: layout.seqLen,
    },
    probes: stats,
    diagnosis: diagnose(first, layout, steps),
  };
}
