/**
 * The grid runner's claim on its output directory: `DIR/runner.json` holds the identity (pid + start time) of the
 * runner working there. Claiming is atomic: the identity is written to a private temp file that is then hard-linked
 * to `runner.json`, which fails when the file exists, so of two runners started in the same instant exactly one
 * wins. A lock whose process is gone (killed, crashed) is taken over under a second atomic claim
 * (`runner.json.takeover`, a directory made with mkdir) that re-checks the holder before removing it, so a live
 * runner's lock is never removed by another.
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { isRunning, type ProcessIdentity, processIdentity } from "./process.ts";

/** The lock file inside DIR. */
export const LOCK_FILE = "runner.json";
/** A takeover claim older than this is left over from a process that died within it, and is cleared. */
const TAKEOVER_EXPIRY_MS = 10_000;
/** Attempts before giving up when the lock keeps changing hands under us. */
const MAX_ATTEMPTS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.start === b.start;
}

/** The recorded holder, or undefined when there is no lock file; a file that is not an identity is a UserError. */
async function readHolder(path: string): Promise<ProcessIdentity | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    const holder = JSON.parse(text);
    if (Number.isInteger(holder?.pid) && typeof holder?.start === "string") return holder as ProcessIdentity;
  } catch { /* reported below */ }
  throw new UserError(`${path}: not a runner record {"pid", "start"}; delete it if no runner works in this directory`);
}

/** Creates `path` holding `text`, atomically; false when it already exists. */
async function createWith(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  try {
    await Deno.link(tmp, path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  } finally {
    await Deno.remove(tmp);
  }
}

/** Removes the lock of `stale` if it is still the one there, holding the takeover claim; false when busy. */
async function takeOver(path: string, stale: ProcessIdentity): Promise<boolean> {
  const claim = `${path}.takeover`;
  try {
    await Deno.mkdir(claim);
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    const age = Date.now() - ((await Deno.stat(claim).catch(() => undefined))?.mtime?.getTime() ?? Date.now());
    if (age > TAKEOVER_EXPIRY_MS) await Deno.remove(claim).catch(() => {});
    return false;
  }
  try {
    const holder = await readHolder(path);
    if (holder && sameProcess(holder, stale)) await Deno.remove(path);
    return true;
  } finally {
    await Deno.remove(claim);
  }
}

/**
 * Claims DIR for this process: refused with a UserError naming DIR and the holder's pid while a live runner holds
 * it (this process included: one runner per directory); a dead holder's lock is taken over. Returns the release
 * function, which removes the lock if it is still this claim's. Without /proc (no process identities) it claims
 * nothing.
 */
export async function claimDirectory(out: string): Promise<() => Promise<void>> {
  const path = join(out, LOCK_FILE);
  const self = processIdentity(Deno.pid);
  if (!self) return async () => {};
  // The nonce tells this claim from another one of the same process.
  const record = { ...self, claim: crypto.randomUUID() };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createWith(path, JSON.stringify(record) + "\n")) {
      return async () => {
        const text = await Deno.readTextFile(path).catch(() => "");
        if (text.includes(record.claim)) await Deno.remove(path);
      };
    }
    const holder = await readHolder(path);
    if (holder && isRunning(holder)) {
      throw new UserError(`${out}: another runner (pid ${holder.pid}) is working on this directory`);
    }
    if (holder && !(await takeOver(path, holder))) await sleep(10);
  }
  throw new UserError(`${out}: could not claim ${LOCK_FILE}: it kept changing hands (${MAX_ATTEMPTS} attempts)`);
}
