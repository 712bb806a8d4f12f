import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { sasRecOptions } from "../src/config/resolve.ts";
import type { Config } from "../src/config/schema.ts";
import { LENGTH_GROUP_ROWS, SasRec } from "../src/models/sasrec.ts";
import { dotLastAxis } from "../src/models/scoring.ts";
import { statePositions } from "../src/models/sequence.ts";
import { Rng } from "../src/rng.ts";
import { UserError } from "../src/util/errors.ts";
import { assertClose, onBackend } from "./helpers.ts";
import {
  assertBackendsAgree,
  assertFiniteDifferences,
  CaptureProbe,
  disposeScores,
  evalBatch,
  lossAndGrads,
  take,
  tinyConfig,
  trainBatch,
  variable,
} from "./models_fixtures.ts";

const N = 12;
const T = 6;
/** Sequences of 7, 5 and 3 items: inputs of 6 (no pad), 4 (2 pads) and 2 (4 pads). */
const SEQUENCES = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12], [3, 5, 7]];

function model(overrides: Partial<Config> = {}, seed = 1): SasRec {
  return new SasRec(sasRecOptions(tinyConfig(overrides)), N, new Rng(seed));
}

/** Which [B, T] cells of a captured [B, T, ...] tensor hold a NaN, as strings of "N" and ".". */
function nanRows(capture: { shape: number[]; values: Float32Array }): string[] {
  const [b, t] = capture.shape;
  const inner = capture.values.length / (b * t);
  return Array.from({ length: b }, (_, row) =>
    Array.from({ length: t }, (_, pos) => {
      const cell = capture.values.subarray((row * t + pos) * inner, (row * t + pos + 1) * inner);
      return cell.some(Number.isNaN) ? "N" : ".";
    }).join(""));
}

Deno.test("sasrec: shapes of training, candidate and full-ranking scores; mask marks targets", async () => {
  await onBackend("cpu", () => {
    const m = model();
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N, numNegatives: 3 });
    const scores = m.trainScores(batch);
    assert.deepEqual(scores.sasrec!.pos.shape, [3, T]);
    assert.deepEqual(scores.sasrec!.neg.shape, [3, T, 3]);
    assert.deepEqual(Array.from(scores.sasrec!.mask.dataSync()), [
      ...[1, 1, 1, 1, 1, 1],
      ...[0, 0, 1, 1, 1, 1],
      ...[0, 0, 0, 0, 1, 1],
    ]);
    disposeScores(scores);
    const eb = evalBatch([[1, 2], [3, 4, 5]], { seqLen: T, candidates: [[1, 2, 3, 4], [5, 6, 7, 8]] });
    assert.deepEqual(m.scoreCandidates(eb).shape, [2, 4]);
    assert.deepEqual(m.scoreAll(eb).shape, [2, N + 1]);
    m.dispose();
  });
});

Deno.test("sasrec: gradients match central finite differences (post and pre norm, cpu)", async () => {
  await onBackend("cpu", () => {
    for (const norm of ["post", "pre"] as const) {
      const m = model({ norm, emb_scale: norm === "pre" });
      const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
      const { grads } = lossAndGrads(m, batch);
      const names = [
        "sasrec/item_emb",
        "sasrec/pos_emb",
        "sasrec/block0/attn/q/w",
        "sasrec/block1/ffn/inner/w",
        "sasrec/block0/ln1/gamma",
        "sasrec/final_ln/beta",
      ];
      assertFiniteDifferences(norm, m, batch, grads, names, { minGrad: 1e-3, atol: 2e-3 });
      m.dispose();
    }
  });
});

