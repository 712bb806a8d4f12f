/**
 * Replacing stock tfjs-backend-wasm kernels by faster ones that fall back to the stock kernel: an override's fast
 * function returns null for the inputs it does not handle (or would not win on), and the captured stock kernel runs
 * instead. `setFastKernels(false)` routes everything to the stock kernels (A/B timings in bench/).
 */
import * as tf from "@tensorflow/tfjs";

/** What a kernel function receives. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];
/** A fast path: the output, or null to let the stock kernel run. */
export type FastKernel = (args: KernelArgs) => tf.TensorInfo | null;

/** The parts of tfjs-backend-wasm's `BackendWasm` the overrides touch (its class is not exported as a type). */
export interface WasmBackend {
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown): boolean;
  incRef(dataId: unknown): void;
  wasm: {
    /** The module's exports; `memory` is the heap that every tensor lives in. */
    asm: { memory: WebAssembly.Memory };
    HEAP32: Int32Array;
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(offset: number): void;
    /** XNNPACK softmax over the last axis of [batch, channels] (operators cached by channel count). */
    _Softmax(xId: number, outId: number, channels: number, batch: number): void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

/**
 * Registers a tensor id for `count` floats at byte `offset` of the heap, for the C++ side only (a view into another
 * buffer or scratch memory; unregister with `backend.wasm.tfjs.disposeData(id)`, which frees nothing).
 */
export function heapView(backend: WasmBackend, offset: number, count: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, count, offset);
  return id;
}

/** A kernel of this project's own on wasm: `run` computes the output(s) of one call. */
export function wasmKernel(
  kernelName: string,
  run: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[],
): tf.KernelConfig {
  return { kernelName, backendName: "wasm", kernelFunc: run as unknown as tf.KernelFunc };
}

/** The kernel's backend as the wasm backend. */
export function wasmBackend(args: KernelArgs): WasmBackend {
  return args.backend as unknown as WasmBackend;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * `bytes` of scratch memory on the wasm heap (free with `backend.wasm._free`). Throws "Failed to allocate ..." (an
 * out-of-memory error to `explainOutOfMemory`, src/train/oom.ts) where emscripten's malloc returns 0: the kernels would
 * otherwise write over the start of the heap.
 */
export function heapAlloc(backend: WasmBackend, bytes: number): number {
  const at = backend.wasm._malloc(bytes);
  if (at === 0 && bytes > 0) throw new Error(`Failed to allocate ${bytes} bytes of wasm scratch memory`);
  return at;
}

/**
 * `count` float64 accumulators in wasm scratch memory, zeroed, filled by `sum` (given their byte offset), then copied
 * out and freed: the sums over rows that keep float64 precision (column sums, LayerNorm's dgamma and dbeta).
 */
export function float64Sums(backend: WasmBackend, count: number, sum: (at: number) => void): Float64Array {
  const at = heapAlloc(backend, count * 8);
  try {
    new Float64Array(backend.wasm.HEAPF32.buffer, at, count).fill(0);
    sum(at);
    return new Float64Array(backend.wasm.HEAPF32.buffer, at, count).slice(); // the heap may have grown: a new view
  } finally {
    backend.wasm._free(at);
  }
}

/** Float32 index (not byte offset) of a tensor's data in the wasm heap. */
export function heapIndex(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset >>> 2;
}

let fastEnabled = true;
/** Stock kernels by name, captured when their override was registered. */
const stock = new Map<string, tf.KernelConfig>();
/** Runs the stock wasm kernel `name`. */
function runStock(name: string, args: KernelArgs): tf.TensorInfo {
  return stock.get(name)!.kernelFunc(args) as tf.TensorInfo;
}

/**
 * A wasm kernel config that tries `fast` and otherwise runs the stock kernel of the same name. Its setup runs the
 * stock kernel's setup: the engine sets up only registered kernels, and stock kernels call each other's module-level
 * functions (the stock Sum calls the stock transpose), which exist only after their own setup.
 */
export function overrideKernel(kernelName: string, fast: FastKernel): tf.KernelConfig {
  return {
    kernelName,
    backendName: "wasm",
    setupFunc: (backend) => stock.get(kernelName)?.setupFunc?.(backend),
    kernelFunc: (args) => (fastEnabled ? fast(args) : null) ?? runStock(kernelName, args),
  };
}

/**
 * Puts `config` in place of the stock wasm kernel of the same name, which is kept to fall back to. Idempotent; must
 * come after tfjs-backend-wasm registered its kernels (on import).
 */
export function registerOverride(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, "wasm");
  if (!current) throw new Error(`tfjs-backend-wasm is not loaded: no stock ${config.kernelName} to override`);
  if (current.kernelFunc === config.kernelFunc) return;
  stock.set(config.kernelName, current);
  tf.unregisterKernel(config.kernelName, "wasm");
  tf.registerKernel(config);
}

/** Lets the overrides take the inputs they handle (`true`, the default) or routes everything to the stock kernels. */
export function setFastKernels(enabled: boolean): void {
  fastEnabled = enabled;
}

/** Whether the overrides and this project's own wasm kernels are switched on (`ownWasmKernels` also checks the
 * backend). */
export function fastKernelsEnabled(): boolean {
  return fastEnabled;
}

/** Whether this project's own wasm kernels run: the wasm backend is active and the fast kernels are on. */
export function ownWasmKernels(): boolean {
  return fastEnabled && tf.getBackend() === "wasm";
}
