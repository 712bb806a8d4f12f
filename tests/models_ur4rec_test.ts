import { bprMfOptions, sasRecOptions } from "../src/config/resolve.ts";
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { Config } from "../src/config/schema.ts";
import { BprMf, Popularity } from "../src/models/baselines.ts";
import { createModel } from "../src/models/factory.ts";
import { stableName } from "../src/models/params.ts";
import { SasRec } from "../src/models/sasrec.ts";
import type { Recommender } from "../src/models/types.ts";
import { Ur4Rec } from "../src/models/ur4rec.ts";
import { evaluate } from "../src/eval/evaluate.ts";
import { Rng } from "../src/rng.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose, onBackend } from "./helpers.ts";
import {
  assertBackendsAgree,
  CaptureProbe,
  disposeScores,
  evalBatch,
  lossAndGrads,
  take,
  tinyConfig,
  tinyDataset,
  tinyTexts,
  trainBatch,
  variable,
} from "./models_fixtures.ts";

const N = 12;
const T = 6;
const SEQUENCES = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12], [3, 5, 7]];
const DS = tinyDataset(N, 3);
const TEXTS = tinyTexts(3, N);

function ur4rec(overrides: Partial<Config> = {}): Ur4Rec {
  return new Ur4Rec(tinyConfig({ model: "ur4rec", ...overrides }), DS, TEXTS, new Rng(1));
}

Deno.test("ur4rec weighted fusion: 0.4 · SASRec + 0.6 · retriever, for candidates, full ranking and training", async () => {
  await onBackend("cpu", () => {
    const m = ur4rec({ sasrec_weight: 0.4, retriever_weight: 0.6 });
    const eb = evalBatch([[1, 2], [3, 4, 5]], { seqLen: T, candidates: [[1, 2, 3], [4, 5, 6]] });
    for (const method of ["scoreCandidates", "scoreAll"] as const) {
      const sas = take(m.sasrec[method](eb)), ret = take(m.retriever[method](eb));
      assertClose(take(m[method](eb)), sas.map((s, i) => 0.4 * s + 0.6 * ret[i]), 1e-5, method);
    }
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const scores = m.trainScores(batch);
    const sasPos = scores.sasrec!.pos.arraySync() as number[][];
    const sasNeg = scores.sasrec!.neg.arraySync() as number[][][];
    const retPos = scores.retriever!.pos.arraySync() as number[];
    const retNeg = scores.retriever!.neg.arraySync() as number[][];
    // every row's last target is at position T-1 (left padding)
    assertClose(scores.fused!.pos.dataSync(), [0, 1, 2].map((b) => 0.4 * sasPos[b][T - 1] + 0.6 * retPos[b]), 1e-5);
    const negs = [0, 1, 2].flatMap((b) => [0, 1].map((k) => 0.4 * sasNeg[b][T - 1][k] + 0.6 * retNeg[b][k]));
    assertClose(scores.fused!.neg.dataSync(), negs, 1e-5, "fused negatives");
    disposeScores(scores);
    assert.deepEqual(m.modules().fusion, []);
    m.dispose();
  });
});

Deno.test("ur4rec learned fusion: starts at the configured weights, depends on the input, and is trained by the fused loss", async () => {
  await onBackend("cpu", () => {
    const m = ur4rec({ fusion_method: "learned", sasrec_weight: 0.4, retriever_weight: 0.6 });
    const eb = evalBatch([[1, 2], [3, 4, 5, 6, 7, 8]], { seqLen: T });
    const probe = new CaptureProbe();
    take(m.scoreAll(eb, { probe }));
    assertClose(probe.get("fusion.weights").values, [0.4, 0.6, 0.4, 0.6], 1e-6, "initial weights");
    variable(m, "fusion/gate/w").assign(tf.tensor2d([[1, -1], [0.5, 0.2]]));
    take(m.scoreAll(eb, { probe }));
    const [a, b, c, d] = probe.get("fusion.weights").values;
    assert.ok(Math.abs(a - c) > 1e-3 && Math.abs(b - d) > 1e-3, "rows of different length get different weights");
    // softplus(W f + b) with f = [len / T, |h| / sqrt(d)] (bias softplus⁻¹(0.4), softplus⁻¹(0.6)): check row 0 by hand
    const hidden = probe.get("final_ln.out").values;
    const h = hidden.subarray((T - 1) * 8, T * 8);
    const f = [2 / T, Math.hypot(...h) / Math.sqrt(8)];
    const softplus = (x: number) => Math.log1p(Math.exp(x));
    const bias = [0.4, 0.6].map((w) => Math.log(Math.expm1(w)));
    assertClose([a, b], [softplus(f[0] + 0.5 * f[1] + bias[0]), softplus(-f[0] + 0.2 * f[1] + bias[1])], 1e-5);
    const { grads } = lossAndGrads(m, trainBatch(SEQUENCES, { seqLen: T, numItems: N }));
    assert.ok(grads.get("fusion/gate/w")!.some((g) => Math.abs(g) > 1e-4), "the gate receives gradients");
    m.dispose();
  });
});