Deno.test("sasrec torch mask: NaN exactly on left-padded pad rows after one block, everywhere in padded rows after two (cpu, wasm)", async () => {
  const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
  const eb = evalBatch(SEQUENCES.map((s) => s.slice(0, -1)), { seqLen: T });
  const expected: Record<number, string[]> = {
    1: ["......", "NN....", "NNNN.."],
    2: ["......", "NNNNNN", "NNNNNN"],
  };
  for (const backend of ["cpu", "wasm"] as const) {
    await onBackend(backend, () => {
      for (const blocks of [1, 2]) {
        const m = model({ attention_mask: "torch", norm: "post", sasrec_num_blocks: blocks, sasrec_dropout: 0.2 });
        const train = new CaptureProbe();
        disposeScores(m.trainScores(batch, { probe: train }));
        const evalProbe = new CaptureProbe();
        m.scoreAll(eb, { probe: evalProbe }).dispose();
        for (const [mode, probe] of [["train", train], ["eval", evalProbe]] as const) {
          const where = `${backend}, ${blocks} block(s), ${mode}`;
          const last = `block${blocks - 1}`;
          for (const name of [`${last}.ffn`, `${last}.out`, "final_ln.out"]) {
            assert.deepEqual(nanRows(probe.get(name)), expected[blocks], `${where}: ${name}`);
          }
          // logits before the mask are finite; the softmax of a row whose keys are all masked is 0/0
          assert.ok(probe.get("block0.attn.scores").values.every(Number.isFinite), `${where}: scores`);
          const softmax = probe.get("block0.attn.softmax").values; // [B, H=2, T, T]: head 0 rows per query
          const queries = [0, 1, 2].map((b) =>
            Array.from({ length: T }, (_, t) => {
              const row = softmax.subarray((b * 2 * T + t) * T, (b * 2 * T + t + 1) * T);
              return row.every(Number.isNaN) ? "N" : row.some(Number.isNaN) ? "?" : ".";
            }).join("")
          );
          assert.deepEqual(queries, expected[1], `${where}: softmax rows`);
        }
        assert.deepEqual(nanRows(train.get("logits.train")), expected[blocks], `${backend} train logits`);
        m.dispose();
      }
    });
  }
});

Deno.test("sasrec torch mask + nan_to_zero (the original's patch): forward finite, attention weight gradients NaN", async () => {
  await onBackend("cpu", () => {
    const m = model({ attention_mask: "torch", norm: "post", sasrec_num_blocks: 1, nan_to_zero: true });
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const { loss, grads } = lossAndGrads(m, batch);
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
    for (const w of ["q", "k", "v"]) {
      assert.ok(grads.get(`sasrec/block0/attn/${w}/w`)!.some(Number.isNaN), `${w} gradient has NaN`);
    }
    m.dispose();
  });
});

Deno.test("sasrec safe mask: finite scores and gradients for every length 0..T, both paddings, train and eval", async () => {
  await onBackend("cpu", () => {
    for (const padding of ["left", "right"] as const) {
      for (const norm of ["post", "pre"] as const) {
        const m = model({ norm, sasrec_dropout: 0.3 });
        const sequences = Array.from({ length: T + 1 }, (_, len) => Array.from({ length: len + 1 }, (_, i) => 1 + i));
        const batch = trainBatch(sequences, { seqLen: T, numItems: N, padding });
        const { loss, grads } = lossAndGrads(m, batch);
        assert.ok(Number.isFinite(loss), `${padding}/${norm}: loss ${loss}`);
        for (const [name, g] of grads) assert.ok(g.every(Number.isFinite), `${padding}/${norm}: ${name} gradient`);
        const eb = evalBatch(sequences.map((s) => s.slice(0, -1)), { seqLen: T, padding });
        assert.ok(take(m.scoreAll(eb)).every(Number.isFinite), `${padding}/${norm}: eval scores`);
        m.dispose();
      }
    }
  });
});

Deno.test("sasrec state position: last reads the last item for both paddings; stale reads index len-1 (F2)", async () => {
  await onBackend("cpu", () => {
    const rows = [[4, 5, 6], [4, 5, 7]]; // differ only in the last item
    for (const padding of ["left", "right"] as const) {
      for (const state of ["last", "stale"] as const) {
        const m = model({ state_position: state });
        const probe = new CaptureProbe();
        const scores = take(m.scoreAll(evalBatch(rows, { seqLen: T, padding }), { probe }));
        const hidden = probe.get("final_ln.out").values; // [2, T, d]
        const read = state === "stale" || padding === "right" ? 2 : T - 1;
        const emb = variable(m, "sasrec/item_emb").arraySync() as number[][];
        const d = 8;
        const expected = [0, 1].flatMap((b) =>
          emb.map((e) => e.reduce((s, x, j) => s + x * hidden[(b * T + read) * d + j], 0))
        );
        assertClose(scores, expected, 1e-5, `${padding}/${state} scores = hidden[${read}] · E`);
        const same = scores.slice(0, N + 1).every((v, i) => Math.abs(v - scores[N + 1 + i]) < 1e-6);
        assert.equal(same, state === "stale" && padding === "left", `${padding}/${state}: last item seen?`);
        m.dispose();
      }
    }
  });
});

