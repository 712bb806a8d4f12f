/**
 * `deno task data ml-100k`: downloads the GroupLens MovieLens-100K archive, checks its SHA-256 and unpacks it
 * atomically (temp dir, then one rename) to `<data_dir>/ml-100k/`. When offline or the fetch fails, the error says
 * where to put the files by hand.
 */
import { join, normalize } from "node:path";
import { exists } from "../util/fs.ts";
import { UserError } from "../util/errors.ts";
import { readZip } from "./zip.ts";

/** The official archive. */
export const ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip";
/** SHA-256 of the official archive. */
export const ML100K_SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229";
/** Files the loader needs. */
export const ML100K_REQUIRED = ["u.data", "u.item", "u.genre", "u.user"];

/** Where to get the archive and what its hash must be. */
export interface DownloadOptions {
  url: string;
  sha256: string;
}

/** What happened: the dataset directory and whether it was already there. */
export interface DownloadResult {
  dir: string;
  downloaded: boolean;
  files: number;
}

function manualHint(dir: string, url: string): string {
  return `download ${url} yourself and unzip it so that ${join(dir, "u.data")} exists ` +
    `(needed: ${ML100K_REQUIRED.join(", ")})`;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchBytes(url: string, dir: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new UserError(`could not download ${url} (${(err as Error).message}); ${manualHint(dir, url)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UserError(`could not download ${url} (HTTP ${response.status}); ${manualHint(dir, url)}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Member path inside the dataset dir: the archive's top folder (`ml-100k/`) removed; unsafe paths rejected. */
function memberPath(name: string, source: string): string {
  const relative = name.includes("/") ? name.slice(name.indexOf("/") + 1) : name;
  const clean = normalize(relative);
  if (clean.startsWith("..") || clean.startsWith("/")) throw new UserError(`${source}: unsafe member path "${name}"`);
  return clean;
}

/** Downloads, verifies and unpacks MovieLens-100K into `<dataDir>/ml-100k/` (nothing to do when already there). */
export async function downloadMovieLens100k(dataDir: string, options: DownloadOptions): Promise<DownloadResult> {
  const dir = join(dataDir, "ml-100k");
  if (await exists(join(dir, "u.data"))) return { dir, downloaded: false, files: 0 };
  const bytes = await fetchBytes(options.url, dir);
  const actual = await sha256Hex(bytes);
  if (actual !== options.sha256.toLowerCase()) {
    throw new UserError(
      `${options.url}: SHA-256 mismatch: expected ${options.sha256}, got ${actual} (corrupt or different file); ` +
        manualHint(dir, options.url),
    );
  }
  const entries = readZip(bytes, options.url);
  const names = new Set(entries.map((e) => memberPath(e.name, options.url)));
  const missing = ML100K_REQUIRED.filter((f) => !names.has(f));
  if (missing.length > 0) throw new UserError(`${options.url}: the archive lacks ${missing.join(", ")}`);

  await Deno.mkdir(dataDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: dataDir, prefix: ".ml-100k-" });
  try {
    for (const entry of entries) {
      const path = join(tmp, memberPath(entry.name, options.url));
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeFile(path, entry.data);
    }
    await Deno.rename(tmp, dir);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if ((err as { code?: string }).code === "ENOTEMPTY") {
      throw new UserError(`${dir} exists but has no u.data; remove it and run again`);
    }
    throw err;
  }
  return { dir, downloaded: true, files: entries.length };
}
