/** Sweep files: random search over ranges (sweep_spec.ts), early-termination and retry keys, and their errors. */
import assert from "node:assert/strict";
import { expandGrid, loadGrid } from "../src/experiments/grid.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";

const RANDOM = `base: {dataset: synthetic}
search: random
trials: 30
search_seed: 7
axes:
  sasrec_lr: {log_uniform: [0.0001, 0.01]}
  sasrec_dropout: {uniform: [0, 0.5]}
  sasrec_num_blocks: {int: [1, 3]}
  loss: {choice: [bce, bpr_softplus]}
  attention_mask: [torch, safe]
seeds: [1, 2]
`;

async function writeGrid(dir: string, text: string, name = "sweep.yaml"): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}`, text);
  return `${dir}/${name}`;
}

Deno.test("sweep: random search draws the same distinct trials within their ranges, whatever the key order", async () => {
  await using dir = await tempDir();
  const cells = expandGrid(await loadGrid(await writeGrid(dir.path, RANDOM)));
  assert.equal(cells.length, 60, "30 trials x 2 seeds");
  const trials = cells.filter((c) => c.values.seed === 1).map((c) => c.values);
  assert.equal(new Set(trials.map((t) => JSON.stringify(t))).size, 30);
  for (const t of trials) {
    const [lr, dropout, blocks] = [t.sasrec_lr as number, t.sasrec_dropout as number, t.sasrec_num_blocks as number];
    assert.ok(lr >= 0.0001 && lr <= 0.01, `lr ${lr}`);
    assert.ok(dropout >= 0 && dropout <= 0.5, `dropout ${dropout}`);
    assert.ok([1, 2, 3].includes(blocks), `blocks ${blocks}`);
    assert.ok(
      ["bce", "bpr_softplus"].includes(t.loss as string) && ["torch", "safe"].includes(t.attention_mask as string),
    );
    assert.equal(Number(lr.toPrecision(4)), lr, "floats keep 4 significant digits");
  }
  // log_uniform spreads evenly over decades: about half the draws fall below the geometric middle 1e-3.
  const low = trials.filter((t) => (t.sasrec_lr as number) < 0.001).length;
  assert.ok(low >= 9 && low <= 21, `${low} of 30 below 1e-3`);
  assert.deepEqual(new Set(trials.map((t) => t.sasrec_num_blocks)), new Set([1, 2, 3]));
  // The config of a cell carries its drawn values.
  assert.equal(cells[0].config.sasrec_lr, cells[0].values.sasrec_lr);
  assert.equal(cells[0].config.sasrec_num_blocks, cells[0].values.sasrec_num_blocks);

  const again = expandGrid(await loadGrid(await writeGrid(dir.path, RANDOM, "again.yaml")));
  assert.deepEqual(again.map((c) => c.id), cells.map((c) => c.id));
  const reordered = RANDOM.replace(
    "  sasrec_lr: {log_uniform: [0.0001, 0.01]}\n",
    "",
  ).replace(
    "  attention_mask: [torch, safe]\n",
    "  attention_mask: [torch, safe]\n  sasrec_lr: {log_uniform: [0.0001, 0.01]}\n",
  );
  const shuffled = expandGrid(await loadGrid(await writeGrid(dir.path, reordered, "reordered.yaml")));
  assert.deepEqual(shuffled.map((c) => c.id), cells.map((c) => c.id));
  const otherSeed = expandGrid(
    await loadGrid(await writeGrid(dir.path, RANDOM.replace("search_seed: 7", "search_seed: 8"), "s8.yaml")),
  );
  assert.notDeepEqual(otherSeed.map((c) => c.id), cells.map((c) => c.id));
});

Deno.test("sweep: the drawn trials are pinned (the generator and draw order are part of the file's meaning)", async () => {
  await using dir = await tempDir();
  const grid = await loadGrid(await writeGrid(dir.path, RANDOM));
  assert.deepEqual(grid.trials!.slice(0, 2), PINNED_TRIALS);
  // The levels of each axis are the values the trials use: a choice in file order, a range ascending.
  assert.deepEqual(grid.axes.attention_mask, ["torch", "safe"]);
  const lrs = grid.axes.sasrec_lr as number[];
  assert.deepEqual(lrs, [...lrs].sort((a, b) => a - b));
});

Deno.test("sweep: random search redraws trials an exclusion removes", async () => {
  await using dir = await tempDir();
  const text = `base: {dataset: synthetic}
