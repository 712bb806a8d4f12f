/**
 * Precomputed text embeddings (e.g. MiniLM run elsewhere), from the directory `text_embeddings_path`:
 * - `items.npy` (float32 [maxId + 1, E], row = MovieLens item id, row 0 unused) or `items.json` (`{"<id>": [E numbers]}`);
 * - `users.npy` / `users.json` the same, keyed by MovieLens user id (not needed when `user_text: none`).
 * E must equal `text_embedding_dim`; every value must be finite in float32 (a `UserError` names the file and the
 * row/key otherwise). Ids without a vector get zero rows, counted in the report and warned about (warnings.ts).
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { exists } from "../util/fs.ts";
import { UserError } from "../util/errors.ts";
import { decodeText } from "./data_file.ts";
import { decodeNpy } from "./npy.ts";
import type { Dataset, TextVectors } from "./types.ts";

/** Vectors by id, all of length `dim`. */
interface VectorTable {
  dim: number;
  get(id: number): ArrayLike<number> | undefined;
}

function fromNpy(bytes: Uint8Array, path: string): VectorTable {
  const m = decodeNpy(bytes, path);
  return {
    dim: m.cols,
    get: (id) => (id > 0 && id < m.rows ? m.data.subarray(id * m.cols, (id + 1) * m.cols) : undefined),
  };
}

function fromJson(text: string, path: string): VectorTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`${path}: expected a JSON object {"<id>": [numbers]}`);
  }
  const vectors = new Map<number, number[]>();
  let dim = -1;
  for (const [key, vec] of Object.entries(value)) {
    if (!/^\d+$/.test(key)) throw new UserError(`${path}: key "${key}": expected a numeric id`);
    if (!Array.isArray(vec)) throw new UserError(`${path}: key "${key}": expected an array of finite numbers`);
    const bad = vec.findIndex((x) => typeof x !== "number" || !Number.isFinite(Math.fround(x)));
    if (bad >= 0) {
      const value = typeof vec[bad] === "number" ? String(vec[bad]) : JSON.stringify(vec[bad]);
      throw new UserError(
        `${path}: key "${key}": value ${bad} is ${value}, expected a finite number within float32's ±3.4e38`,
      );
    }
    if (dim >= 0 && vec.length !== dim) {
      throw new UserError(`${path}: key "${key}": vector has ${vec.length} numbers, earlier ones have ${dim}`);
    }
    dim = vec.length;
    vectors.set(Number(key), vec);
  }
  if (dim < 0) throw new UserError(`${path}: no vectors`);
  return { dim, get: (id) => vectors.get(id) };
}

/** Reads `<dir>/<name>.npy` or `<dir>/<name>.json`. */
async function readTable(dir: string, name: string, dim: number): Promise<VectorTable> {
  const npy = join(dir, `${name}.npy`);
  const json = join(dir, `${name}.json`);
  let table: VectorTable;
  if (await exists(npy)) table = fromNpy(await Deno.readFile(npy), npy);
  else if (await exists(json)) table = fromJson(decodeText(await Deno.readFile(json)), json);
  else throw new UserError(`${dir}: expected ${name}.npy or ${name}.json (precomputed text embeddings)`);
  if (table.dim !== dim) {
    throw new UserError(
      `${join(dir, name)}: vectors have ${table.dim} dimensions but text_embedding_dim is ${dim}; ` +
        `set text_embedding_dim: ${table.dim}`,
    );
  }
  return table;
}

/** Copies the vectors of `ids` into rows of a [rows, dim] matrix (row of id = `rowOf(index, id)`); counts misses. */
function fill(table: VectorTable, ids: number[], rows: number, rowOf: (i: number, id: number) => number) {
  const out = new Float32Array(rows * table.dim);
  let missing = 0;
  ids.forEach((id, i) => {
    const vec = table.get(id);
    if (vec === undefined) missing++;
    else out.set(vec, rowOf(i, id) * table.dim);
  });
  return { out, missing };
}

/** Precomputed user/item vectors for `ds` (not normalised here). */
export async function loadPrecomputedVectors(ds: Dataset, config: Config): Promise<TextVectors> {
  const dir = config.text_embeddings_path;
  if (dir === null) throw new UserError("text_encoder: precomputed needs text_embeddings_path (a directory)");
  const dim = config.text_embedding_dim;
  const itemIds = [...ds.items.keys()];
  const items = fill(await readTable(dir, "items", dim), itemIds, ds.numItems + 1, (_, id) => id);
  const report: Record<string, number> = { items_missing_vector: items.missing };
  let user = new Float32Array(ds.userIds.length * dim);
  if (config.user_text !== "none") {
    const users = fill(await readTable(dir, "users", dim), ds.userIds, ds.userIds.length, (i) => i);
    user = users.out;
    report.users_missing_vector = users.missing;
  }
  return { dim, user, item: items.out, report };
}
