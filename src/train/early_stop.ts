/**
 * Early stopping and checkpoint selection across stages. The checkpoint kept is the best validation value of the
 * whole run (the original reset it per stage and so could keep a worse one, docs/findings.md#f7), but each stage stops
 * on its own progress: a stage that trains another module (the retriever after SASRec) runs until its own validation
 * stops improving, not until it beats the previous stage within `patience` validations.
 */

/** Where the best validation value of the run came from. */
export interface BestCheckpoint {
  stage: string;
  epoch: number;
  value: number;
}

/** The early-stopping state carried through training (and checkpoints). */
export interface EarlyStopState {
  /** Best of the whole run: its weights are the ones kept. */
  best: BestCheckpoint | null;
  /** Best value of the current stage. */
  stageBest: number | null;
  /** Validations in a row without a new best of the current stage. */
  badEvals: number;
}

/** The state at the start of a stage: the run's best stays, the stage's counters start over. */
export function startStage(state: EarlyStopState): EarlyStopState {
  return { best: state.best, stageBest: null, badEvals: 0 };
}

/**
 * Records one validation value: the new state and whether it is the best of the run so far (save the weights). The
 * stage stops when `badEvals` reaches `patience` (validations in a row without a new best of the stage), judged on
 * `stageValue` when the stage validates on something else than the model's score (default: `value`).
 */
export function recordValidation(
  state: EarlyStopState,
  at: { stage: string; epoch: number },
  value: number,
  stageValue: number = value,
): { state: EarlyStopState; newBest: boolean; stageImproved: boolean } {
  const newBest = state.best === null || value > state.best.value;
  const stageImproved = state.stageBest === null || stageValue > state.stageBest;
  const next: EarlyStopState = {
    best: newBest ? { ...at, value } : state.best,
    stageBest: stageImproved ? stageValue : state.stageBest,
    badEvals: stageImproved ? 0 : state.badEvals + 1,
  };
  return { state: next, newBest, stageImproved };
}
