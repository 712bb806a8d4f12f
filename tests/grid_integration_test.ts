/** The whole smoke grid (configs/grids/nan_ablation_smoke.yaml) through the real trainer, src/cli/train.ts. */
import assert from "node:assert/strict";
import type { GridSummary } from "../src/experiments/summary.ts";
import { tempDir } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const trainerExists = (() => {
  try {
    return Deno.statSync(`${ROOT}src/cli/train.ts`).isFile;
  } catch {
    return false;
  }
})();
if (!trainerExists) console.warn("grid_integration_test: skipped, src/cli/train.ts does not exist yet");

Deno.test({
  name: `grid integration: nan_ablation_smoke runs 16 cells through train.ts${
    trainerExists ? "" : " (skipped: no src/cli/train.ts)"
  }`,
  ignore: !trainerExists,
  async fn() {
    await using dir = await tempDir();
    const out = `${dir.path}/smoke`;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}src/cli/ablate.ts`,
        "run",
        "--grid",
        `${ROOT}configs/grids/nan_ablation_smoke.yaml`,
        "--out",
        out,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `every cell should complete or diverge:\n${text}`);
    const csv = (await Deno.readTextFile(`${out}/results.csv`)).trim().split("\n");
    assert.equal(csv.length, 17);
    assert.ok(csv.slice(1).every((l) => /,(completed|diverged),/.test(l)), csv.join("\n"));
    const summary: GridSummary = JSON.parse(await Deno.readTextFile(`${out}/grid_summary.json`));
    assert.equal(summary.final_runs, 16);
    const mask = (level: string) => summary.effects.find((e) => e.axis === "attention_mask" && e.level === level)!;
    // Left padding + PyTorch-style -inf masks give fully masked rows (docs/original.md#nan-mechanism); the safe mask
    // never does.
    assert.equal(mask("safe").nan_rate, 0, "the safe mask must never produce a non-finite batch");
    assert.ok(mask("torch").nan_rate! > 0, "the torch mask with left padding should produce non-finite batches");
  },
});
