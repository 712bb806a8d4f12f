/// <reference lib="dom" />
/** Charts, tables and exports of src/viz: mark counts match the data, legends and PNGs are real images. */
import assert from "node:assert/strict";
import { DOMParser } from "linkedom";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";
import * as dfd from "danfojs";
import type { FirstNonfinite, ProbeStat, StepRecord } from "../src/run/records.ts";
import type { MeanCi } from "../src/experiments/summary.ts";
import { createDocument, encodePng, parseColor } from "../src/viz/dom.ts";
import { JUPYTER_DISPLAY, renderPng, savePng, saveSvg, show, standaloneSvg } from "../src/viz/display.ts";
import {
  ablationNanRate,
  ablationNdcg,
  type AblationRow,
  mainEffects,
  modelComparison,
} from "../src/viz/grid_charts.ts";
import {
  activationHeatmap,
  attentionMask,
  attentionMaskChart,
  paddingChart,
  probeValue,
} from "../src/viz/nan_charts.ts";
import { flaggedSteps, gradNormCurves, learningRateCurves, lossCurves } from "../src/viz/plots.ts";
import { formatCell, table, tableHtml, tableText } from "../src/viz/tables.ts";
import { tempDir } from "./helpers.ts";

/** Elements `tag` inside the mark groups labelled `mark` (Plot labels each mark's <g> with aria-label). */
function marks(chart: Element, mark: string, tag: string): Element[] {
  return [...chart.querySelectorAll(`g[aria-label="${mark}"] ${tag}`)];
}

/** An element's presentation attribute, or its mark group's (Plot sets constant colours on the group). */
function attr(el: Element, name: string): string | null {
  return el.getAttribute(name) ?? el.parentElement?.getAttribute(name) ?? null;
}

/** Decodes a PNG written by `encodePng` (8-bit RGBA, filter 0) into width, height and pixels. */
function decodePng(png: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const idat: Uint8Array[] = [];
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    if (type === "IDAT") idat.push(png.subarray(at + 8, at + 8 + length));
    at += length + 12;
  }
  const rows = inflateSync(Buffer.concat(idat));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(rows[y * (width * 4 + 1)], 0, "filter byte");
    rgba.set(rows.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, rgba };
}

/** 20 steps over stages "a" (0-9) and "b" (10-19); step 5 was skipped with a non-finite total loss. */
function fixtureSteps(): StepRecord[] {
  return Array.from({ length: 20 }, (_, i) => ({
    type: "step",
    stage: i < 10 ? "a" : "b",
    epoch: 0,
    step: i % 10,
    global_step: i,
    loss: { total: i === 5 ? null : 2 / (i + 1), bpr: 1 / (i + 1) },
    grad_norm: { sasrec: 1 + i, retriever: i === 12 ? 0 : 0.5 },
    lr: { sasrec: 1e-3 },
    nonfinite: { loss: i === 5 ? 1 : 0, grads: 0 },
    action: i === 5 ? "skipped" : "ok",
  }));
}

Deno.test("lossCurves: one line per term and stage, a gap at the null loss, a rule at the skipped step", () => {
  const steps = fixtureSteps();
  const chart = lossCurves(steps);
  const lines = marks(chart, "line", "path");
  assert.equal(lines.length, 4, "2 terms x 2 stages");
  const moves = lines.map((p) => (p.getAttribute("d")!.match(/M/g) ?? []).length).sort();
  assert.deepEqual(moves, [1, 1, 1, 2], "only stage a's total is broken by the null");
  const rules = marks(chart, "rule", "line");
  assert.equal(rules.length, 1);
  assert.match(rules[0].parentElement!.outerHTML, /step 5: skipped/);
  assert.deepEqual(flaggedSteps(steps).map((s) => s.global_step), [5]);
});

Deno.test("gradNormCurves drops the zero norm on its log scale; learningRateCurves draws one line per stage", () => {
  const grads = marks(gradNormCurves(fixtureSteps()), "line", "path");
  assert.equal(grads.length, 4, "2 modules x 2 stages");
  const moves = grads.map((p) => (p.getAttribute("d")!.match(/M/g) ?? []).length).sort();
  assert.deepEqual(moves, [1, 1, 1, 2], "stage b's retriever line breaks at the zero");
  assert.equal(marks(learningRateCurves(fixtureSteps()), "line", "path").length, 2);
});

