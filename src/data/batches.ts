/**
 * Training and evaluation batches as flat typed arrays.
 * - Training: one epoch of shuffled users; a user's train sequence s gives inputs s[:-1] and next-item targets s[1:]
 *   (last `max_seq_len` positions), targets at every real position (`train_targets: all`) or only the last one
 *   (`last`, the original's one sample per user), `num_negatives` negatives per target drawn from real items outside
 *   the user's train sequence.
 * - Evaluation: the val/test input window and target per user, the input items as the history to mask, and for the
 *   `sampled100` protocol fixed candidates (target in column 0) that depend only on the seed, split and user.
 */
import type { Config } from "../config/schema.ts";
import { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";
import { NegativeSampler } from "./negatives.ts";
import type { Dataset, EvalBatch, TrainBatch } from "./types.ts";

/** Column where a window of `length` real ids starts in a row of `seqLen` (pads before it when left-padding). */
function windowStart(length: number, seqLen: number, padding: Config["padding"]): number {
  return padding === "left" ? seqLen - length : 0;
}

/**
 * One training epoch: users shuffled with `rng`, `batch_size` users per batch (the last one smaller), at most
 * `max_steps_per_epoch` batches. Negatives are drawn with `rng` too, so the same seed gives the same epoch.
 * `seed` of each batch is drawn from `rng` (the trainer may replace it with its own per-step seed).
 */
export function* trainBatches(ds: Dataset, config: Config, rng: Rng): Generator<TrainBatch> {
  const { max_seq_len: seqLen, num_negatives: numNegatives, batch_size: batchSize, padding } = config;
  const order = rng.shuffle(ds.splits.map((_, u) => u));
  const steps = Math.min(Math.ceil(order.length / batchSize), config.max_steps_per_epoch ?? Infinity);
  const sampler = new NegativeSampler(ds.itemExists);
  for (let step = 0; step < steps; step++) {
    const users = Int32Array.from(order.slice(step * batchSize, (step + 1) * batchSize));
    const b = users.length;
    const inputs = new Int32Array(b * seqLen);
    const positives = new Int32Array(b * seqLen);
    const negatives = new Int32Array(b * seqLen * numNegatives);
    users.forEach((u, row) => {
      const train = ds.splits[u].train;
      const length = Math.min(train.length - 1, seqLen);
      if (length <= 0) return;
      const first = train.length - 1 - length; // index in `train` of the first input in the window
      const start = row * seqLen + windowStart(length, seqLen, padding);
      sampler.exclude(train);
      for (let j = 0; j < length; j++) {
        inputs[start + j] = train[first + j];
        if (config.train_targets === "last" && j < length - 1) continue;
        positives[start + j] = train[first + j + 1];
        for (let k = 0; k < numNegatives; k++) negatives[(start + j) * numNegatives + k] = sampler.draw(rng);
      }
    });
    yield { users, inputs, positives, negatives, batchSize: b, seqLen, numNegatives, seed: rng.nextUint32() };
  }
}

/**
 * The evaluation batches of `split`, users in dataset order, `eval_batch_size` per batch.
 * Full protocol: no candidates (`numCandidates` 0; models score every id and `history` is masked).
 * `sampled100`: `eval_candidates` candidates per user, the target in column 0 and `eval_candidates - 1` distinct
 * real items outside the user's whole sequence, from an RNG derived from `seed`, the split and the user id.
 */
export function evalBatches(ds: Dataset, config: Config, split: "val" | "test"): EvalBatch[] {
  const { max_seq_len: seqLen, eval_batch_size: batchSize, padding } = config;
  const numCandidates = config.eval_protocol === "sampled100" ? config.eval_candidates : 0;
  const sampler = new NegativeSampler(ds.itemExists);
  const candidateRng = new Rng(config.seed).fork(`eval-candidates:${split}`);
  const batches: EvalBatch[] = [];
  for (let from = 0; from < ds.splits.length; from += batchSize) {
    const users = Int32Array.from({ length: Math.min(batchSize, ds.splits.length - from) }, (_, i) => from + i);
    const b = users.length;
    const inputs = new Int32Array(b * seqLen);
    const targets = new Int32Array(b);
    const candidates = numCandidates > 0 ? new Int32Array(b * numCandidates) : undefined;
    const history: number[][] = [];
    users.forEach((u, row) => {
      const s = ds.splits[u];
      const input = split === "val" ? s.valInput : s.testInput;
      const target = split === "val" ? s.valTarget : s.testTarget;
      const window = input.slice(-seqLen);
      inputs.set(window, row * seqLen + windowStart(window.length, seqLen, padding));
      targets[row] = target;
      history.push([...new Set(input)]);
      if (candidates) {
        sampler.exclude([...s.testInput, s.testTarget]); // the user's whole sequence (val target included)
        if (sampler.available() < numCandidates - 1) {
          throw new UserError(
            `eval_candidates = ${numCandidates}: user ${ds.userIds[u]} has only ${sampler.available()} items ` +
              "outside their history to sample from",
          );
        }
        const negatives = sampler.drawDistinct(candidateRng.fork(String(ds.userIds[u])), numCandidates - 1);
        candidates.set([target, ...negatives], row * numCandidates);
      }
    });
    batches.push({ users, inputs, targets, candidates, numCandidates, history, batchSize: b, seqLen });
  }
  return batches;
}
