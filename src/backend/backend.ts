/**
 * Backend selection: wasm by default (SIMD, single thread under Deno), cpu and webgpu on request.
 * The choice comes from (in order) the explicit argument, the `UR4REC_BACKEND` env var, then "wasm".
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { UserError } from "../util/errors.ts";
import { registerWasmPolyfills } from "./wasm_kernels.ts";

/** Backends this kit knows how to start. */
export const BACKENDS = ["wasm", "cpu", "webgpu"] as const;
/** One of `BACKENDS`. */
export type BackendName = typeof BACKENDS[number];

/** Directory of the wasm binaries inside the installed npm package. */
export function wasmDistUrl(): string {
  return new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href;
}

/** `value` as a backend name (undefined or "" stays undefined); `source` names the flag or variable in the error. */
export function parseBackend(value: string | undefined, source: string): BackendName | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new UserError(`${source}=${value}: expected one of ${BACKENDS.join(", ")}`);
  }
  return value as BackendName;
}

/** The backend requested by env, if any (validated). */
export function backendFromEnv(): BackendName | undefined {
  return parseBackend(Deno.env.get("UR4REC_BACKEND"), "UR4REC_BACKEND");
}

let wasmPathsSet = false;

/**
 * Starts and selects a tfjs backend; returns its name. Safe to call repeatedly.
 * `name` wins over `UR4REC_BACKEND`, which wins over the default "wasm".
 */
export async function initBackend(name?: BackendName): Promise<BackendName> {
  const chosen = name ?? backendFromEnv() ?? "wasm";
  tf.enableProdMode();
  if (chosen === "wasm") {
    if (!wasmPathsSet) {
      setWasmPaths(wasmDistUrl());
      wasmPathsSet = true;
    }
    registerWasmPolyfills();
  } else if (chosen === "webgpu") {
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (tf.getBackend() !== chosen) {
    const ok = await tf.setBackend(chosen);
    if (!ok) throw new UserError(`backend "${chosen}" could not be initialised on this machine`);
  }
  await tf.ready();
  return chosen;
}
