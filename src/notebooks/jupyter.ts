/**
 * Jupyter from Deno: headless notebook execution through scripts/run_notebook.py and a Notebook 6 server.
 * Both use the apt-installed Jupyter (/usr/bin/jupyter, /usr/bin/python3) and the project-local kernelspec
 * `.jupyter/kernels/ur4rec` (found through JUPYTER_PATH), which `bash scripts/setup.sh --test` installs.
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { notebookName, NOTEBOOKS_DIR, REPO_ROOT } from "./ipynb.ts";

/** The Jupyter launcher (Notebook 6, from apt; `UR4REC_JUPYTER` for another install, e.g. on macOS). */
export const JUPYTER_BIN = Deno.env.get("UR4REC_JUPYTER") || "/usr/bin/jupyter";
/** The Python that has nbclient and nbconvert (the one on PATH may not); `UR4REC_PYTHON` overrides it. */
export const PYTHON_BIN = Deno.env.get("UR4REC_PYTHON") || "/usr/bin/python3";
/** Name of the project-local Deno kernelspec. */
export const KERNEL_NAME = "ur4rec";
/** Directory given to Jupyter as JUPYTER_PATH (holds kernels/ur4rec/kernel.json). */
export const JUPYTER_PATH = join(REPO_ROOT, ".jupyter");
const RUNNER = join(REPO_ROOT, "scripts", "run_notebook.py");

/** Environment every Jupyter process of the kit gets (on top of the caller's). */
function jupyterEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { JUPYTER_PATH, PYDEVD_DISABLE_FILE_VALIDATION: "1", NO_COLOR: "1", ...extra };
}

/** Why Jupyter cannot run here (missing launcher or kernelspec), or undefined when it can. */
export async function jupyterProblem(): Promise<string | undefined> {
  if (!(await exists(JUPYTER_BIN))) return `${JUPYTER_BIN} not found`;
  const spec = join(JUPYTER_PATH, "kernels", KERNEL_NAME, "kernel.json");
  if (!(await exists(spec))) return `kernelspec ${spec} not found`;
  return undefined;
}

/** Throws a user error with the set-up command when Jupyter or the kernelspec is missing. */
export async function requireJupyter(): Promise<void> {
  const problem = await jupyterProblem();
  if (problem) throw new UserError(`${problem}: run bash scripts/setup.sh --test`);
}

/** Options of one headless notebook run. */
export interface RunOptions {
  /** Directory for the executed notebook and its HTML (`<name>.ipynb`, `<name>.html`). */
  executedDir: string;
  /** Extra environment for the kernel (e.g. UR4REC_PROFILE, UR4REC_OUT_DIR). */
  env?: Record<string, string>;
  /** Seconds allowed per cell. */
  cellTimeoutS?: number;
}

/** Outcome of one headless notebook run. */
export interface RunResult {
  name: string;
  ok: boolean;
  seconds: number;
  executed: string;
  html: string;
  /** The runner's stderr: on failure, the failing cell and its traceback. */
  log: string;
}

/** Executes a notebook with the `ur4rec` kernel (cwd = its directory) and writes the executed copy and HTML. */
export async function runNotebook(path: string, options: RunOptions): Promise<RunResult> {
  const name = notebookName(path);
  const executed = join(options.executedDir, `${name}.ipynb`);
  const html = join(options.executedDir, `${name}.html`);
  const args = [RUNNER, path, executed, "--html", html, "--kernel", KERNEL_NAME];
  if (options.cellTimeoutS !== undefined) args.push("--timeout", String(options.cellTimeoutS));
  const start = performance.now();
  const out = await new Deno.Command(PYTHON_BIN, { args, env: jupyterEnv(options.env), stdin: "null" }).output();
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  return { name, ok: out.success, seconds: (performance.now() - start) / 1000, executed, html, log };
}

/** A running Jupyter Notebook server. */
export interface NotebookServer {
  /** Base URL including the token, e.g. `http://127.0.0.1:8888/?token=...`. */
  url: string;
  port: number;
  token: string;
  /** Resolves when the server process exits. */
  status: Promise<Deno.CommandStatus>;
  /** Stops the server and its kernels (SIGTERM; SIGKILL after 15 s) and waits for it to exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Options of `startNotebookServer`. */
export interface ServerOptions {
  port: number;
  /** Extra environment for the server and its kernels. */
  env?: Record<string, string>;
  /** Copy the server's log to this process's stderr (the CLI does; tests keep it for error messages). */
  echoLog?: boolean;
}

/** Seconds a starting server has to answer. */
const START_TIMEOUT_S = 60;

/** A free TCP port on the loopback interface. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts Jupyter Notebook 6 on 127.0.0.1 serving notebooks/ with the `ur4rec` kernel available, and waits until it
 * answers. Throws with the server's log when it exits or does not answer. Its stdin is not a terminal, so it does
 * not ask for confirmation on SIGINT; `stop()` sends SIGTERM, which it always handles by shutting down its kernels.
 */
export async function startNotebookServer(options: ServerOptions): Promise<NotebookServer> {
  const token = crypto.randomUUID().replaceAll("-", "");
  const args = [
    "notebook",
    "--no-browser",
    "--ip=127.0.0.1",
    `--port=${options.port}`,
    "--NotebookApp.port_retries=0",
    `--NotebookApp.token=${token}`,
    `--notebook-dir=${NOTEBOOKS_DIR}`,
    `--FileCheckpoints.checkpoint_dir=${join(JUPYTER_PATH, "checkpoints")}`, // git-ignored, not notebooks/
  ];
  if (Deno.uid() === 0) args.push("--allow-root");
  const child = new Deno.Command(JUPYTER_BIN, {
    args,
    env: jupyterEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = collectLog(child, options.echoLog ?? false);
  const status = child.status;
  let exited = false;
  status.then(() => (exited = true));
  const base = `http://127.0.0.1:${options.port}/`;
  const deadline = performance.now() + 1000 * START_TIMEOUT_S;
  while (!(await answers(`${base}api/status?token=${token}`))) {
    if (exited || performance.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      throw new UserError(`jupyter notebook did not start on port ${options.port}:\n${log.tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 15_000);
    const result = await status;
    clearTimeout(timer);
    return result;
  };
  return {
    url: `${base}?token=${token}`,
    port: options.port,
    token,
    status,
    stop,
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Reads the child's stdout and stderr to the end, keeping the last lines (and echoing them when asked). */
function collectLog(child: Deno.ChildProcess, echo: boolean): { tail(): string } {
  let tail = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      if (echo) await Deno.stderr.write(chunk);
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-8000);
    }
  };
  pump(child.stdout);
  pump(child.stderr);
  return { tail: () => tail };
}
