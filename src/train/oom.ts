/**
 * Out-of-memory errors of a run (the wasm heap or the JS engine refusing an allocation) turned into a `UserError`
 * that names the settings that size the tensors, since lowering them is the fix.
 */
import type { Config } from "../config/schema.ts";
import { UserError } from "../util/errors.ts";

/** Messages of allocation failures: V8, the wasm runtime (emscripten's `Aborted()`), and tfjs. */
const OOM_PATTERNS = [
  /Array buffer allocation failed/i,
  /memory access out of bounds/i,
  /\bAborted\(/,
  /Failed to allocate/i,
  /Maximum memory size exceeded/i,
  /out of memory/i,
];

/**
 * True when `err` is an allocation failure (see `OOM_PATTERNS`), or the wasm backend writing a tensor into memory
 * it failed to allocate: tfjs-backend-wasm's `move` does not check `_malloc`, so a full heap surfaces as
 * "RangeError: offset is out of bounds" thrown from `BackendWasm` (seen at batch_size 256 x max_seq_len 3000).
 */
export function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof UserError) return false;
  if (err instanceof RangeError && /offset is out of bounds/.test(err.message) && /BackendWasm/.test(err.stack ?? "")) {
    return true;
  }
  return OOM_PATTERNS.some((p) => p.test(`${err.name}: ${err.message}`));
}

/**
 * The `UserError` for an allocation failure during a run of `config`, naming the settings that drove it, e.g.
 * "out of memory in the wasm backend at batch_size 128 x max_seq_len 5000 x hidden 64 x num_negatives 20
 * (eval_batch_size 256, 1682 items): lower ...". Any other error is returned unchanged.
 */
export function explainOutOfMemory(err: unknown, config: Config, items?: number): unknown {
  if (!isOutOfMemory(err)) return err;
  const cause = (err as Error).message.split("\n")[0].slice(0, 120);
  return new UserError(
    `out of memory in the ${config.backend} backend at batch_size ${config.batch_size} x max_seq_len ` +
      `${config.max_seq_len} x hidden ${config.sasrec_hidden_dim} x num_negatives ${config.num_negatives} ` +
      `(eval_batch_size ${config.eval_batch_size}${items === undefined ? "" : `, ${items} items`}, model ` +
      `${config.model}): lower batch_size/max_seq_len/num_negatives/eval_batch_size (${cause})`,
  );
}
