/**
 * Named float32 tensors on disk, used for model weights and optimizer state: a directory holding `manifest.json`
 * (format, owner — the model name for weights —, and per tensor its name, shape and offset in floats) and
 * `weights.bin` (the values, little-endian, concatenated). Directories are replaced atomically (temp dir + rename),
 * so a reader never sees a half-written checkpoint. Non-trainable state derived from the seed (the faithful retriever's frozen item
 * description vectors) is not saved: load into a model built with the same seed.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../util/errors.ts";
import { replaceDirAtomic } from "../util/fs.ts";
import { stableName } from "./params.ts";
import type { Recommender } from "./types.ts";

/** Manifest file name inside a weights directory. */
export const MANIFEST_FILE = "manifest.json";
/** Binary file name inside a weights directory. */
export const WEIGHTS_FILE = "weights.bin";
/** Format tag written into (and required from) every manifest. */
export const WEIGHTS_FORMAT = "ur4rec-weights/1";

const ManifestSchema = z.object({
  format: z.literal(WEIGHTS_FORMAT),
  model: z.string(),
  variables: z.array(z.object({
    name: z.string(),
    shape: z.array(z.number().int().min(0)),
    offset: z.number().int().min(0),
  })),
});

/** The contents of `manifest.json`. */
export type WeightsManifest = z.infer<typeof ManifestSchema>;

/** Every variable of the model with its stable name, in module order. */
function namedVariables(model: Recommender): [string, tf.Variable][] {
  const named = Object.values(model.modules()).flat().map((v): [string, tf.Variable] => [stableName(v), v]);
  const names = new Set(named.map(([name]) => name));
  if (names.size !== named.length) throw new Error(`model ${model.name} has duplicate variable names`);
  return named;
}

/**
 * Writes named float32 tensors to `dir` (replacing it atomically) under the manifest owner `owner`; the manifest is
 * written last, so a copy holding it is complete (what `recoverDir` in util/fs.ts looks for after a crash).
 */
export async function saveTensors(dir: string, owner: string, named: [string, tf.Tensor][]): Promise<void> {
  const manifest: WeightsManifest = { format: WEIGHTS_FORMAT, model: owner, variables: [] };
  let total = 0;
  for (const [name, t] of named) {
    manifest.variables.push({ name, shape: t.shape, offset: total });
    total += t.size;
  }
  const values = new Float32Array(total);
  for (let i = 0; i < named.length; i++) values.set(await named[i][1].data(), manifest.variables[i].offset);
  await replaceDirAtomic(dir, async (tmp) => {
    await Deno.writeFile(join(tmp, WEIGHTS_FILE), new Uint8Array(values.buffer));
    await Deno.writeTextFile(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  });
}

/** Writes all variables of `model` to `dir` (replacing it atomically). */
export function saveWeights(model: Recommender, dir: string): Promise<void> {
  return saveTensors(dir, model.name, namedVariables(model));
}

/** Reads and validates `dir/manifest.json`. */
export async function readManifest(dir: string): Promise<WeightsManifest> {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UserError(`${path}: no weights manifest (not a checkpoint?)`);
    if (err instanceof SyntaxError) throw new UserError(`${path}: not valid JSON (${err.message})`);
    throw err;
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Loads every variable of `model` from `dir`; the checkpoint must hold exactly the model's variables and shapes. */
export async function loadWeights(model: Recommender, dir: string): Promise<void> {
  const manifest = await readManifest(dir);
  const manifestPath = join(dir, MANIFEST_FILE);
  if (manifest.model !== model.name) {
    throw new UserError(`${manifestPath}: weights of model "${manifest.model}", cannot load into "${model.name}"`);
  }
  const named = namedVariables(model);
  const total = named.reduce((n, [, v]) => n + v.size, 0);
  const saved = new Map(manifest.variables.map((entry) => [entry.name, entry]));
  const problems: string[] = [];
  const placed: [tf.Variable, number][] = [];
  for (const [name, v] of named) {
    const entry = saved.get(name);
    saved.delete(name);
    if (!entry) problems.push(`missing ${name}`);
    else if (entry.shape.join(",") !== v.shape.join(",")) {
      problems.push(`${name} has shape [${entry.shape}], the model expects [${v.shape}]`);
    } else if (entry.offset + v.size > total) problems.push(`${name} has offset ${entry.offset} past the end`);
    else placed.push([v, entry.offset]);
  }
  for (const name of saved.keys()) problems.push(`unexpected ${name}`);
  if (problems.length > 0) throw new UserError(`${manifestPath}: does not match the model: ${problems.join("; ")}`);

  const values = await readValues(dir, total);
  requireFinite(values, manifest, dir);
  for (const [v, offset] of placed) {
    tf.tidy(() => v.assign(tf.tensor(values.subarray(offset, offset + v.size), v.shape)));
  }
}

async function readValues(dir: string, total: number): Promise<Float32Array> {
  const weightsPath = join(dir, WEIGHTS_FILE);
  const bytes = await Deno.readFile(weightsPath);
  if (bytes.length !== 4 * total) {
    throw new UserError(`${weightsPath}: ${bytes.length} bytes, the manifest describes ${4 * total}`);
  }
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/**
 * Throws a `UserError` naming the file, the tensor and the element when `values` holds NaN or ±Infinity: a run never
 * saves such weights (the NaN guard skips or patches non-finite updates), so they mean a damaged or foreign file.
 */
function requireFinite(values: Float32Array, manifest: WeightsManifest, dir: string): void {
  const bad = values.findIndex((x) => !Number.isFinite(x));
  if (bad < 0) return;
  const entry = manifest.variables.findLast((e) => e.offset <= bad);
  const where = entry ? `${entry.name} element ${bad - entry.offset}` : `float ${bad}`;
  throw new UserError(`${join(dir, WEIGHTS_FILE)}: ${where} is ${values[bad]}; expected finite weights`);
}

/** Reads tensors written by `saveTensors` under `owner`; the caller owns (and disposes) them. */
export async function loadTensors(dir: string, owner: string): Promise<Record<string, tf.Tensor>> {
  const manifest = await readManifest(dir);
  if (manifest.model !== owner) {
    throw new UserError(`${join(dir, MANIFEST_FILE)}: tensors of "${manifest.model}", expected "${owner}"`);
  }
  const total = manifest.variables.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  const values = await readValues(dir, total);
  requireFinite(values, manifest, dir);
  return Object.fromEntries(manifest.variables.map((e) => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    return [e.name, tf.tensor(values.slice(e.offset, e.offset + size), e.shape)];
  }));
}
