/** Shared test helpers: backend switching, close-enough comparisons, temp dirs, shared-data lookup. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { type BackendName, initBackend } from "../src/backend/backend.ts";

/** Runs `fn` on the given backend and returns its result (tensors must be read inside `fn`). */
export async function onBackend<T>(name: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await initBackend(name);
  return await fn();
}

/** Largest absolute difference between two flat arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "length mismatch");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts every element of `a` is within `tol` of `b`. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = "values"): void {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: max abs diff ${d} > ${tol}`);
}

/** Reads a tensor (or list) into plain number arrays and disposes nothing. */
export function flat(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** `../shared/data` relative to the repository root, or undefined when absent. */
export function sharedDataDir(): string | undefined {
  const dir = new URL("../../shared/data/", import.meta.url).pathname;
  try {
    Deno.statSync(`${dir}ml-100k/u.data`);
    return dir;
  } catch {
    return undefined;
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(
  prefix = "ur4rec-test-",
): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** The repository root (where `deno.json` is). */
export const REPO_ROOT = new URL("../", import.meta.url).pathname;

/** Runs `deno run -A <script> ...args` from the repository root without colours; its exit code, stdout and stderr. */
export async function runScript(
  script: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