Deno.test("sasrec parameter count: the spec formula (N+1)d + Td + blocks(6d²+10d) + 2d, 5,622,272 for d=512", async () => {
  await onBackend("cpu", () => {
    const formula = (n: number, d: number, t: number, blocks: number) =>
      (n + 1) * d + t * d + blocks * (6 * d * d + 10 * d) + 2 * d;
    const original = new SasRec(
      sasRecOptions(
        tinyConfig({
          sasrec_hidden_dim: 512,
          sasrec_num_blocks: 3,
          sasrec_num_heads: 8,
          max_seq_len: 50,
          norm: "post",
        }),
      ),
      1682,
      new Rng(0),
    );
    assert.equal(formula(1682, 512, 50, 3), 5_622_272);
    assert.deepEqual(original.parameterCounts(), { sasrec: 5_622_272 });
    original.dispose();
    const wide = model({ sasrec_ffn_dim: 20 });
    const d = 8, f = 20;
    assert.equal(wide.parameterCounts().sasrec, formula(N, d, T, 2) + 2 * (2 * d * f + f + d - (2 * d * d + 2 * d)));
    wide.dispose();
  });
});

Deno.test("sasrec dropout depends only on batch.seed; eval has none", async () => {
  await onBackend("cpu", () => {
    const m = model({ sasrec_dropout: 0.3 });
    const run = (seed: number) => {
      const scores = m.trainScores(trainBatch(SEQUENCES, { seqLen: T, numItems: N, seed }));
      const pos = Array.from(scores.sasrec!.pos.dataSync());
      disposeScores(scores);
      return pos;
    };
    assert.deepEqual(run(3), run(3));
    assert.notDeepEqual(run(3), run(4));
    const eb = evalBatch([[1, 2, 3]], { seqLen: T });
    assert.deepEqual(Array.from(take(m.scoreAll(eb))), Array.from(take(m.scoreAll(eb))));
    m.dispose();
  });
});

Deno.test("sasrec: wasm and cpu agree on scores and gradients (< 1e-4), with dropout", async () => {
  const run = () => {
    const m = model({ sasrec_dropout: 0.2, norm: "post" }, 7);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const { loss, grads } = lossAndGrads(m, batch);
    const eb = evalBatch(SEQUENCES.map((s) => s.slice(0, -1)), { seqLen: T });
    const all = take(m.scoreAll(eb));
    m.dispose();
    return { loss, grads, all };
  };
  await assertBackendsAgree(run);
});

/** Asserts that training steps and both scoring calls of `m` leave the tensor count flat (after one warm-up). */
function assertStepsDoNotLeak(m: SasRec, what = "tensors"): void {
  const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
  const eb = evalBatch([[1, 2], [3]], { seqLen: T, candidates: [[1, 2], [3, 4]] });
  const step = () => {
    lossAndGrads(m, batch);
    m.scoreAll(eb).dispose();
    m.scoreCandidates(eb).dispose();
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before, what);
}

Deno.test("sasrec: no tensors leak across training steps and evaluation (wasm)", async () => {
  await onBackend("wasm", () => {
    const m = model({ sasrec_dropout: 0.2 });
    assertStepsDoNotLeak(m);
    m.dispose();
  });
});

Deno.test("sasrec user states (last block on the state rows, length groups) equal those rows of the full pass", async () => {
  // 40 rows: two length groups of LENGTH_GROUP_ROWS (32) with different widths, empty rows included
  const more = Array.from({ length: 36 }, (_, i) => Array.from({ length: i % 7 }, (_, j) => 1 + ((i + j) % N)));
  const sequences = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12], [3, 5, 7], [4], ...more];
  assert.ok(sequences.length > LENGTH_GROUP_ROWS);
  for (const backend of ["cpu", "wasm"] as const) {
    await onBackend(backend, () => {
      for (const padding of ["left", "right"] as const) {
        for (const norm of ["post", "pre"] as const) {
          for (const state of ["last", "stale"] as const) {
            for (const mask of ["safe", "torch"] as const) {
              const m = model({ norm, state_position: state, attention_mask: mask, sasrec_num_blocks: 2 });
              const eb = evalBatch(sequences, { seqLen: T, padding });
              const ctx = m.context(false);
              const fast = take(m.userStates(ctx, eb));
              const hidden = m.encode(ctx, eb);
              const positions = statePositions(eb, state);
              const full = take(m.gatherPositions(hidden, positions));
              hidden.dispose();
              const where = `${backend} ${padding}/${norm}/${state}/${mask}`;
              assert.deepEqual(
                Array.from(fast, Number.isNaN),
                Array.from(full, Number.isNaN),
                `${where}: NaN in the same places`,
              );
              assertClose(fast.map((v) => v || 0), full.map((v) => v || 0), 1e-5, where);
              assert.ok(full.some(Number.isFinite), where);
              m.dispose();
            }
          }
        }
      }
    });
  }
});