Deno.test("ur4rec residual fusion: at g = 0 every score equals the SASRec's exactly; the gate trains and adds g · s_ret", async () => {
  await onBackend("cpu", () => {
    const config = tinyConfig({ model: "ur4rec", fusion_method: "residual", fused_loss_weight: 1 });
    const m = new Ur4Rec(config, DS, TEXTS, new Rng(1));
    const alone = new SasRec(sasRecOptions(config), N, new Rng(1)); // the same init RNG: UR4Rec's SASRec forks it by the same names
    const eb = evalBatch([[1, 2], [3, 4, 5, 6, 7, 8]], { seqLen: T, candidates: [[1, 2, 3], [4, 5, 6]] });
    for (const method of ["scoreCandidates", "scoreAll"] as const) {
      const ret = take(m.retriever[method](eb));
      assert.ok(ret.some((r) => Math.abs(r) > 0.1), `${method}: the retriever's scores are not zero`);
      assert.deepEqual(take(m[method](eb)), take(alone[method](eb)), method);
    }
    assert.equal(m.parameterCounts().fusion, 3);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const { grads } = lossAndGrads(m, batch);
    assert.ok(Math.abs(grads.get("fusion/gate/b")![0]) > 1e-4, "the fused loss reaches the gate's bias at g = 0");
    assert.ok(grads.get("fusion/gate/w")!.some((g) => Math.abs(g) > 1e-4), "and its weights");
    // g_u = w · [len / T, |h_u| / sqrt(d)] + b, checked by hand on row 0 (2 items)
    variable(m, "fusion/gate/w").assign(tf.tensor2d([[0.5], [-0.25]]));
    variable(m, "fusion/gate/b").assign(tf.tensor1d([0.1]));
    const probe = new CaptureProbe();
    const fused = take(m.scoreAll(eb, { probe }));
    const h = probe.get("final_ln.out").values.subarray((T - 1) * 8, T * 8);
    const g = 0.5 * (2 / T) - 0.25 * Math.hypot(...h) / Math.sqrt(8) + 0.1;
    assertClose(probe.get("fusion.weights").values.subarray(0, 2), [1, g], 1e-6, "weights (1, g)");
    const sas = take(alone.scoreAll(eb)), ret = take(m.retriever.scoreAll(eb));
    const row = N + 1;
    assertClose(fused.subarray(0, row), sas.subarray(0, row).map((s, i) => s + g * ret[i]), 1e-5, "s_sas + g · s_ret");
    m.dispose();
    alone.dispose();
  });
});

Deno.test("ur4rec residual fusion: evaluation scores with SASRec while g = 0 (same ranks), the model once the gate moves", async () => {
  await onBackend("cpu", async () => {
    const m = ur4rec({ fusion_method: "residual", fused_loss_weight: 1 });
    const batch = { ...evalBatch([[1, 2], [3, 4, 5, 6, 7, 8], [9, 10, 11]], { seqLen: T }) };
    batch.targets = Int32Array.from([3, 9, 12]);
    batch.history = [[1, 2], [3, 4, 5, 6, 7, 8], [9, 10, 11]];
    const opts = { protocol: "full", tiePolicy: "pessimistic", itemExists: DS.itemExists } as const;
    // the same model without the shortcut: every score through s_sas + g · s_ret
    const fusedPath: Recommender = {
      name: "ur4rec (fused path)",
      modules: () => m.modules(),
      trainScores: (b) => m.trainScores(b),
      scoreCandidates: (b) => m.scoreCandidates(b),
      scoreAll: (b) => m.scoreAll(b),
      parameterCounts: () => m.parameterCounts(),
      dispose: () => {},
    };
    assert.equal(await m.scorerForEval(), m.sasrec);
    assert.deepEqual(await evaluate(m, [batch], opts), await evaluate(fusedPath, [batch], opts));
    variable(m, "fusion/gate/b").assign(tf.tensor1d([1e-6]));
    assert.equal(await m.scorerForEval(), m, "a gate that is not exactly zero scores through the fusion");
    assert.equal(m.stageValidator("pretrain_retriever"), m.retriever, "the retriever stage stops on its own score");
    assert.equal(m.stageValidator("pretrain_sasrec"), null);
    const weighted = ur4rec();
    assert.equal(weighted.stageValidator("pretrain_retriever"), null, "weighted fusion validates the fused score");
    assert.equal(await weighted.scorerForEval(), weighted);
    weighted.dispose();
    m.dispose();
  });
});

