/**
 * `deno task jupyter [--port N]`: starts Jupyter Notebook 6 on 127.0.0.1 serving notebooks/, with the project's
 * Deno kernel ("Deno (ur4rec-lab)", kernelspec `ur4rec`) available, and prints the URL with its token.
 * Ctrl-C (or SIGTERM) stops the server and its kernels.
 */
import { parseArgs } from "node:util";
import { requireJupyter, startNotebookServer } from "../notebooks/jupyter.ts";
import { runMain, UserError } from "../util/errors.ts";

/** Port used when `--port` is not given. */
export const DEFAULT_PORT = 8888;

/** Parses `--port N` (1-65535). */
export function parseJupyterArgs(args: string[]): { port: number } {
  let values: { port?: string };
  try {
    values = parseArgs({ args, options: { port: { type: "string" } } }).values;
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`--port ${values.port}: expected an integer port between 1 and 65535`);
  }
  return { port };
}

async function main(): Promise<void> {
  const { port } = parseJupyterArgs(Deno.args);
  await requireJupyter();
  const server = await startNotebookServer({ port, echoLog: true });
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => server.stop());
  console.log(`\nJupyter Notebook with the ur4rec Deno kernel: ${server.url}\n(Ctrl-C stops it)\n`);
  const status = await server.status;
  Deno.exit(status.code);
}

if (import.meta.main) await runMain(main);