search: random
trials: 3
axes: {loss: [bce, bpr_softplus], attention_mask: [torch, safe]}
exclude: [{loss: bce, attention_mask: torch}]
seeds: [1]
`;
  const cells = expandGrid(await loadGrid(await writeGrid(dir.path, text)));
  assert.equal(cells.length, 3, "the 3 combinations the exclusion leaves");
  assert.ok(!cells.some((c) => c.values.loss === "bce" && c.values.attention_mask === "torch"));
});

Deno.test("sweep: early_terminate sets every cell's budget to max_epochs; max_failures defaults to 0", async () => {
  await using dir = await tempDir();
  const path = await writeGrid(
    dir.path,
    `base: {dataset: synthetic, epochs_per_stage: 2}
axes: {loss: [bce, bpr_softplus]}
seeds: [1]
early_terminate: {type: asha, min_epochs: 2, reduction_factor: 2, max_epochs: 8}
max_failures: 2
`,
  );
  const grid = await loadGrid(path);
  assert.deepEqual(grid.earlyTerminate, { type: "asha", min_epochs: 2, reduction_factor: 2, max_epochs: 8 });
  assert.equal(grid.maxFailures, 2);
  assert.ok(expandGrid(grid).every((c) => c.config.epochs_per_stage === 8));
  const plain = await loadGrid(await writeGrid(dir.path, "axes: {loss: [bce]}\nseeds: [1]\n", "plain.yaml"));
  assert.equal(plain.maxFailures, 0);
  assert.equal(plain.earlyTerminate, undefined);
});

Deno.test("sweep: bad sweep specs are user errors naming the file and the key", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    ["search: random\naxes: {loss: [bce]}\n", 'bad.yaml: key "trials": search: random needs the number of trials'],
    ["trials: 3\naxes: {loss: [bce]}\n", 'bad.yaml: key "trials": only used with search: random'],
    ["search: bayes\ntrials: 3\naxes: {loss: [bce]}\n", 'bad.yaml: key "search"'],
    [
      "axes: {sasrec_lr: {uniform: [0.001, 0.01]}}\n",
      "bad.yaml: axes.sasrec_lr: expected a list of values (ranges need search: random)",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_lr: {normal: [0, 1]}}\n",
      "bad.yaml: axes.sasrec_lr: expected a list of values or one of {uniform: [a, b]}",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_lr: {uniform: [0.01, 0.001]}}\n",
      "bad.yaml: axes.sasrec_lr.uniform: expected low < high, got [0.01, 0.001]",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_lr: {log_uniform: [0, 0.01]}}\n",
      "bad.yaml: axes.sasrec_lr.log_uniform: expected 0 < low, got 0",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_num_blocks: {int: [1.5, 3]}}\n",
      "bad.yaml: axes.sasrec_num_blocks.int: expected integers, got [1.5, 3]",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_lr: {uniform: [0.001]}}\n",
      "bad.yaml: axes.sasrec_lr.uniform: expected [low, high], two numbers, got [0.001]",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_dropout: {uniform: [0, 1.5]}}\n",
      "bad.yaml: axes.sasrec_dropout.uniform[1]:",
    ],
    [
      "search: random\ntrials: 2\naxes: {loss: {choice: [bce, bce]}}\n",
      'bad.yaml: axes.loss: value "bce" is listed twice',
    ],
    [
      "search: random\ntrials: 5\naxes: {loss: [bce, bpr_softplus]}\n",
      "bad.yaml: trials: 5 distinct trials wanted, only 2 found in 500 draws",
    ],
    [
      "search: random\ntrials: 2\naxes: {sasrec_lr: {uniform: [0.001, 0.01]}}\nexclude: [{sasrec_lr: 0.001}]\n",
      'bad.yaml: exclude[0]: "sasrec_lr" is a range axis',
    ],
    [
      "axes: {loss: [bce]}\nearly_terminate: {type: asha, min_epochs: 1, reduction_factor: 3, max_epochs: 10}\n",
      "bad.yaml: early_terminate.max_epochs: expected min_epochs x reduction_factor^k with k >= 1 (3, 9, ...), got 10",
    ],
    [
      "axes: {loss: [bce]}\nearly_terminate: {type: hyperband, min_epochs: 1, reduction_factor: 3, max_epochs: 9}\n",
      'bad.yaml: early_terminate.type: expected asha, got "hyperband"',
    ],
    [
      "axes: {loss: [bce]}\nearly_terminate: {type: asha, min_epochs: 1, reduction_factor: 1, max_epochs: 9}\n",
      "bad.yaml: early_terminate.reduction_factor: expected an integer >= 2, got 1",
    ],
    [
      "axes: {loss: [bce]}\nearly_terminate: {type: asha, min_epochs: 1, eta: 3, max_epochs: 9}\n",
      'bad.yaml: early_terminate: unknown key "eta"',
    ],
    [
      "axes: {epochs_per_stage: [1, 2]}\n" +
      "early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3, max_epochs: 9}\n",
      "bad.yaml: axes.epochs_per_stage: may not vary in a sweep with early_terminate",
    ],
    ["axes: {loss: [bce]}\nmax_failures: -1\n", 'bad.yaml: key "max_failures"'],
  ];
  for (const [body, message] of cases) {
    const path = await writeGrid(dir.path, `base: {dataset: synthetic}\nseeds: [1]\n${body}`, "bad.yaml");
    await assert.rejects(loadGrid(path), (e: Error) => {
      assert.ok(e instanceof UserError, `${body}: expected a UserError, got ${e}`);
      assert.ok(e.message.startsWith(`${dir.path}/`), e.message);
      assert.ok(e.message.includes(message), `${body}\n  got: ${e.message}\n  expected: ${message}`);
      return true;
    });
  }
});

/** The first two trials of RANDOM, as drawn when this test was written. */
const PINNED_TRIALS: Record<string, unknown>[] = [
  { attention_mask: "torch", loss: "bpr_softplus", sasrec_dropout: 0.2245, sasrec_lr: 0.0002215, sasrec_num_blocks: 2 },
  { attention_mask: "torch", loss: "bpr_softplus", sasrec_dropout: 0.1784, sasrec_lr: 0.004887, sasrec_num_blocks: 1 },
];

Deno.test("sweep: smoke_asha draws 12 of the 16 smoke combinations x 2 seeds; its full grid has all 32 at 9 epochs", async () => {
  const grids = new URL("../configs/grids/", import.meta.url).pathname;
  const sweep = await loadGrid(`${grids}smoke_asha.yaml`);
  const full = await loadGrid(`${grids}smoke_asha_full.yaml`);
  const smoke = await loadGrid(`${grids}nan_ablation_smoke.yaml`);
  assert.deepEqual(Object.keys(sweep.axes), Object.keys(smoke.axes));
  assert.deepEqual(full.axes, smoke.axes);
  const [sweepCells, fullCells] = [expandGrid(sweep), expandGrid(full)];
  assert.equal(sweepCells.length, 24);
  assert.equal(fullCells.length, 32);
  assert.ok(sweepCells.every((c) => c.config.epochs_per_stage === 9 && fullCells.some((f) => f.id === c.id)));
  const same = new Map(fullCells.map((c) => [c.id, c.config]));
  for (const cell of sweepCells) assert.deepEqual(cell.config, same.get(cell.id), cell.id);
});
