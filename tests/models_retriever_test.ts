import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { retrieverOptions } from "../src/config/resolve.ts";
import type { Config } from "../src/config/schema.ts";
import { forwardContext, gelu } from "../src/models/layers.ts";
import { Router } from "../src/models/moe.ts";
import { ParamStore } from "../src/models/params.ts";
import { Retriever } from "../src/models/retriever.ts";
import { Rng } from "../src/rng.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose, onBackend } from "./helpers.ts";
import {
  argMaxAbs,
  assertBackendsAgree,
  assertFiniteDifferences,
  CaptureProbe,
  disposeScores,
  evalBatch,
  lossAndGrads,
  take,
  tinyConfig,
  tinyTexts,
  trainBatch,
} from "./models_fixtures.ts";

const N = 12;
const USERS = 3;
const T = 6;
const SEQUENCES = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12], [3, 5, 7]];

function retriever(overrides: Partial<Config> = {}, seed = 1, numItems = N): Retriever {
  return new Retriever(
    retrieverOptions(tinyConfig(overrides)),
    numItems,
    USERS,
    tinyTexts(USERS, numItems),
    new Rng(seed),
  );
}

Deno.test("retriever: shapes; scores are cosines / τ; train scores use each row's last target", async () => {
  await onBackend("cpu", () => {
    for (const mode of ["faithful", "fixed"] as const) {
      const r = retriever({ retriever_mode: mode });
      const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N, numNegatives: 3 });
      const scores = r.trainScores(batch);
      assert.deepEqual(scores.retriever!.pos.shape, [3]);
      assert.deepEqual(scores.retriever!.neg.shape, [3, 3]);
      const bound = 1 / 0.07 + 1e-3;
      assert.ok(take(scores.retriever!.neg.clone()).every((s) => Math.abs(s) <= bound));
      assert.equal(scores.aux !== undefined, mode === "fixed", `${mode}: aux`);
      // the positive of row b is its last target, so scoring [target, negatives] as candidates gives the same numbers
      const last = SEQUENCES.map((s) => s[s.length - 1]);
      const negs = [0, 1, 2].map((b) => Array.from(batch.negatives.subarray((b * T + T - 1) * 3, (b * T + T) * 3)));
      const eb = evalBatch(SEQUENCES.map((s) => s.slice(0, -1)), {
        seqLen: T,
        candidates: last.map((p, b) => [p, ...negs[b]]),
      });
      const cand = take(r.scoreCandidates(eb));
      assertClose(take(scores.retriever!.pos), [0, 1, 2].map((b) => cand[b * 4]), 1e-5, `${mode}: pos`);
      disposeScores(scores);
      assert.deepEqual(r.scoreAll(eb).shape, [3, N + 1]);
      r.dispose();
    }
  });
});

Deno.test("retriever: full ranking (item-side once, pairs in chunks) equals candidate scoring", async () => {
  await onBackend("cpu", () => {
    const numItems = 6000; // 3 users × 6001 ids > one chunk of pairs
    const r = retriever({ retriever_mode: "fixed", retriever_output_dim: 4, moe_num_proxies: 2 }, 1, numItems);
    const ids = [1, 77, 2999, 5000, 6000];
    const eb = evalBatch([[1, 2], [3], [4, 5, 6]], { seqLen: T, candidates: [ids, ids, ids] });
    const all = take(r.scoreAll(eb));
    const cand = take(r.scoreCandidates(eb));
    const picked = [0, 1, 2].flatMap((b) => ids.map((id) => all[b * (numItems + 1) + id]));
    assertClose(picked, cand, 1e-4, "scoreAll columns vs scoreCandidates");
    r.dispose();
  });
});

Deno.test("retriever faithful: frozen unnormalised description vectors with a baked-in dropout mask (F8); no history", async () => {
  await onBackend("cpu", () => {
    const descNorms = (dropout: number) => {
      const r = retriever({ retriever_mode: "faithful", moe_dropout: dropout });
      const tables = r.modules().retriever.filter((v) => v.shape.join() === `${N + 1},8`);
      assert.equal(tables.length, 1, "the item id table is the only [N+1, D] variable: d_i is not one");
      const probe = new CaptureProbe();
      const a = take(r.scoreAll(evalBatch([[1, 2, 3]], { seqLen: T }), { probe }));
      const b = take(r.scoreAll(evalBatch([[9, 8]], { seqLen: T })));
      assert.deepEqual(Array.from(a), Array.from(b), "same user, other history: same scores");
      const d = probe.get("retriever.item.desc").values; // [1, N+1, 8]
      r.dispose();
      return Array.from({ length: N + 1 }, (_, i) => d.subarray(i * 8, i * 8 + 8));
    };
    // LN output (gamma 1, beta 0) has norm sqrt(D): unnormalised, and 2.8x the unit-norm item embedding
    const clean = descNorms(0);
    assert.equal(Math.hypot(...clean[0]), 0, "pad row");
    for (const row of clean.slice(1)) assert.ok(Math.abs(Math.hypot(...row) - Math.sqrt(8)) < 1e-3);
    // with dropout the init-time mask is frozen into d_i: some coordinates are exactly zero, the rest scaled
    const dropped = descNorms(0.3).slice(1).flatMap((row) => Array.from(row));
    assert.ok(dropped.filter((v) => v === 0).length > 10, "dropped coordinates stay zero");
  });
});

