/**
 * The runner's end of a cell worker (cell_worker.ts): a long-lived `deno run` process that runs one cell at a time in
 * process. Each cell is recorded as a cell process is (cell.ts): a header in its log.txt, the worker's pid in pid.json
 * while it runs, exit.json when it ends. Whatever the worker prints outside a cell's console (a fatal V8 or Deno
 * error, a library writing to stdout itself) is appended to the log of the cell it runs. A worker that dies mid-cell
 * records the death as that cell's exit (code and signal), as a cell process's death would be.
 */
import { fileURLToPath } from "node:url";
import { runPath } from "../run/files.ts";
import { UserError } from "../util/errors.ts";
import { CELL_ENV, type CellExit, type CellTask, denoRun, logAttempt, recordAttempt, recordNotRun } from "./cell.ts";

/** The mark that starts every protocol message a worker writes to stdout (the message runs to the end of the line). */
export const WORKER_MARK = "ur4rec-cell-worker ";

const WORKER_SCRIPT = fileURLToPath(new URL("./cell_worker.ts", import.meta.url));

/** A message of the worker (see cell_worker.ts); undefined once its stdout has ended. */
type Message = { ready?: boolean; error?: string; code?: number; retire?: boolean } | undefined;

/** One cell worker process running the cells of one cell script. */
export class CellWorker {
  /** Cells started in this worker. */
  #cells = 0;
  #retired = false;
  #stdoutEnded = false;
  #log: string | undefined;
  #startOutput = "";
  #reply = Promise.withResolvers<Message>();
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #outputDone: Promise<unknown>;

  private constructor(private readonly child: Deno.ChildProcess) {
    this.#stdin = child.stdin.getWriter();
    this.#outputDone = Promise.all([this.#readStdout(), this.#readStderr()]);
    child.status.then(() => this.#retired = true);
  }

  /**
   * Starts a worker for `script` and waits until it has imported it. Throws a `UserError` naming the script when it
   * cannot be imported, exports no `main` or ends the process on import; an Error when the worker is killed first.
   */
  static async start(script: string): Promise<CellWorker> {
    const child = new Deno.Command(Deno.execPath(), {
      args: denoRun(WORKER_SCRIPT, [script]).slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: CELL_ENV,
    }).spawn();
    const worker = new CellWorker(child);
    const hello = await worker.#reply.promise;
    if (hello?.ready === true) return worker;
    await worker.close();
    if (hello?.error) throw new UserError(`cell script ${script}: ${hello.error}`);
    const { code, signal } = await child.status;
    if (signal) throw new Error(`the cell worker for ${script} was killed by ${signal} before it was ready`);
    const output = worker.#startOutput.trim().split("\n").at(-1);
    throw new UserError(
      `cell script ${script}: its worker exited with code ${code} on import${output ? `: ${output}` : ""}`,
    );
  }

  /** The worker's process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** Whether the next cell can run here: the worker is alive and did not retire. */
  get usable(): boolean {
    return !this.#retired;
  }

  /**
   * Runs `task` in this worker and returns how it ended (also written to its exit.json). Aborting `signal` sends the
   * worker SIGTERM, which ends the cell as it would end a cell process.
   */
  async run(task: CellTask, signal?: AbortSignal): Promise<CellExit> {
    if (!this.usable) { // it died since it was chosen: the cell did not run
      return await recordNotRun(task.runDir, `its cell worker ${this.pid} had exited before the cell started`);
    }
    this.#cells++;
    await logAttempt(task, ` (in cell worker ${this.pid}, its cell ${this.#cells})`);
    this.#log = runPath(task.runDir, "log");
    const stop = () => this.#kill("SIGTERM");
    signal?.addEventListener("abort", stop);
    try {
      return await recordAttempt(task, this.pid, this.#exchange(task));
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#log = undefined;
    }
  }

  /** Ends the worker (at the end of its stdin, or at once when `kill`) and waits for its process. */
  async close(kill = false): Promise<void> {
    if (kill) this.#kill("SIGKILL");
    await this.#stdin.close().catch(() => {});
    await this.child.status;
    await this.#outputDone;
  }

  async #exchange(task: CellTask): Promise<CellExit> {
    this.#reply = Promise.withResolvers<Message>();
    if (this.#stdoutEnded) this.#reply.resolve(undefined);
    const request = JSON.stringify({ args: task.args, log: runPath(task.runDir, "log") });
    await this.#stdin.write(new TextEncoder().encode(`${request}\n`)).catch(() => {}); // a dead worker: see below
    const reply = await this.#reply.promise;
    if (typeof reply?.code === "number") {
      if (reply.retire) this.#retired = true;
      return { code: reply.code, signal: null };
    }
    const status = await this.child.status;
    await this.#outputDone; // its last words are in the cell's log before the exit is recorded
    return { code: status.code, signal: status.signal };
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // already exited
    }
  }

  #append(text: string): void {
    if (text === "") return;
    if (this.#log) Deno.writeTextFileSync(this.#log, text, { append: true });
    else this.#startOutput += text;
  }

  async #readStdout(): Promise<void> {
    let partial = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const mark = line.indexOf(WORKER_MARK); // after whatever the cell left on the line without a newline
        this.#append(mark < 0 ? `${line}\n` : line.slice(0, mark));
        if (mark >= 0) this.#reply.resolve(JSON.parse(line.slice(mark + WORKER_MARK.length)));
      }
    }
    this.#append(partial);
    this.#retired = this.#stdoutEnded = true;
    this.#reply.resolve(undefined);
  }

  async #readStderr(): Promise<void> {
    for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) this.#append(chunk);
  }
}