Deno.test("ur4rec residual fusion: each loss term only in steps that train its module", async () => {
  await onBackend("cpu", () => {
    const m = ur4rec({ fusion_method: "residual", fused_loss_weight: 0.5 });
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const keys = (active?: string[]) => {
      const scores = m.trainScores(batch, { active });
      const present = Object.keys(scores).sort();
      disposeScores(scores);
      return present;
    };
    assert.deepEqual(keys(["sasrec"]), ["sasrec"]);
    assert.deepEqual(keys(["retriever"]), ["aux", "retriever"]);
    assert.deepEqual(keys(["fusion"]), ["fused"]);
    assert.deepEqual(keys(["retriever", "fusion"]), ["aux", "fused", "retriever"]);
    assert.deepEqual(keys(), ["aux", "fused", "retriever", "sasrec"]);
    m.dispose();
  });
});

Deno.test("ur4rec: modules and parameter counts; `active` skips what the step does not train", async () => {
  await onBackend("cpu", () => {
    const m = ur4rec({ fusion_method: "learned" });
    assert.deepEqual(Object.keys(m.modules()), ["sasrec", "retriever", "fusion"]);
    for (const [module, vars] of Object.entries(m.modules())) {
      assert.ok(vars.every((v) => stableName(v).startsWith(`${module}/`)), module);
      assert.equal(m.parameterCounts()[module], vars.reduce((n, v) => n + v.size, 0));
    }
    assert.equal(m.parameterCounts().fusion, 6);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const keys = (active: string[]) => {
      const scores = m.trainScores(batch, { active });
      const present = Object.keys(scores).sort();
      disposeScores(scores);
      return present;
    };
    assert.deepEqual(keys(["sasrec"]), ["sasrec"]);
    assert.deepEqual(keys(["retriever", "fusion"]), ["aux", "retriever"]);
    m.dispose();
    const withFused = ur4rec({ fused_loss_weight: 1 });
    const scores = withFused.trainScores(batch, { active: ["sasrec"] });
    assert.deepEqual(Object.keys(scores).sort(), ["aux", "fused", "retriever", "sasrec"]);
    disposeScores(scores);
    withFused.dispose();
  });
});

Deno.test("ur4rec: safe masks keep every score and gradient finite; wasm agrees with cpu", async () => {
  const run = () => {
    const m = ur4rec({ sasrec_dropout: 0.2, moe_dropout: 0.1, fused_loss_weight: 1 });
    const { loss, grads } = lossAndGrads(m, trainBatch(SEQUENCES, { seqLen: T, numItems: N }));
    const all = take(m.scoreAll(evalBatch([[1], [2, 3]], { seqLen: T })));
    m.dispose();
    return { loss, grads, all };
  };
  const { cpu } = await assertBackendsAgree(run);
  assert.ok(Number.isFinite(cpu.loss) && cpu.all.every(Number.isFinite));
  for (const [name, g] of cpu.grads) assert.ok(g.every(Number.isFinite), name);
});

Deno.test("baselines: popularity scores are train counts; BPR-MF scores are user · item dot products", async () => {
  await onBackend("cpu", () => {
    const pop = new Popularity(DS);
    const eb = evalBatch([[1, 2], [3]], { seqLen: T, candidates: [[1, 2, 3], [4, 5, 6]] });
    const counts = Array.from(DS.trainPopularity);
    assert.deepEqual(Array.from(take(pop.scoreCandidates(eb))), [1, 2, 3, 4, 5, 6].map((i) => counts[i]));
    assert.deepEqual(Array.from(take(pop.scoreAll(eb))), [...counts, ...counts]);
    assert.deepEqual(pop.modules(), {});
    assert.deepEqual(pop.trainScores(trainBatch(SEQUENCES, { seqLen: T, numItems: N })), {});
    pop.dispose();

    const mf = new BprMf(bprMfOptions(tinyConfig()), DS, new Rng(2));
    const users = variable(mf, "bprmf/user_emb").arraySync() as number[][];
    const items = variable(mf, "bprmf/item_emb").arraySync() as number[][];
    const dot = (u: number, i: number) => users[u].reduce((s, x, j) => s + x * items[i][j], 0);
    assertClose(take(mf.scoreCandidates(eb)), [dot(0, 1), dot(0, 2), dot(0, 3), dot(1, 4), dot(1, 5), dot(1, 6)], 1e-6);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const scores = mf.trainScores(batch);
    const pos = scores.sasrec!.pos.arraySync() as number[][];
    assertClose([pos[1][2], pos[1][5]], [dot(1, 9), dot(1, 12)], 1e-6, "user vector at every position");
    disposeScores(scores);
    assert.equal(mf.parameterCounts().bprmf, 3 * 8 + (N + 1) * 8);
    mf.dispose();
  });
});

Deno.test("factory: builds each model by name; ur4rec without texts is a user error", async () => {
  await onBackend("cpu", () => {
    for (const model of ["sasrec", "ur4rec", "pop", "bprmf"] as const) {
      const m = createModel(tinyConfig({ model }), DS, new Rng(1), TEXTS);
      assert.equal(m.name, model);
      m.dispose();
    }
    assert.throws(
      () => createModel(tinyConfig({ model: "ur4rec" }), DS, new Rng(1)),
      (e: Error) => e instanceof UserError && /model=ur4rec needs text vectors/.test(e.message),
    );
  });
});
