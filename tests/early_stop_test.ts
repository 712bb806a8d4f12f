import assert from "node:assert/strict";
import { type EarlyStopState, recordValidation, startStage } from "../src/train/early_stop.ts";

Deno.test("early stop: each stage stops on its own progress; the kept checkpoint is the run's best", () => {
  const patience = 2;
  let state: EarlyStopState = { best: null, stageBest: null, badEvals: 0 };
  const trace: string[] = [];
  const run = (stage: string, values: number[]) => {
    state = startStage(state);
    for (const [epoch, value] of values.entries()) {
      const outcome = recordValidation(state, { stage, epoch }, value);
      state = outcome.state;
      trace.push(`${stage}@${epoch}:${outcome.newBest ? "best" : "-"}/${state.badEvals}`);
      if (state.badEvals >= patience) return;
    }
  };
  // stage 1 peaks at 0.10; stage 2 trains another module and starts lower, improving on its own best until 0.08
  // (a run-wide patience would have stopped it after two validations); stage 3 beats the run's best at 0.12
  run("pretrain_sasrec", [0.05, 0.10, 0.09, 0.08, 0.07]);
  run("pretrain_retriever", [0.03, 0.05, 0.08, 0.07, 0.06, 0.09]);
  run("end_to_end", [0.09, 0.12, 0.11]);
  assert.deepEqual(trace, [
    "pretrain_sasrec@0:best/0",
    "pretrain_sasrec@1:best/0",
    "pretrain_sasrec@2:-/1",
    "pretrain_sasrec@3:-/2",
    "pretrain_retriever@0:-/0",
    "pretrain_retriever@1:-/0",
    "pretrain_retriever@2:-/0",
    "pretrain_retriever@3:-/1",
    "pretrain_retriever@4:-/2",
    "end_to_end@0:-/0",
    "end_to_end@1:best/0",
    "end_to_end@2:-/1",
  ]);
  assert.deepEqual(state.best, { stage: "end_to_end", epoch: 1, value: 0.12 });
});

Deno.test("early stop: a stage start keeps the run's best and clears the stage's counters", () => {
  const best = { stage: "a", epoch: 3, value: 0.2 };
  assert.deepEqual(startStage({ best, stageBest: 0.2, badEvals: 2 }), { best, stageBest: null, badEvals: 0 });
});