/** 4 steps x 3 layers; block1 at step 3 went non-finite (stats null). */
function fixtureProbes(): ProbeStat[] {
  return [0, 1, 2, 3].flatMap((step) =>
    ["emb", "block0", "block1"].map((layer) => {
      const bad = step === 3 && layer === "block1";
      return {
        step,
        phase: "forward" as const,
        layer,
        op: "out",
        min: bad ? null : -step,
        max: bad ? null : 10 * step,
        mean: bad ? null : 0,
        std: bad ? null : 1,
        nonfinite: bad ? 7 : 0,
        nan: bad ? 7 : 0,
        posinf: 0,
        neginf: 0,
        size: 10,
      };
    })
  );
}

const FIRST: FirstNonfinite = {
  kind: "nan",
  step: 3,
  stage: "pretrain_sasrec",
  phase: "forward",
  layer: "block1",
  op: "out",
  count: 7,
  shape: [2, 5],
  rows: [0],
  positions: [0, 1],
  row_padding: [3],
  all_in_padding: true,
};

Deno.test("activationHeatmap: a cell per finite probe, red non-finite cells, the first one outlined", () => {
  const probes = fixtureProbes();
  assert.equal(probeValue(probes[3], "absmax"), 10, "step 1 emb: max(|-1|, |10|)");
  const chart = activationHeatmap(probes, { first: FIRST });
  const cells = marks(chart, "cell", "rect");
  assert.equal(cells.length, 11 + 1 + 1, "11 finite probes, 1 non-finite, 1 outline");
  assert.equal(cells.filter((r) => attr(r, "fill") === "#d62728").length, 1);
  assert.equal(cells.filter((r) => attr(r, "stroke") === "black").length, 1);
  assert.match(chart.outerHTML, /First non-finite: step 3, forward block1\/out/);
});

Deno.test("continuous colour legend: the ramp is a 256x1 PNG data URL running through viridis", () => {
  const chart = activationHeatmap(fixtureProbes());
  const href = chart.querySelector("image")?.getAttribute("href") ?? ""; // xlink:href, as linkedom names it
  assert.match(href, /^data:image\/png;base64,/);
  const { width, height, rgba } = decodePng(Uint8Array.from(atob(href.split(",")[1]), (c) => c.charCodeAt(0)));
  assert.deepEqual([width, height], [256, 1]);
  assert.deepEqual([...rgba.subarray(0, 4)], [0x44, 0x01, 0x54, 255], "viridis(0) = #440154");
  assert.deepEqual([...rgba.subarray(255 * 4, 256 * 4)], [0xfd, 0xe7, 0x25, 255], "viridis(1) = #fde725");
});

Deno.test("attentionMask: causal + key padding; left padding fully masks the pad query rows", () => {
  const left = attentionMask(4, 2, "left");
  assert.deepEqual(left.map((row) => row.map(Number).join("")), ["0000", "0000", "0010", "0011"]);
  const right = attentionMask(4, 1, "right");
  assert.deepEqual(right.map((row) => row.map(Number).join("")), ["1000", "1100", "1110", "1110"]);
});

Deno.test("attentionMaskChart: T*T cells, red exactly on the fully masked rows", () => {
  const cells = marks(attentionMaskChart({ seqLen: 6, pads: 2, side: "left" }), "cell", "rect");
  assert.equal(cells.length, 36);
  const fills = cells.map((r) => attr(r, "fill"));
  assert.equal(fills.filter((f) => f === "#d62728").length, 12, "query rows 0 and 1");
  assert.equal(fills.filter((f) => f === "#4c78a8").length, 1 + 2 + 3 + 4, "allowed: keys 2..q for q = 2..5");
});

Deno.test("paddingChart: a bar per row, flagged rows in red", () => {
  const bars = marks(
    paddingChart({ side: "left", pads_per_row: [3, 0, 5, 1], seq_len: 6 }, { highlightRows: [2] }),
    "bar",
    "rect",
  );
  assert.equal(bars.length, 4);
  assert.deepEqual(bars.map((r) => attr(r, "fill")), ["#4c78a8", "#4c78a8", "#d62728", "#4c78a8"]);
});

/** A mean with a 95% half-width from three seeds, or one seed (no interval) with `ci95` null. */
function score(mean: number | null, ci95: number | null): MeanCi {
  return { mean, ci95, n: mean === null ? 0 : ci95 === null ? 1 : 3 };
}

const ABLATION: AblationRow[] = [
  { cell: "left/torch", values: { padding: "left", mask: "torch" }, nan_rate: 1, ndcg10: score(null, null) },
  { cell: "left/safe", values: { padding: "left", mask: "safe" }, nan_rate: 0, ndcg10: score(0.05, 0.01) },
  { cell: "right/torch", values: { padding: "right", mask: "torch" }, nan_rate: 0.2, ndcg10: score(0.06, null) },
  { cell: "right/safe", values: { padding: "right", mask: "safe" }, nan_rate: 0, ndcg10: score(0.07, 0.01) },
];

