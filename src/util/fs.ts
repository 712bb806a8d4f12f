/** Small file helpers: atomic writes (temp file + rename) and existence checks. */
import { dirname } from "node:path";

/** Writes `data` to `path` atomically: a temp file in the same directory, then rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

/** Writes a JSON value atomically, pretty-printed. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** True when `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Reads and parses a JSON file, or returns undefined when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  if (!(await exists(path))) return undefined;
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/**
 * Replaces directory `dir` atomically: `fill` writes a fresh temp directory beside it, which is then renamed over
 * `dir` (an existing `dir` is moved aside first and removed after), so readers never see a half-written directory.
 */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tag = crypto.randomUUID().slice(0, 8);
  const tmp = `${dir}.tmp-${tag}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  if (!(await exists(dir))) return await Deno.rename(tmp, dir);
  const old = `${dir}.old-${tag}`;
  await Deno.rename(dir, old);
  await Deno.rename(tmp, dir);
  await Deno.remove(old, { recursive: true });
}