/** Item texts [N + 1, dim] from rows for items 1..N (row 0 = padding, zeros). */
function itemTexts(dim: number, row: (item: number) => number[]) {
  const item = new Float32Array((N + 1) * dim);
  for (let i = 1; i <= N; i++) item.set(row(i), i * dim);
  return { dim, item };
}

Deno.test("sasrec text_use=embedding_init: the item embeddings start as the texts rescaled to the init std, row 0 zero", async () => {
  await onBackend("cpu", () => {
    // dim = d = 8: no projection. Item i's text is 2 at position i mod 8: the mean square of rows 1..N is 4 / 8, so
    // the rms is sqrt(0.5) and the scale to std 0.5 is 0.5 / sqrt(0.5): every non-zero entry becomes sqrt(2)
    const texts = itemTexts(8, (i) => Array.from({ length: 8 }, (_, j) => (j === i % 8 ? 2 : 0)));
    const m = new SasRec(sasRecOptions(tinyConfig({ text_use: "embedding_init" })), N, new Rng(1), texts);
    const emb = variable(m, "sasrec/item_emb").arraySync() as number[][];
    assert.deepEqual(emb[0], new Array(8).fill(0));
    for (let i = 1; i <= N; i++) {
      assertClose(emb[i], Array.from({ length: 8 }, (_, j) => (j === i % 8 ? Math.SQRT2 : 0)), 1e-6, `row ${i}`);
    }
    m.dispose();
    // dim 3 != d: a fixed linear projection, so linear relations between texts hold between rows; rms = init std
    const base = [[1, 0, 0.5], [0, 1, -1]];
    const combo = (i: number) => base[0].map((x, k) => (i % 3) * x + (i % 4) * base[1][k]);
    const projected = new SasRec(
      sasRecOptions(tinyConfig({ text_use: "embedding_init" })),
      N,
      new Rng(1),
      itemTexts(3, combo),
    );
    const rows = variable(projected, "sasrec/item_emb").arraySync() as number[][];
    const [e1, e4] = [rows[1], rows[4]]; // item 1 = 1·b0 + 1·b1, item 4 = 1·b0 + 0·b1
    const e2 = rows[2]; // 2·b0 + 2·b1
    assertClose(e2, e1.map((x) => 2 * x), 1e-6, "item 2 = 2 · item 1");
    assertClose(rows[5], e1.map((x, j) => x + e4[j]), 1e-6, "item 5 = 2·b0 + 1·b1 = item 1 + item 4");
    const entries = rows.slice(1).flat();
    assertClose([Math.sqrt(entries.reduce((s, x) => s + x * x, 0) / entries.length)], [0.5], 1e-6, "rms");
    const again = new SasRec(
      sasRecOptions(tinyConfig({ text_use: "embedding_init" })),
      N,
      new Rng(1),
      itemTexts(3, combo),
    );
    assert.deepEqual(variable(again, "sasrec/item_emb").dataSync(), variable(projected, "sasrec/item_emb").dataSync());
    projected.dispose();
    again.dispose();
  });
});

const SIDE_TEXTS = itemTexts(5, (i) => Array.from({ length: 5 }, (_, k) => Math.sin(i * (k + 1))));

Deno.test("sasrec text_use=side_feature: input = (ID embedding + text · W) · sqrt(d); W = 0 gives plain SASRec", async () => {
  await onBackend("cpu", () => {
    const side = new SasRec(sasRecOptions(tinyConfig({ text_use: "side_feature" })), N, new Rng(1), SIDE_TEXTS);
    const plain = new SasRec(sasRecOptions(tinyConfig()), N, new Rng(1));
    assert.equal(side.parameterCounts().sasrec - plain.parameterCounts().sasrec, 5 * 8, "W is [E, d]");
    const eb = evalBatch([[1, 2], [3, 4, 5]], { seqLen: T });
    const w = variable(side, "sasrec/text_side/w");
    const trained = w.clone();
    w.assign(tf.zeros(w.shape));
    assert.deepEqual(take(side.scoreAll(eb)), take(plain.scoreAll(eb)));
    w.assign(trained);
    const [withText, without] = [new CaptureProbe(), new CaptureProbe()];
    take(side.scoreAll(eb, { probe: withText }));
    take(plain.scoreAll(eb, { probe: without }));
    // row 1, last position holds item 5: the difference of the embedding sums is (t_5 W) · sqrt(8)
    const cell = (p: CaptureProbe) => p.get("emb.sum").values.subarray((T + T - 1) * 8, 2 * T * 8);
    const wRows = trained.arraySync() as number[][];
    const t5 = SIDE_TEXTS.item.subarray(5 * 5, 6 * 5);
    const expected = Array.from({ length: 8 }, (_, j) => t5.reduce((s, x, k) => s + x * wRows[k][j], 0) * Math.sqrt(8));
    assertClose(cell(withText).map((x, j) => x - cell(without)[j]), expected, 1e-5, "text term");
    trained.dispose();
    side.dispose();
    plain.dispose();
  });
});