Deno.test("ablation charts: a NaN-rate bar per cell, NDCG dots for the cells with a value, CI bars where known", () => {
  assert.equal(marks(ablationNanRate(ABLATION), "bar", "rect").length, 4);
  const ndcg = ablationNdcg(ABLATION);
  assert.equal(marks(ndcg, "dot", "circle").length, 3, "left/torch has no NDCG");
  const rules = marks(ndcg, "rule", "line");
  assert.equal(rules.length, 2, "right/torch has one seed: no interval bar");
  const widths = rules.map((r) => Number(attr(r, "x2")) - Number(attr(r, "x1")));
  assert.ok(Math.abs(widths[0] - widths[1]) < 1e-9 && widths[0] > 0, `equal half-widths draw equal bars: ${widths}`);
});

Deno.test("mainEffects: a dot per point, one line per axis, the metric on the y axis, options override", () => {
  const points = [
    { axis: "padding", level: "left", mean: 0.05 },
    { axis: "padding", level: "right", mean: 0.065 },
    { axis: "mask", level: "torch", mean: 0.06 },
    { axis: "mask", level: "safe", mean: 0.06 },
  ];
  const chart = mainEffects(points, { metric: "NaN rate", title: "Main effects" });
  assert.equal(marks(chart, "dot", "circle").length, 4);
  assert.equal(marks(chart, "line", "path").length, 2, "one line per axis");
  assert.ok(chart.outerHTML.includes("mean NaN rate"), "y label names the metric");
  assert.ok(chart.outerHTML.includes("Main effects"), "the title option reaches Plot");
});

Deno.test("modelComparison: a bar per model and metric, CI bars only where given", () => {
  const chart = modelComparison([
    { model: "UR4Rec", metric: "NDCG@10", score: score(0.07, 0.01) },
    { model: "Popularity", metric: "NDCG@10", score: score(0.03, null) },
    { model: "BPR-MF", metric: "NDCG@10", score: score(0.05, 0.005) },
    { model: "UR4Rec", metric: "HR@10", score: score(0.12, 0.02) },
    { model: "Popularity", metric: "HR@10", score: score(0.06, null) },
    { model: "BPR-MF", metric: "HR@10", score: score(0.09, 0.01) },
  ]);
  assert.equal(marks(chart, "bar", "rect").length, 6);
  assert.equal(marks(chart, "rule", "line").length, 4 + 2, "4 CI bars + the x=0 rule in each of 2 facets");
});

Deno.test("modelComparison saved as SVG names every model, each metric and the axis with what was averaged", () => {
  const rows = ["Popularity", "SASRec", "UR4Rec (fixed, leak_free)"].flatMap((model, i) =>
    ["test NDCG@10", "test HR@10"].map((metric) => ({ model, metric, score: score(0.1 * (i + 1), 0.01) }))
  );
  const chart = modelComparison(rows, { title: "Test metrics per model", subtitle: "ML-100K, leave-one-out" });
  const svg = new DOMParser().parseFromString(standaloneSvg(chart), "image/svg+xml") as unknown as Document;
  const texts = [...svg.querySelectorAll("text")].map((t) => t.textContent ?? "");
  for (const name of ["Popularity", "SASRec", "UR4Rec (fixed, leak_free)", "test NDCG@10", "test HR@10"]) {
    assert.ok(texts.includes(name), `${name} in ${JSON.stringify(texts)}`);
  }
  assert.ok(texts.some((t) => t.startsWith("test metric (mean over 3 seeds, 95% CI)")), "x axis: quantity and unit");
  const fewer = modelComparison([...rows, {
    model: "UR4Rec (shipped)",
    metric: "test HR@10",
    score: { ...score(0.2, 0.1), n: 2 },
  }]);
  const fewerTexts = [...(new DOMParser().parseFromString(standaloneSvg(fewer), "image/svg+xml") as unknown as Document)
    .querySelectorAll("text")].map((t) => t.textContent ?? "");
  assert.ok(
    fewerTexts.some((t) => t.startsWith("test metric (mean over 2-3 seeds, 95% CI)")),
    "groups with fewer seeds",
  );
  assert.ok(texts.includes("Test metrics per model") && texts.includes("ML-100K, leave-one-out"), "title, subtitle");
  const legend = mainEffects([{ axis: "padding", level: "left", mean: 0.5 }, { axis: "mask", level: "safe", mean: 1 }]);
  const legendTexts = [
    ...new DOMParser().parseFromString(standaloneSvg(legend), "image/svg+xml").querySelectorAll("text"),
  ]
    .map((t) => t.textContent);
  assert.ok(legendTexts.includes("padding") && legendTexts.includes("mask"), "swatch legends are kept in saved SVGs");
});

