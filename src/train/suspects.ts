/**
 * Before the NaN locator blames an op, it looks at what the ops were fed: every trainable parameter and the
 * fixed text-vector inputs. One that already holds NaN/±Infinity, or values so large (>= `OVERFLOW_RISK` in
 * magnitude) that products in a forward op overflow float32, is the cause, not the op downstream that first
 * shows the non-finite value; the suspect names the config key that most likely drove it.
 */
import { bprMfOptions, moduleLearningRate } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { TextVectors } from "../data/types.ts";
import { stableName } from "../models/params.ts";
import type { Recommender } from "../models/types.ts";
import type { Suspect } from "../run/records.ts";
import { readStats } from "./tensor_stats.ts";

/** Magnitude from which values overflow a forward op in float32 (max 3.4e38): a dot product of a few such does. */
export const OVERFLOW_RISK = 1e15;

/** `Suspect` fields from value counts, or null when the values are finite and below `OVERFLOW_RISK`. */
function judge(
  nonfinite: number,
  nan: number,
  maxAbs: number | null,
): Pick<Suspect, "problem" | "nonfinite" | "nan" | "max_abs"> | null {
  if (nonfinite > 0) return { problem: nan > 0 ? "nan" : "inf", nonfinite, nan, max_abs: maxAbs };
  if (maxAbs !== null && maxAbs >= OVERFLOW_RISK) return { problem: "huge", nonfinite, nan, max_abs: maxAbs };
  return null;
}

/** What most likely put a bad value into a parameter of `module` by global step `step`. */
function parameterCause(module: string, step: number, config: Config): string {
  const lr = moduleLearningRate(config, module) ?? { key: "retriever_lr", value: config.retriever_lr };
  if (step > 0) {
    return `changed by ${step} update(s): check ${lr.key} (${lr.value}) and grad_clip (${config.grad_clip})`;
  }
  // SASRec and BPR-MF draw their embeddings from Normal(0, std)
  if (module === "bprmf") {
    const key = config.bprmf_init_std === null ? "sasrec_init_std" : "bprmf_init_std";
    return `as initialised at step 0, with Normal(0, ${key} = ${bprMfOptions(config).initStd})`;
  }
  return module === "sasrec"
    ? `as initialised at step 0, with Normal(0, sasrec_init_std = ${config.sasrec_init_std})`
    : "as initialised at step 0";
}

/** Parameters of `model` that are non-finite or huge, with their likely cause. Reads every parameter back, once. */
export async function parameterSuspects(model: Recommender, config: Config, step: number): Promise<Suspect[]> {
  const params = Object.entries(model.modules()).flatMap(([module, variables]) =>
    variables.map((v) => ({ module, v }))
  );
  const stats = await readStats(params.map((p) => p.v));
  const suspects: Suspect[] = [];
  params.forEach(({ module, v }, i) => {
    const s = stats[i];
    const maxAbs = s.min === null || s.max === null ? null : Math.max(Math.abs(s.min), Math.abs(s.max));
    const found = judge(s.nonfinite, s.nan, maxAbs);
    if (found) {
      suspects.push({
        kind: "parameter",
        name: stableName(v),
        ...found,
        rows: [],
        cause: parameterCause(module, step, config),
      });
    }
  });
  return suspects;
}

/** Rows of a [rows, dim] matrix holding a non-finite or huge value, the counts, and the largest finite magnitude. */
function scanRows(data: Float32Array, dim: number) {
  const rows: number[] = [];
  let nonfinite = 0, nan = 0, maxAbs: number | null = null;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    const bad = !Number.isFinite(x) || Math.abs(x) >= OVERFLOW_RISK;
    if (!Number.isFinite(x)) nonfinite++;
    if (Number.isNaN(x)) nan++;
    if (Number.isFinite(x)) maxAbs = Math.max(maxAbs ?? 0, Math.abs(x));
    const row = Math.floor(i / dim);
    if (bad && rows.at(-1) !== row) rows.push(row);
  }
  return { rows, nonfinite, nan, maxAbs };
}

/** The text-vector inputs that are non-finite or huge (rows listed: user index / item id). */
export function inputSuspects(texts: TextVectors, config: Config): Suspect[] {
  const source = config.text_encoder === "precomputed"
    ? `loaded from text_embeddings_path (${config.text_embeddings_path})`
    : "made by the TF-IDF text encoder";
  const suspects: Suspect[] = [];
  for (const [name, data] of [["texts.user", texts.user], ["texts.item", texts.item]] as const) {
    const scan = scanRows(data, texts.dim);
    const found = judge(scan.nonfinite, scan.nan, scan.maxAbs);
    if (found) suspects.push({ kind: "input", name, ...found, rows: scan.rows.slice(0, 64), cause: source });
  }
  return suspects;
}

/** One sentence per suspect for the diagnosis. */
export function describeSuspects(suspects: Suspect[]): string[] {
  return suspects.map((s) => {
    const what = s.problem === "huge"
      ? `values up to ${s.max_abs?.toExponential(2)} in magnitude (>= ${
        OVERFLOW_RISK.toExponential(0)
      }, so forward ops overflow float32)`
      : `${s.nonfinite} ${s.problem === "nan" ? "non-finite value(s), NaN among them" : "infinite value(s)"}`;
    const rows = s.rows.length > 0
      ? ` in rows [${s.rows.slice(0, 16).join(", ")}${s.rows.length > 16 ? ", ..." : ""}]`
      : "";
    return `Before any op ran, ${s.kind} "${s.name}" already held ${what}${rows} (${s.cause}); ` +
      `the ops below only propagate it, so fix the ${s.kind} rather than the op.`;
  });
}