Deno.test("sasrec text_use=side_feature: gradients match finite differences; wasm agrees with cpu; no tensors leak", async () => {
  await onBackend("cpu", () => {
    const m = new SasRec(sasRecOptions(tinyConfig({ text_use: "side_feature" })), N, new Rng(2), SIDE_TEXTS);
    const batch = trainBatch(SEQUENCES, { seqLen: T, numItems: N });
    const { grads } = lossAndGrads(m, batch);
    const names = ["sasrec/text_side/w", "sasrec/item_emb", "sasrec/block0/attn/q/w"];
    assertFiniteDifferences("side_feature", m, batch, grads, names, { minGrad: 1e-3, atol: 2e-3 });
    m.dispose();
  });
  const run = () => {
    const m = new SasRec(
      sasRecOptions(tinyConfig({ text_use: "side_feature", sasrec_dropout: 0.2 })),
      N,
      new Rng(7),
      SIDE_TEXTS,
    );
    const { loss, grads } = lossAndGrads(m, trainBatch(SEQUENCES, { seqLen: T, numItems: N }));
    const all = take(m.scoreAll(evalBatch(SEQUENCES.map((s) => s.slice(0, -1)), { seqLen: T })));
    m.dispose();
    return { loss, grads, all };
  };
  await assertBackendsAgree(run);
  await onBackend("wasm", () => {
    const before = tf.memory().numTensors;
    for (const textUse of ["side_feature", "embedding_init"] as const) {
      const m = new SasRec(sasRecOptions(tinyConfig({ text_use: textUse })), N, new Rng(3), SIDE_TEXTS);
      assertStepsDoNotLeak(m, textUse);
      m.dispose();
    }
    assert.equal(tf.memory().numTensors, before, "dispose frees the text table");
  });
});

Deno.test("sasrec text_use without item texts is a user error", () => {
  assert.throws(
    () => new SasRec(sasRecOptions(tinyConfig({ text_use: "side_feature" })), N, new Rng(1)),
    (e: Error) =>
      e instanceof UserError && e.message === "text_use=side_feature needs the item text vectors, but none were given",
  );
});

Deno.test("dotLastAxis: values and both gradients equal autodiff's, on cpu and wasm, NaN, a state per row", async () => {
  for (const [backend, stateRows] of [["cpu", 4], ["wasm", 4], ["wasm", 1]] as const) {
    await onBackend(backend, () => {
      const rng = new Rng(21);
      const values = (n: number) => Array.from({ length: n }, () => rng.normal());
      const embValues = values(3 * 4 * 2 * 5);
      embValues[7] = NaN; // one NaN embedding entry: its logit and the gradients that read it are NaN either way
      const emb = tf.tensor4d(embValues, [3, 4, 2, 5]);
      const states = tf.tensor3d(values(3 * stateRows * 5), [3, stateRows, 5]); // [B, T, d] or one state per row
      const dy = tf.tensor3d(values(3 * 4 * 2), [3, 4, 2]);
      const plain = (e: tf.Tensor, st: tf.Tensor) => e.mul(st.expandDims(2)).sum(-1);
      const ours = (e: tf.Tensor, st: tf.Tensor) => dotLastAxis(e as tf.Tensor4D, st as tf.Tensor3D);
      const run = (f: (e: tf.Tensor, st: tf.Tensor) => tf.Tensor) =>
        [f(emb, states), ...tf.grads((e: tf.Tensor, st: tf.Tensor) => f(e, st).mul(dy).sum())([emb, states])]
          .map((t) => Array.from(t.dataSync()));
      const [got, want] = [run(ours), run(plain)];
      ["logits", "d emb", "d states"].forEach((what, i) => {
        const at = `${backend}, ${stateRows} state row(s): ${what}`;
        assert.deepEqual(got[i].map(Number.isNaN), want[i].map(Number.isNaN), `${at}: NaN positions`);
        assertClose(got[i].map((v) => v || 0), want[i].map((v) => v || 0), 1e-5, at);
      });
    });
  }
});