Deno.test("retriever fixed: normalised trainable descriptions, history-aware users, user_text none ignores user texts", async () => {
  await onBackend("cpu", () => {
    const r = retriever({ retriever_mode: "fixed" });
    const probe = new CaptureProbe();
    const a = take(r.scoreAll(evalBatch([[1, 2, 3]], { seqLen: T }), { probe }));
    const b = take(r.scoreAll(evalBatch([[9, 8]], { seqLen: T })));
    assert.notDeepEqual(Array.from(a), Array.from(b), "history changes the scores");
    const q = probe.get("retriever.item.q").values;
    const norms = Array.from({ length: N }, (_, i) => Math.hypot(...q.subarray((i + 1) * 8, (i + 2) * 8)));
    assert.ok(norms.every((n) => n <= 1 + 1e-5), "q = (d + ê)/2 of unit vectors has norm <= 1");
    r.dispose();
    // user_text none: the user-text table does not matter; with user texts it does
    const scoresWithUserTexts = (userText: Config["user_text"], textSeed: number) => {
      const texts = tinyTexts(USERS, N, 5, 11);
      texts.user = tinyTexts(USERS, N, 5, textSeed).user;
      const m = new Retriever(
        retrieverOptions(tinyConfig({ retriever_mode: "fixed", user_text: userText })),
        N,
        USERS,
        texts,
        new Rng(1),
      );
      const scores = Array.from(take(m.scoreAll(evalBatch([[1, 2, 3]], { seqLen: T }))));
      m.dispose();
      return scores;
    };
    assert.deepEqual(scoresWithUserTexts("none", 12), scoresWithUserTexts("none", 13));
    assert.notDeepEqual(scoresWithUserTexts("leak_free", 12), scoresWithUserTexts("leak_free", 13));
  });
});

Deno.test("retriever fixed: balance loss = weight · 3 · Σ f_k P_k from the router weights; router temperature", async () => {
  await onBackend("cpu", () => {
    const r = retriever({ retriever_mode: "fixed", moe_balance_weight: 0.5, router_temperature: 0.5 });
    const probe = new CaptureProbe();
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N, numNegatives: 2 });
    const scores = r.trainScores(batch, { probe });
    const w = probe.get("retriever.router.weights").values; // [3, 3 candidates, 3 experts]
    const pairs = w.length / 3;
    const importance = [0, 1, 2].map((k) =>
      Array.from({ length: pairs }, (_, p) => w[p * 3 + k]).reduce((a, b) => a + b) / pairs
    );
    const routed = [0, 0, 0];
    for (let p = 0; p < pairs; p++) routed[argMaxAbs(w.subarray(p * 3, p * 3 + 3))] += 1 / pairs;
    const expected = 0.5 * 3 * routed.reduce((s, f, k) => s + f * importance[k], 0);
    assertClose(take(scores.aux!.moe_balance), [expected], 1e-6, "moe_balance");
    disposeScores(scores);
    r.dispose();
    // temperature 0.5 squares the temperature-1 weights (then renormalises): softmax(2z) ∝ softmax(z)²
    const plain = retriever({ retriever_mode: "fixed", router_temperature: 1 });
    const probe1 = new CaptureProbe();
    disposeScores(plain.trainScores(batch, { probe: probe1 }));
    const w1 = probe1.get("retriever.router.weights").values;
    const squared = Array.from(w1, (v, i) => {
      const row = w1.subarray(i - (i % 3), i - (i % 3) + 3);
      return v * v / row.reduce((a, x) => a + x * x, 0);
    });
    assertClose(w, squared, 1e-5, "router temperature");
    plain.dispose();
  });
});

Deno.test("retriever: gradients match finite differences (both modes, cpu)", async () => {
  await onBackend("cpu", () => {
    for (const mode of ["faithful", "fixed"] as const) {
      const r = retriever({ retriever_mode: mode, retriever_temperature: 1 });
      const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
      const { grads } = lossAndGrads(r, batch);
      const names = [
        "retriever/projection/linear/w",
        "retriever/item_emb",
        "retriever/moe/user_expert/attn/v/w",
        "retriever/moe/desc_expert/ffn/up/w",
        "retriever/moe/router/hidden/w",
        "retriever/moe/proxy_attn/proxies",
        "retriever/moe/proxy_attn/k/w",
        "retriever/moe/proxy_attn/ln/gamma",
        ...(mode === "fixed" ? ["retriever/history_projection/linear/w"] : []),
      ];
      assertFiniteDifferences(mode, r, batch, grads, names, { minGrad: 1e-4, atol: 1e-3 });
      r.dispose();
    }
  });
});

