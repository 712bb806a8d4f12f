/**
 * Saving named tensors to a directory: `manifest.json` (name, shape, dtype, offset) + `tensors.bin`.
 * Directories are replaced atomically: written under a temp name, then swapped in by rename.
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "./fs.ts";

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  offset: number;
  length: number;
}

/** Writes `dir` by calling `fill(tmpDir)` on a fresh temp directory, then renaming it over `dir`. */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 6)}`;
  await Deno.mkdir(tmp, { recursive: true });
  await fill(tmp);
  const old = `${dir}.old-${Deno.pid}`;
  let hadOld = false;
  try {
    await Deno.rename(dir, old);
    hadOld = true;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.rename(tmp, dir);
  if (hadOld) await Deno.remove(old, { recursive: true });
}

/** Saves named tensors into `dir` (which must exist). Values are read synchronously. */
export async function saveTensorMap(dir: string, tensors: Record<string, tf.Tensor>): Promise<void> {
  const entries: ManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype === "int32" ? "int32" : "float32";
    const data = dtype === "int32" ? Int32Array.from(t.dataSync()) : Float32Array.from(t.dataSync());
    const bytes = new Uint8Array(data.buffer);
    entries.push({ name, shape: t.shape, dtype, offset, length: data.length });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const bin = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    bin.set(c, at);
    at += c.byteLength;
  }
  await writeFileAtomic(`${dir}/tensors.bin`, bin);
  await writeFileAtomic(`${dir}/manifest.json`, JSON.stringify(entries, null, 1));
}

/** Loads the named tensors saved by `saveTensorMap`; the caller owns (and disposes) them. */
export async function loadTensorMap(dir: string): Promise<Record<string, tf.Tensor>> {
  const entries = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as ManifestEntry[];
  const bin = await Deno.readFile(`${dir}/tensors.bin`);
  const out: Record<string, tf.Tensor> = {};
  for (const e of entries) {
    const buf = bin.slice(e.offset, e.offset + e.length * 4).buffer;
    const values = e.dtype === "int32" ? new Int32Array(buf) : new Float32Array(buf);
    out[e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  return out;
}
