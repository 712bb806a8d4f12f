import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/backend.ts";
import { lossOptions } from "../src/config/resolve.ts";
import { defaultConfig } from "../src/config/schema.ts";
import { type LossKind, mainLoss, retrieverLoss, totalLoss } from "../src/train/losses.ts";
import { assertClose, onBackend } from "./helpers.ts";

const KINDS: LossKind[] = ["bpr_naive", "bpr_softplus", "bce", "softmax"];
const softplus = (x: number) => Math.log1p(Math.exp(x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Loss value and gradients w.r.t. pos [N] and neg [N, K] for plain arrays. */
function lossAndGrads(
  kind: LossKind,
  pos: number[],
  neg: number[][],
  opts: { mask?: number[]; temperature?: number } = {},
): { loss: number; dPos: number[]; dNeg: number[] } {
  return tf.tidy(() => {
    const p = tf.tensor1d(pos);
    const n = tf.tensor2d(neg);
    const mask = opts.mask ? tf.tensor1d(opts.mask) : undefined;
    const f = (a: tf.Tensor, b: tf.Tensor) => mainLoss(kind, { pos: a, neg: b, mask }, opts.temperature);
    const { value, grads } = tf.valueAndGrads(f)([p, n]);
    return {
      loss: value.dataSync()[0],
      dPos: Array.from(grads[0].dataSync()),
      dNeg: Array.from(grads[1].dataSync()),
    };
  });
}

/** Loss and d loss / d pos for one row with one negative at margin d = pos - neg (neg = 0). */
function atMargin(kind: LossKind, d: number): { loss: number; grad: number } {
  const { loss, dPos } = lossAndGrads(kind, [d], [[0]]);
  return { loss, grad: dPos[0] };
}

Deno.test("losses: margin 0 gives log 2 for both BPR forms and BCE; softmax gives log(1 + K)", async () => {
  await initBackend("wasm");
  for (const kind of ["bpr_naive", "bpr_softplus", "bce"] as const) {
    assertClose([atMargin(kind, 0).loss], [Math.LN2], 1e-6, kind);
  }
  assertClose([lossAndGrads("softmax", [0.5], [[0.5, 0.5, 0.5]]).loss], [Math.log(4)], 1e-6, "softmax");
});

Deno.test("losses: hand-computed BCE and softmax for pos=2, negs=[-1, 0]", async () => {
  await initBackend("wasm");
  const bce = (softplus(-2) + softplus(-1) + softplus(0)) / 3; // 0.37778
  assertClose([lossAndGrads("bce", [2], [[-1, 0]]).loss], [bce], 1e-6, "bce");
  const ce = Math.log(Math.exp(2) + Math.exp(-1) + Math.exp(0)) - 2; // 0.17029
  assertClose([lossAndGrads("softmax", [2], [[-1, 0]]).loss], [ce], 1e-6, "softmax tau=1");
  const ceHalf = Math.log(Math.exp(4) + Math.exp(-2) + Math.exp(0)) - 4; // logits / 0.5
  assertClose([lossAndGrads("softmax", [2], [[-1, 0]], { temperature: 0.5 }).loss], [ceHalf], 1e-6, "softmax tau=0.5");
  const bpr = (softplus(-3) + softplus(-2)) / 2; // mean over the K = 2 pairs
  assertClose([lossAndGrads("bpr_softplus", [2], [[-1, 0]]).loss], [bpr], 1e-6, "bpr_softplus");
});

Deno.test("losses: gradients match the analytic formulas on a 2-row, K=2 example", async () => {
  await initBackend("wasm");
  const pos = [0.7, -1.2];
  const neg = [[0.3, -0.4], [1.5, -2.0]];
  const [n, k] = [2, 2];
  const tau = 0.5;
  for (const kind of KINDS) {
    const got = lossAndGrads(kind, pos, neg, { temperature: tau });
    const dPos = [0, 0];
    const dNeg = [0, 0, 0, 0];
    for (let r = 0; r < n; r++) {
      if (kind === "softmax") {
        const logits = [pos[r], ...neg[r]].map((x) => x / tau);
        const z = logits.reduce((a, x) => a + Math.exp(x), 0);
        const p = logits.map((x) => Math.exp(x) / z);
        dPos[r] = (p[0] - 1) / tau / n;
        for (let j = 0; j < k; j++) dNeg[r * k + j] = p[j + 1] / tau / n;
        continue;
      }
      if (kind === "bce") {
        dPos[r] = -sigmoid(-pos[r]) / (1 + k) / n;
        for (let j = 0; j < k; j++) dNeg[r * k + j] = sigmoid(neg[r][j]) / (1 + k) / n;
        continue;
      }
      for (let j = 0; j < k; j++) {
        const s = sigmoid(pos[r] - neg[r][j]);
        // d/dd of -log(s + eps) is -s(1-s)/(s+eps); of softplus(-d) it is -(1-s).
        const g = (kind === "bpr_naive" ? -s * (1 - s) / (s + 1e-10) : -(1 - s)) / k / n;
        dPos[r] += g;
        dNeg[r * k + j] = -g;
      }
    }
    assertClose(got.dPos, dPos, 1e-6, `${kind} d/dpos`);
    assertClose(got.dNeg, dNeg, 1e-6, `${kind} d/dneg`);
  }
});

Deno.test("losses: bpr_naive saturates at -log(1e-10) = 23.03 for d <= -30; gradient -9.3e-4 at -30, exactly 0 at -1e4", async () => {
  await initBackend("wasm");
  const at30 = atMargin("bpr_naive", -30);
  assertClose([at30.loss], [-Math.log(1e-10 + sigmoid(-30))], 1e-5, "loss at -30"); // 23.02491
  assertClose([at30.grad], [-sigmoid(-30) / (sigmoid(-30) + 1e-10)], 1e-6, "grad at -30"); // -9.35e-4
  const at1e4 = atMargin("bpr_naive", -1e4);
  assertClose([at1e4.loss], [23.02585], 1e-5, "loss at -1e4");
  assert.equal(Math.abs(at1e4.grad), 0, "the gradient vanishes: a very wrong pair teaches nothing");
  assert.equal(Math.abs(atMargin("bpr_naive", 1e4).grad), 0);
});

Deno.test("losses: bpr_softplus stays finite and keeps gradient -1 at d = -1e4; 0 loss and gradient at d = 1e4", async () => {
  await initBackend("wasm");
  const bad = atMargin("bpr_softplus", -1e4);
  assert.equal(bad.loss, 1e4);
  assert.equal(bad.grad, -1);
  const good = atMargin("bpr_softplus", 1e4);
  assert.equal(good.loss, 0);
  assert.equal(Math.abs(good.grad), 0);
});

Deno.test("losses: BCE and softmax stay finite with scores of +-1e4", async () => {
  await initBackend("wasm");
  const bce = lossAndGrads("bce", [-1e4], [[1e4, -1e4]]);
  assertClose([bce.loss], [2e4 / 3], 1e-2, "bce"); // softplus(1e4) + softplus(1e4) + softplus(-1e4), over 3
  assertClose([...bce.dPos, ...bce.dNeg], [-1 / 3, 1 / 3, 0], 1e-6, "bce grads");
  const sm = lossAndGrads("softmax", [-1e4], [[1e4, -1e4]]);
  assert.equal(sm.loss, 2e4);
  assertClose([...sm.dPos, ...sm.dNeg], [-1, 1, 0], 1e-6, "softmax grads");
});

Deno.test("losses: infinite scores: naive BPR hides pos=-Inf (23.03, zero gradient); softplus/BCE give +Inf; softmax gives NaN for any +Inf", async () => {
  await initBackend("wasm");
  const loss = (kind: LossKind, pos: number, neg: number) => lossAndGrads(kind, [pos], [[neg]]).loss;
  // A perfectly ranked pair costs nothing.
  for (const kind of ["bpr_naive", "bpr_softplus"] as const) assert.equal(loss(kind, Infinity, 0), 0, kind);
  assert.equal(loss("bce", Infinity, -Infinity), 0);
  assertClose([loss("bce", Infinity, 0)], [softplus(0) / 2], 1e-7, "bce: only the negative's entry remains");
  assert.equal(loss("softmax", 0, -Infinity), 0, "a -Inf negative is simply out of the softmax");
  // A positive at -Inf: the naive form saturates and its gradient vanishes, so the guard cannot see the problem.
  const naive = lossAndGrads("bpr_naive", [-Infinity], [[0]]);
  assertClose([naive.loss], [23.02585], 1e-5, "naive at -Inf");
  assert.equal(Math.abs(naive.dPos[0]), 0);
  for (const kind of ["bpr_softplus", "bce", "softmax"] as const) {
    assert.equal(loss(kind, -Infinity, 0), Infinity, kind);
  }
  assert.equal(loss("bce", 0, Infinity), Infinity);
  // softmax: logSumExp subtracts the row max, and Inf - Inf is NaN.
  assert.ok(Number.isNaN(loss("softmax", Infinity, 0)));
  assert.ok(Number.isNaN(loss("softmax", 0, Infinity)));
  // Both at +Inf: the BPR margin is Inf - Inf = NaN.
  for (const kind of ["bpr_naive", "bpr_softplus"] as const) assert.ok(Number.isNaN(loss(kind, Infinity, Infinity)));
});

Deno.test("losses: NaN in a row with a target propagates to loss and gradient in every form (the NaN guard must see it)", async () => {
  await initBackend("wasm");
  for (const kind of KINDS) {
    for (const [pos, neg] of [[NaN, 0], [0, NaN]]) {
      const got = lossAndGrads(kind, [pos, 1], [[neg], [0]]);
      assert.ok(Number.isNaN(got.loss), `${kind} loss with pos=${pos} neg=${neg}`);
      assert.ok([...got.dPos, ...got.dNeg].some(Number.isNaN), `${kind} grad with pos=${pos} neg=${neg}`);
    }
  }
});

Deno.test("losses: rows without a target are excluded exactly, even when their scores are NaN or Inf", async () => {
  await initBackend("wasm");
  for (const kind of KINDS) {
    const alone = lossAndGrads(kind, [0.3], [[-0.2, 0.1]]);
    const masked = lossAndGrads(kind, [0.3, NaN, Infinity], [[-0.2, 0.1], [NaN, 1], [-Infinity, 2]], {
      mask: [1, 0, 0],
    });
    assertClose([masked.loss], [alone.loss], 1e-7, `${kind} loss`);
    assertClose(masked.dPos, [alone.dPos[0], 0, 0], 1e-7, `${kind} d/dpos`);
    assertClose(masked.dNeg, [...alone.dNeg, 0, 0, 0, 0], 1e-7, `${kind} d/dneg`);
  }
  assert.equal(lossAndGrads("bce", [1], [[0]], { mask: [0] }).loss, 0, "no target at all: loss 0");
});

Deno.test("losses: mainLoss takes [B, T] / [B, T, K] / mask [B, T] and averages over valid positions", async () => {
  await initBackend("wasm");
  const value = tf.tidy(() => {
    const pos = tf.tensor2d([[1, 2], [3, 4]]);
    const neg = tf.tensor3d([[[0], [0]], [[0], [0]]]);
    const mask = tf.tensor2d([[0, 1], [1, 1]]);
    return mainLoss("bpr_softplus", { pos, neg, mask }).dataSync()[0];
  });
  assertClose([value], [(softplus(-2) + softplus(-3) + softplus(-4)) / 3], 1e-6);
});

Deno.test("losses: totalLoss weights the parts, skips missing and zero-weight parts, adds aux as given", async () => {
  await initBackend("wasm");
  const config = {
    ...defaultConfig(),
    loss: "bpr_softplus" as const,
    retriever_loss: "bce" as const,
    sasrec_loss_weight: 0.5,
    retriever_loss_weight: 0.25,
    fused_loss_weight: 2,
  };
  const sasrec = (softplus(-1) + softplus(-3)) / 2;
  const retriever = (softplus(-2) + softplus(1)) / 2;
  const fused = softplus(-0.5);
  tf.tidy(() => {
    const scores = {
      sasrec: {
        pos: tf.tensor2d([[1, 3]]),
        neg: tf.tensor3d([[[0], [0]]]),
        mask: tf.tensor2d([[1, 1]]),
      },
      retriever: { pos: tf.tensor1d([2]), neg: tf.tensor2d([[1]]) },
      fused: { pos: tf.tensor1d([0.5]), neg: tf.tensor2d([[0]]) },
      aux: { moe_balance: tf.scalar(0.125) },
    };
    const all = totalLoss(scores, lossOptions(config));
    assertClose([all.total.dataSync()[0]], [0.5 * sasrec + 0.25 * retriever + 2 * fused + 0.125], 1e-6, "total");
    assertClose([all.terms.sasrec.dataSync()[0]], [sasrec], 1e-6, "sasrec term is unweighted");
    assert.deepEqual(Object.keys(all.terms), ["sasrec", "retriever", "fused", "moe_balance"]);

    const sasrecOnly = totalLoss({ sasrec: scores.sasrec }, lossOptions(config));
    assert.deepEqual(Object.keys(sasrecOnly.terms), ["sasrec"]);
    assertClose([sasrecOnly.total.dataSync()[0]], [0.5 * sasrec], 1e-6, "sasrec only");

    const noFused = totalLoss(scores, lossOptions({ ...config, fused_loss_weight: 0 }));
    assert.deepEqual(Object.keys(noFused.terms), ["sasrec", "retriever", "moe_balance"]);
    assert.throws(() => totalLoss({ ...scores, aux: { sasrec: tf.scalar(1) } }, lossOptions(config)), /collides/);
  });
  tf.tidy(() => {
    const scores = { retriever: { pos: tf.tensor1d([2]), neg: tf.tensor2d([[1]]) } };
    const softmax = retrieverLoss("softmax", scores.retriever).dataSync()[0];
    assertClose([softmax], [Math.log(Math.exp(2) + Math.exp(1)) - 2], 1e-6, "retriever softmax, temperature 1");
  });
});

Deno.test("losses: cpu and wasm agree on random inputs for every form", async () => {
  const pos = Array.from({ length: 6 }, (_, i) => Math.sin(i * 1.7) * 5);
  const neg = Array.from({ length: 6 }, (_, i) => [Math.cos(i) * 5, Math.sin(i * 0.3 + 1) * 5, -i]);
  const mask = [1, 1, 0, 1, 0, 1];
  const run = () => KINDS.map((kind) => lossAndGrads(kind, pos, neg, { mask, temperature: 0.7 }));
  const cpu = await onBackend("cpu", run);
  const wasm = await onBackend("wasm", run);
  for (let i = 0; i < KINDS.length; i++) {
    assertClose([cpu[i].loss, ...cpu[i].dPos, ...cpu[i].dNeg], [wasm[i].loss, ...wasm[i].dPos, ...wasm[i].dNeg], 1e-5);
  }
});

Deno.test("losses: no tensors leak", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  for (const kind of KINDS) lossAndGrads(kind, [1, 2], [[0, 1], [2, 3]], { mask: [1, 0] });
  assert.equal(tf.memory().numTensors, before);
});
