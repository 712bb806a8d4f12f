/**
 * The quick start (`npm start` = `deno task tour`): on the built-in data it prints the locator's diagnosis of the
 * NaN-era config, trains it with the guard (every batch non-finite) and with the safe mask (finite, with metrics),
 * and writes a report page with the figures; a rerun replaces its own directory, a foreign one is refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScript, tempDir } from "./helpers.ts";

function tour(args: string[]) {
  return runScript("src/cli/tour.ts", args);
}

Deno.test("tour: NaN diagnosis, guarded torch-mask run diverges, safe-mask run completes, report page written", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "tour");
  const first = await tour(["--out", out, "--data-dir", join(dir.path, "data")]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /First NaN value: step 0 \(pretrain_sasrec\), forward pass, layer "block0\.attn", op "softmax"/,
  );
  assert.match(
    first.stdout,
    /torch mask: diverged, (\d+) of \1 batches non-finite \| safe mask: completed, test NDCG@10 0\.\d{4}/,
  );
  assert.match(first.stdout, new RegExp(`report: ${out}/report\\.html`));
  const page = await Deno.readTextFile(join(out, "report.html"));
  assert.equal(page.match(/<svg/g)!.length >= 3, true, "the page embeds the heatmap, the mask and the loss curves");
  for (const f of ["activation_heatmap.svg", "attention_mask.svg", "loss_torch_vs_safe.svg"]) {
    assert.ok((await Deno.stat(join(out, f))).size > 1000, f);
  }
  const summary = JSON.parse(await Deno.readTextFile(join(out, "train_safe", "summary.json")));
  assert.equal(summary.nonfinite_batches, 0);

  const again = await tour(["--out", out, "--data-dir", join(dir.path, "data")]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /replacing the earlier tour/);
  const again2 = JSON.parse(await Deno.readTextFile(join(out, "train_safe", "summary.json")));
  assert.deepEqual(again2.test, summary.test, "same seed, same numbers");

  const foreign = join(dir.path, "foreign");
  await Deno.mkdir(foreign);
  await Deno.writeTextFile(join(foreign, "notes.txt"), "mine");
  const refused = await tour(["--out", foreign]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr.trim(), /^error: --out .*foreign: holds files that are not an earlier tour/);
  assert.equal(await Deno.readTextFile(join(foreign, "notes.txt")), "mine");
});