Deno.test("show wraps a chart as text/html for the Jupyter kernel", () => {
  const chart = lossCurves(fixtureSteps());
  const bundle = show(chart)[JUPYTER_DISPLAY]();
  assert.equal(bundle["text/plain"], "[plot]");
  assert.equal(bundle["text/html"], chart.outerHTML);
  assert.match(bundle["text/html"], /^<figure/);
  assert.equal(show("<b>x</b>")[JUPYTER_DISPLAY]()["text/html"], "<b>x</b>");
});

Deno.test("saveSvg/savePng: standalone chart svg with xmlns; PNG signature and the chart's size", async () => {
  await using dir = await tempDir();
  const chart = lossCurves(fixtureSteps());
  await saveSvg(chart, join(dir.path, "sub", "loss.svg"));
  const svg = await Deno.readTextFile(join(dir.path, "sub", "loss.svg"));
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.trimEnd(), standaloneSvg(chart));
  await savePng(chart, join(dir.path, "loss.png"));
  const png = await Deno.readFile(join(dir.path, "loss.png"));
  const view = new DataView(png.buffer);
  const svgWidth = Number(svg.match(/width="(\d+)"/)![1]);
  const svgHeight = Number(svg.match(/height="(\d+)"/)![1]);
  assert.deepEqual([view.getUint32(16), view.getUint32(20)], [svgWidth, svgHeight]);
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  assert.ok(png.length > 5_000 && png.length < 500_000, `PNG of ${png.length} bytes`);
  const barePng = await renderPng(paddingChart({ side: "right", pads_per_row: [1, 2], seq_len: 4 }));
  assert.deepEqual([...barePng.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});

Deno.test("canvas shim: colours parse, PNG encoding round-trips, canvases come from the shimmed document", () => {
  assert.deepEqual(parseColor("#0af"), [0, 170, 255, 255]);
  assert.deepEqual(parseColor("rgb(68, 1, 84)"), [68, 1, 84, 255]);
  assert.deepEqual(parseColor("rgba(1, 2, 3, 0.5)"), [1, 2, 3, 128]);
  assert.throws(() => parseColor("steelblue"), /unsupported fillStyle "steelblue"/);
  const pixels = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 9, 9, 9, 0]);
  assert.deepEqual(decodePng(encodePng(pixels, 2, 2)), { width: 2, height: 2, rgba: pixels });
  const canvas = createDocument().createElement("canvas");
  canvas.width = 2;
  canvas.height = 1;
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#ff0000";
  context.fillRect(1, 0, 1, 1);
  const png = Uint8Array.from(atob(canvas.toDataURL().split(",")[1]), (c) => c.charCodeAt(0));
  assert.deepEqual([...decodePng(png).rgba], [0, 0, 0, 0, 255, 0, 0, 255]);
});

Deno.test("tables: 4 significant digits, integers in full, HTML escaped, danfojs frames and rows", () => {
  assert.deepEqual([0.123456, 12345.678, 1683, NaN, null, "a"].map(formatCell), [
    "0.1235",
    "12350",
    "1683",
    "NaN",
    "",
    "a",
  ]);
  const rows = [{ model: "<SASRec>", ndcg: 0.0712345 }, { model: "Pop", hr: 0.5 }];
  assert.equal(
    tableHtml(rows),
    '<table class="dataframe"><thead><tr><th>model</th><th>ndcg</th><th>hr</th></tr></thead><tbody>' +
      "<tr><td>&lt;SASRec&gt;</td><td>0.07123</td><td></td></tr><tr><td>Pop</td><td></td><td>0.5</td></tr></tbody></table>",
  );
  const frame = new dfd.DataFrame([{ a: 1, b: 2.718281 }, { a: 2, b: 3.14159 }]);
  assert.equal(tableText(frame), "a  b\n1  2.718\n2  3.142");
  const bundle = table(frame)[JUPYTER_DISPLAY]();
  assert.match(bundle["text/html"], /<td>2.718<\/td>/);
  assert.equal(bundle["text/plain"], "a  b\n1  2.718\n2  3.142");
});
