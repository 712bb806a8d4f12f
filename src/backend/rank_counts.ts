/**
 * Rank counts of a chunk of full-ranking scores in one pass on the wasm heap (src/eval/evaluate.ts). Inputs: scores
 * [B, W] (float32), target [B, 1] (each row's target score), competes [B, W] (bool: the columns that compete with the
 * target); output [4, B] float32: per row the competitors scoring above the target, equal to it, the number of
 * competitors and the non-finite competitors. The evaluator's tensor formulation of the same counts takes ~15 ops,
 * three of them LogicalAnd and two comparisons, which are slow on wasm (21 ms for a [256, 3707] chunk, against ~2 ms
 * here). For finite scores `s > t` and `s === t` decide as the sign of the float32 difference `s - t` does (IEEE
 * subtraction is 0 only when s == t); rows with a non-finite competitor or target are ranked last whatever the counts.
 */
import type * as tf from "@tensorflow/tfjs";
import { heapIndex, heapOffset, type KernelArgs, wasmBackend, wasmKernel } from "./override.ts";

/** Name of the kernel: inputs scores [B, W], target [B, 1], competes [B, W] (bool); output [4, B]. */
export const RANK_COUNTS = "Ur4recRankCounts";

function rankCounts(args: KernelArgs): tf.TensorInfo {
  const { scores, target, competes } = args.inputs as Record<string, tf.TensorInfo>;
  const [rows, width] = scores.shape;
  const backend = wasmBackend(args);
  const out = backend.makeOutput([4, rows], "float32");
  const heap = backend.wasm.HEAPF32; // after makeOutput (heap growth)
  const s = heapIndex(backend, scores), t = heapIndex(backend, target), o = heapIndex(backend, out);
  const mask = new Uint8Array(heap.buffer, heapOffset(backend, competes), rows * width);
  for (let r = 0; r < rows; r++) {
    const value = heap[t + r];
    let above = 0, ties = 0, count = 0, bad = 0;
    for (let j = r * width, end = j + width; j < end; j++) {
      if (!mask[j]) continue;
      const x = heap[s + j];
      count++;
      if (x > value) above++;
      else if (x === value) ties++;
      if (x - x !== 0) bad++; // NaN and ±Infinity
    }
    heap[o + r] = above;
    heap[o + rows + r] = ties;
    heap[o + 2 * rows + r] = count;
    heap[o + 3 * rows + r] = bad;
  }
  return out;
}

/** The kernel on wasm (see the module comment). */
export const rankCountsKernel: tf.KernelConfig = wasmKernel(RANK_COUNTS, rankCounts);
