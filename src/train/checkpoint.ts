/**
 * The trainer's resumable checkpoint, `<out>/checkpoint/`: model weights (`weights/`), optimizer state
 * (`optimizer/`) and the trainer state (`state.json`, written last: its presence marks a complete copy). It is
 * replaced atomically after every epoch; `recoverRunDirs` repairs what a process killed during a swap left behind.
 */
import * as tf from "@tensorflow/tfjs";
import { loadTensors, loadWeights, saveTensors, saveWeights } from "../models/checkpoint.ts";
import { onPath, recoverDir, replaceDirAtomic, writeJsonAtomic } from "../util/fs.ts";
import type { BestCheckpoint } from "./early_stop.ts";
import type { ModuleOptimizer } from "./optimizer.ts";
import { CHECKPOINT_MARKER, RUN_FILES, runPath } from "../run/files.ts";
import type { FirstNonfinite, ResumeChange } from "../run/records.ts";
import type { RunContext } from "./run.ts";
import { BEST_MARKER } from "./run_guard.ts";

/** Trainer state persisted in checkpoints. */
export interface TrainerState {
  stageIndex: number;
  epoch: number;
  globalStep: number;
  best: BestCheckpoint | null;
  /** Best validation value of the current stage. */
  stageBest: number | null;
  badEvals: number;
  nonfinite: number;
  skipped: number;
  patched: number;
  firstNonfinite: FirstNonfinite | null;
  metricsBytes: number;
  wallSeconds: number;
  diverged: boolean;
  /** Safe config changes made on each `--resume` so far. */
  resumeChanges: ResumeChange[];
  /** Repairs `recoverRunDirs` made on each `--resume` so far. */
  recovered: string[];
}

/** The state of a run that has not started. */
export function freshState(): TrainerState {
  return {
    stageIndex: 0,
    epoch: 0,
    globalStep: 0,
    best: null,
    stageBest: null,
    badEvals: 0,
    nonfinite: 0,
    skipped: 0,
    patched: 0,
    firstNonfinite: null,
    metricsBytes: 0,
    wallSeconds: 0,
    diverged: false,
    resumeChanges: [],
    recovered: [],
  };
}

/** Writes `<outDir>/checkpoint/` (replacing the previous one atomically; `state.json` last). */
export async function saveCheckpoint(
  outDir: string,
  ctx: RunContext,
  optimizer: ModuleOptimizer,
  state: TrainerState,
): Promise<void> {
  await replaceDirAtomic(runPath(outDir, "checkpoint"), async (dir) => {
    await saveWeights(ctx.model, `${dir}/weights`);
    const opt = optimizer.getState();
    await saveTensors(`${dir}/optimizer`, "optimizer", Object.entries(opt.tensors));
    await writeJsonAtomic(`${dir}/${CHECKPOINT_MARKER}`, { trainer: state, optimizer: opt.meta });
  });
}

/** Loads `<outDir>/checkpoint/` into the model and optimizer and returns the trainer state saved with it. */
export async function restoreCheckpoint(
  outDir: string,
  ctx: RunContext,
  optimizer: ModuleOptimizer,
): Promise<TrainerState> {
  const dir = runPath(outDir, "checkpoint");
  const statePath = `${dir}/${CHECKPOINT_MARKER}`;
  const saved = JSON.parse(await onPath(statePath, "read", () => Deno.readTextFile(statePath)));
  await loadWeights(ctx.model, `${dir}/weights`);
  const tensors = await loadTensors(`${dir}/optimizer`, "optimizer");
  optimizer.setState({ tensors, meta: saved.optimizer });
  tf.dispose(Object.values(tensors));
  return { ...freshState(), ...saved.trainer }; // fields added since the checkpoint was written get defaults
}

/**
 * Repairs `checkpoint/` and `best/` after a process was killed while swapping them: the newest complete copy is
 * put in place and stale `.tmp-`/`.old-` folders are removed. Returns one line per repair, for the log.
 */
export async function recoverRunDirs(outDir: string): Promise<string[]> {
  const repaired: string[] = [];
  for (
    const [name, marker] of [
      [RUN_FILES.checkpoint, CHECKPOINT_MARKER],
      [RUN_FILES.best, BEST_MARKER],
      [RUN_FILES.stageBest, BEST_MARKER],
    ]
  ) {
    const moved = await recoverDir(`${outDir}/${name}`, marker);
    if (moved) repaired.push(`recovered ${outDir}/${name} from ${moved} (an interrupted checkpoint swap)`);
  }
  return repaired;
}
