/**
 * A cell worker: one long-lived process that runs a grid's cells one after another, in process, so that each cell
 * pays for Deno's start, module loading and the tfjs backend once per worker instead of once per cell (a smoke cell
 * was 0.36 s of process start-up against 0.15 s of work; docs/performance.md, "Grid throughput").
 *
 * `deno run -A cell_worker.ts SCRIPT` imports the cell script, which must export `main(args: string[])` and run
 * itself only `if (import.meta.main)` (as src/cli/train.ts does), then speaks line by line (worker_pool.ts is the
 * other end; every line it writes to stdout starts with `WORKER_MARK`):
 * - it first writes `{"ready": true}`, or `{"ready": false, "error": "..."}` and exits 2 when SCRIPT cannot be
 *   imported or exports no `main`;
 * - for each `{"args": [...], "log": PATH}` read from stdin it runs `main(args)` with the console appended to PATH
 *   (the cell's log.txt, written by this process itself as a cell process would) and writes `{"code": N,
 *   "retire": bool}`: N is what the script's process would exit with (0; 2 for a user error, 1 for any other error,
 *   printed with its stack). A script that calls `Deno.exit` ends the worker, and the pool records that exit code.
 * - it retires (exits after answering) when a cell exited non-zero, left tensors allocated or changed the working
 *   directory or environment, so that the next cell starts in a clean process; the cell's log says why. Timers a cell
 *   leaves running cannot be seen: a cell script must not leave any, nor read stdin (the trainer does neither).
 * - it exits at the end of stdin.
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { format } from "node:util";
import { reportKnownError } from "../util/errors.ts";
import { WORKER_MARK } from "./worker_pool.ts";

/** What a cell script exports. */
type CellMain = (args: string[]) => Promise<void>;

/** The console methods that print (all of them go to the cell's log while a cell runs). */
const PRINTING = ["log", "info", "debug", "warn", "error", "trace"] as const;

/** Writes all of `text` to `target` (one write may take only part of it). */
function writeAll(target: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let written = 0; written < bytes.length;) written += target.writeSync(bytes.subarray(written));
}

/** Writes a protocol message to stdout. */
function send(message: Record<string, unknown>): void {
  writeAll(Deno.stdout, `${WORKER_MARK}${JSON.stringify(message)}\n`);
}

/** Points the console at `file` (appending); returns the function that points it back. */
function redirectConsole(file: Deno.FsFile): () => void {
  const saved = PRINTING.map((name) => console[name]);
  const print = (...data: unknown[]) => writeAll(file, `${format(...data)}\n`);
  for (const name of PRINTING) console[name] = print;
  return () => PRINTING.forEach((name, i) => console[name] = saved[i]);
}

/** What a cell could change for the cells after it in the process: the working directory and the environment. */
function processState(): string {
  return JSON.stringify([Deno.cwd(), Object.entries(Deno.env.toObject()).sort()]);
}

/** Runs one cell: `main(args)` with the console in `log`; returns its exit code and whether the worker retires. */
async function runInProcess(main: CellMain, args: string[], log: string): Promise<{ code: number; retire: boolean }> {
  const file = await Deno.open(log, { append: true, create: true });
  const restore = redirectConsole(file);
  const tensorsBefore = tf.engine().state.numTensors;
  const processBefore = processState();
  let code = 0;
  try {
    await main(args);
  } catch (err) {
    code = reportKnownError(err) ?? 1;
    if (code === 1) console.error(err);
  }
  const leaked = tf.engine().state.numTensors - tensorsBefore;
  const reasons = [
    ...(code !== 0 ? [`exit code ${code}`] : []),
    ...(leaked > 0 ? [`${leaked} tensors left allocated`] : []),
    ...(processState() !== processBefore ? ["the working directory or environment changed"] : []),
  ];
  if (reasons.length > 0) {
    console.log(`cell worker ${Deno.pid}: ${reasons.join("; ")}; the next cell starts in a fresh process`);
  }
  restore();
  file.close();
  return { code, retire: reasons.length > 0 };
}

/** The `main` export of the cell script at `script`; throws when it cannot be imported or has none. */
async function importMain(script: string): Promise<CellMain> {
  const module = await import(pathToFileURL(script).href);
  if (typeof module.main !== "function") {
    throw new Error(
      "exports no main(args: string[]), which cell workers call (see src/cli/train.ts); run it with --process-per-cell",
    );
  }
  return module.main;
}

if (import.meta.main) {
  const [script] = Deno.args;
  let main: CellMain;
  try {
    main = await importMain(script);
  } catch (err) {
    send({ ready: false, error: err instanceof Error ? err.message.split("\n")[0] : String(err) });
    Deno.exit(2);
  }
  send({ ready: true });
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const { args, log } = JSON.parse(line) as { args: string[]; log: string };
    const result = await runInProcess(main, args, log);
    send(result);
    if (result.retire) break;
  }
  Deno.exit(0);
}
