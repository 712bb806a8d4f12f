/**
 * Process identities that survive pid reuse (pid + start time, read from Linux's /proc), so a restarted runner can
 * tell whether a cell process or another runner recorded on disk is still alive. Elsewhere nothing is recorded.
 */

/** A process as recorded on disk. */
export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  start: string;
}

function readStat(pid: number): { state: string; start: string } | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name: state is field 3, starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], start: fields[19] };
}

/** The identity of a live process, or undefined where /proc is unavailable or the process is gone. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const stat = readStat(pid);
  return stat ? { pid, start: stat.start } : undefined;
}

/** True while the recorded process runs (not exited, not a zombie, pid not reused). */
export function isRunning(id: ProcessIdentity): boolean {
  const stat = readStat(id.pid);
  return stat !== undefined && stat.start === id.start && stat.state !== "Z" && stat.state !== "X";
}

/** Kills the recorded process (SIGKILL) if it still runs, and waits until it is gone. */
export async function killAndWait(id: ProcessIdentity, timeoutMs = 10_000): Promise<void> {
  if (!isRunning(id)) return;
  try {
    Deno.kill(id.pid, "SIGKILL");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (isRunning(id)) {
    if (Date.now() > deadline) throw new Error(`process ${id.pid} did not exit after SIGKILL`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
