/** `deno task jupyter`: Jupyter Notebook with the project's Deno kernel. Usage and flags: `JUPYTER_SPEC`. */
import { requireJupyter, startNotebookServer } from "../notebooks/jupyter.ts";
import { runMain } from "../util/errors.ts";
import { type CommandSpec, parseCli } from "./args.ts";

/** Port used when `--port` is not given. */
export const DEFAULT_PORT = 8888;

/** The command line of `deno task jupyter`. */
export const JUPYTER_SPEC: CommandSpec = {
  usage: "deno task jupyter",
  summary: "Starts Jupyter Notebook 6 on 127.0.0.1 serving notebooks/, with the project's Deno kernel.",
  details: [
    'The kernel is "Deno (ur4rec-lab)" (kernelspec `ur4rec`); the URL with its token is printed. Ctrl-C (or ' +
    "SIGTERM) stops the server and its kernels.",
  ],
  flags: {
    port: { type: "int", value: "N", min: 1, max: 65535, description: `port to listen on (default ${DEFAULT_PORT})` },
  },
  exitCodes: { 0: "the server stopped", 2: "user error (bad flag, Jupyter missing)" },
};

/** Parses `--port N` (1-65535). */
export function parseJupyterArgs(args: string[]): { port: number } {
  return { port: parseCli(JUPYTER_SPEC, args).values.port as number | undefined ?? DEFAULT_PORT };
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
