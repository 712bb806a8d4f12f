/**
 * Small file helpers: atomic writes (temp file + rename), atomic directory swaps that a later start can recover,
 * existence checks, an up-front "can I write there" check for output flags, and filesystem errors turned into
 * `UserError`s that name the path and what failed.
 */
import { basename, dirname, join } from "node:path";
import { fsReason, UserError } from "./errors.ts";

/**
 * Runs the filesystem operation `fn` on `path`; an error the user can fix (not a directory, permission denied,
 * exists, not found, disk full, read-only) becomes a `UserError` "`path`: cannot `action`: reason".
 */
export async function onPath<T>(path: string, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const reason = fsReason(err);
    if (reason === undefined || err instanceof UserError) throw err;
    throw new UserError(`${path}: cannot ${action}: ${reason}`);
  }
}

/** Creates directory `path` and its parents (see `onPath` for errors; an existing file there is named as such). */
export function makeDir(path: string): Promise<void> {
  return onPath(path, "create directory", async () => {
    try {
      await Deno.mkdir(path, { recursive: true });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new UserError(`${path}: cannot create directory: a file is there`);
      }
      throw err;
    }
  });
}

/** Appends `text` to the file `path`, creating it (see `onPath` for errors). */
export function appendText(path: string, text: string): Promise<void> {
  return onPath(path, "write", () => Deno.writeTextFile(path, text, { append: true }));
}

/** Writes `data` to `path` atomically: a temp file in the same directory, then rename (see `onPath` for errors). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await makeDir(dirname(path));
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await onPath(path, "write", async () => {
    try {
      if (typeof data === "string") await Deno.writeTextFile(tmp, data);
      else await Deno.writeFile(tmp, data);
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  });
}

/** Writes a JSON value atomically, pretty-printed. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** True when `path` exists (file or directory); false also when a parent is a file. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return false;
    throw err;
  }
}

/** Reads and parses a JSON file, or returns undefined when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  if (!(await exists(path))) return undefined;
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/**
 * Checks, without creating anything, that `path` is a directory this process can write into, or can be created:
 * the path itself or its nearest existing ancestor must be a writable directory (probed by creating and removing
 * a temp file, so read-only mounts are caught too). `flag` names the option in the `UserError`, e.g. "--out DIR".
 */
export async function checkWritableDir(path: string, flag: string): Promise<void> {
  let dir = path;
  for (;;) {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) throw err;
    }
    if (info !== undefined) {
      if (!info.isDirectory) {
        throw new UserError(
          dir === path
            ? `${flag}: ${path} is a file, expected a directory`
            : `${flag}: cannot create ${path}: ${dir} is a file, not a directory`,
        );
      }
      break;
    }
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  try {
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".ur4rec-write-probe-" }));
  } catch (err) {
    const reason = fsReason(err);
    if (reason === undefined) throw err;
    throw new UserError(`${flag}: cannot write ${dir === path ? path : `${path} (in ${dir})`}: ${reason}`);
  }
}

/**
 * Replaces directory `dir` atomically: `fill` writes a fresh temp directory `<dir>.tmp-<tag>` beside it, which is
 * then renamed over `dir` (an existing `dir` is moved to `<dir>.old-<tag>` first and removed after), so readers
 * never see a half-written directory. A process killed between the two renames leaves no `dir` but a complete
 * temp copy: `recoverDir` puts it back. `fill` must write the directory's marker file last (see `recoverDir`).
 */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tag = crypto.randomUUID().slice(0, 8);
  const tmp = `${dir}.tmp-${tag}`;
  await makeDir(tmp);
  try {
    await fill(tmp);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  await onPath(dir, "replace directory", async () => {
    if (!(await exists(dir))) return await Deno.rename(tmp, dir);
    const old = `${dir}.old-${tag}`;
    await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
    await Deno.remove(old, { recursive: true });
  });
}

/** The `<dir>.tmp-*` and `<dir>.old-*` folders `replaceDirAtomic` leaves beside `dir` when it is interrupted. */
export async function swapLeftovers(dir: string): Promise<{ tmp: string[]; old: string[] }> {
  const found = { tmp: [] as string[], old: [] as string[] };
  const name = basename(dir);
  try {
    for await (const entry of Deno.readDir(dirname(dir))) {
      if (!entry.isDirectory) continue;
      if (entry.name.startsWith(`${name}.tmp-`)) found.tmp.push(join(dirname(dir), entry.name));
      if (entry.name.startsWith(`${name}.old-`)) found.old.push(join(dirname(dir), entry.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) throw err;
  }
  return found;
}

/**
 * The newest complete copy of a directory written by `replaceDirAtomic`, or undefined: `dir` itself when it holds
 * `marker` (the file its writer writes last), else a `.tmp-*` copy holding it (written after `dir` was moved
 * aside), else an `.old-*` one; among several of a kind, the one whose marker was written last. Reads only.
 */
export async function completeCopy(dir: string, marker: string): Promise<string | undefined> {
  if (await exists(join(dir, marker))) return dir;
  const leftovers = await swapLeftovers(dir);
  for (const candidates of [leftovers.tmp, leftovers.old]) {
    let newest: { path: string; mtime: number } | undefined;
    for (const path of candidates) {
      const info = await Deno.stat(join(path, marker)).catch(() => undefined);
      const mtime = info?.mtime?.getTime() ?? -Infinity;
      if (info && (newest === undefined || mtime > newest.mtime)) newest = { path, mtime };
    }
    if (newest) return newest.path;
  }
  return undefined;
}

/**
 * Repairs what an interrupted `replaceDirAtomic` left: the newest complete copy (see `completeCopy`) becomes `dir`
 * and every other `.tmp-*`/`.old-*` folder beside it is removed. Returns the copy that was moved into place (or
 * undefined when `dir` was already complete or no complete copy exists).
 */
export async function recoverDir(dir: string, marker: string): Promise<string | undefined> {
  const copy = await completeCopy(dir, marker);
  return await onPath(dir, "recover directory", async () => {
    const moved = copy !== undefined && copy !== dir;
    if (moved) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.rename(copy, dir);
    }
    const leftovers = await swapLeftovers(dir);
    for (const path of [...leftovers.tmp, ...leftovers.old]) await Deno.remove(path, { recursive: true });
    return moved ? copy : undefined;
  });
}
