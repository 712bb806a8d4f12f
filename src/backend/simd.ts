/**
 * The project's own wasm modules (`simd/*.wasm`, AssemblyScript sources `simd/*.as.ts`, built by
 * scripts/build_simd.sh), each instantiated once per wasm backend on the backend's `WebAssembly.Memory`, so that they
 * read and write tensors in place (they have no memory, data or globals of their own). Relaxed SIMD (V8 ≥ 11.4, so
 * every Deno 2) is required.
 */
import type { WasmBackend } from "./override.ts";

const compiled = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<object, Map<string, WebAssembly.Exports>>();

/**
 * The exports of `simd/<name>.wasm` instantiated on `backend`'s heap (compiled on first use: a few kB, synchronous).
 * Throws if the file is missing or does not compile.
 */
export function simdModule<T>(backend: WasmBackend, name: string): T {
  let modules = instances.get(backend);
  if (modules === undefined) instances.set(backend, modules = new Map());
  let exports = modules.get(name);
  if (exports === undefined) {
    let module = compiled.get(name);
    if (module === undefined) {
      module = new WebAssembly.Module(Deno.readFileSync(new URL(`./simd/${name}.wasm`, import.meta.url)));
      compiled.set(name, module);
    }
    exports = new WebAssembly.Instance(module, { env: { memory: backend.wasm.asm.memory } }).exports;
    modules.set(name, exports);
  }
  return exports as T;
}