Deno.test("retriever: wasm and cpu agree (scores, gradients); no tensor leaks", async () => {
  const run = () => {
    const r = retriever({ retriever_mode: "fixed", moe_dropout: 0.1 }, 3);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const eb = evalBatch([[1, 2], [3]], { seqLen: T });
    lossAndGrads(r, batch);
    take(r.scoreAll(eb));
    const before = tf.memory().numTensors;
    const { loss, grads } = lossAndGrads(r, batch);
    const all = take(r.scoreAll(eb));
    assert.equal(tf.memory().numTensors, before, "no leaks");
    r.dispose();
    return { loss, grads, all };
  };
  await assertBackendsAgree(run);
});

Deno.test("retriever: bad sizes are user errors naming what was expected", async () => {
  await onBackend("cpu", () => {
    const texts = tinyTexts(USERS, N);
    assert.throws(
      () => new Retriever(retrieverOptions(tinyConfig()), N, USERS + 1, texts, new Rng(1)),
      (e: Error) => e instanceof UserError && /expected 4 users × dim 5/.test(e.message),
    );
    assert.throws(
      () => new Retriever(retrieverOptions(tinyConfig({ moe_num_heads: 3 })), N, USERS, texts, new Rng(1)),
      (e: Error) => e instanceof UserError && /moe_num_heads=3 must divide retriever_output_dim=8/.test(e.message),
    );
  });
});

Deno.test("router: part-wise LN + Linear equals LN over the broadcast concatenation (values and gradients)", async () => {
  await onBackend("cpu", () => {
    const rng = new Rng(8);
    const randn = (shape: number[], scale = 1, shift = 0) =>
      tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => shift + scale * rng.normal()), shape);
    const store = new ParamStore(new Rng(1));
    const router = new Router(store, "router", 4, 0.7);
    router.ln.gamma.assign(randn([16], 0.5, 1));
    router.ln.beta.assign(randn([16], 0.5));
    const parts = [randn([1, 5, 4], 2, 1), randn([3, 1, 4]), randn([1, 5, 4], 3), randn([1, 5, 4], 1, -2)];
    const reference = (...ps: tf.Tensor[]) => {
      const features = tf.concat(ps.map((p) => p.broadcastTo([3, 5, 4])), -1);
      const hidden = router.hidden.apply(router.ln.apply(forwardContext(false, "router"), features));
      return tf.softmax(router.logits.apply(gelu(hidden)).div(0.7));
    };
    const partwise = (...ps: tf.Tensor[]) => router.apply(ps as tf.Tensor3D[]);
    assertClose(partwise(...parts).dataSync(), reference(...parts).dataSync(), 1e-5, "router weights");
    const dy = randn([3, 5, 3]);
    const variables = [router.ln.gamma, router.ln.beta, router.hidden.w, router.hidden.b];
    const gradsOf = (f: (...ps: tf.Tensor[]) => tf.Tensor) => {
      const wrtParts = tf.grads((...ps: tf.Tensor[]) => f(...ps).mul(dy).sum())(parts);
      const { grads } = tf.variableGrads(() => f(...parts).mul(dy).sum() as tf.Scalar, variables);
      return [...wrtParts, ...variables.map((v) => grads[v.name])];
    };
    const fast = gradsOf(partwise), plain = gradsOf(reference);
    fast.forEach((g, i) => assertClose(g.dataSync(), plain[i].dataSync(), 1e-4, `gradient ${i}`));
    store.dispose();
  });
});

Deno.test("retriever parameter count: the original's formula (docs/original.md#parameters) without the dead memory module and the experts' unused W_q, W_k", async () => {
  await onBackend("cpu", () => {
    const [d, e, p] = [8, 5, 3];
    const spec = e * d + 3 * d + 3 * (8 * d * d + 9 * d) + (4 * d * d + 12 * d + 3) + p * d + (4 * d * d + 4 * d) +
      2 * d +
      (N + 1) * d;
    const unusedQK = 3 * 2 * (d * d + d);
    for (const mode of ["faithful", "fixed"] as const) {
      const r = retriever({ retriever_mode: mode });
      const historyProjection = mode === "fixed" ? e * d + 3 * d : 0;
      assert.deepEqual(r.parameterCounts(), { retriever: spec - unusedQK + historyProjection });
      r.dispose();
    }
  });
});
