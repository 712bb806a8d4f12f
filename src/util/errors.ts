import { distance } from "fastest-levenshtein";

/**
 * Errors that are the user's to fix (bad config, missing file, malformed data).
 * CLIs print their message without a stack trace and exit with code 2.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Thrown by argument parsing for `-h`/`--help`: `runMain` prints `text` to stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/**
 * The candidate closest to `word` by Levenshtein distance (fastest-levenshtein; the first of equally close ones), or
 * undefined when none is within max(2, ⌊length / 3⌋) edits: the "did you mean" hint of unknown keys and flags.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Why a filesystem call failed, in words, for the errors the user can fix; undefined for any other error. */
export function fsReason(err: unknown): string | undefined {
  if (err instanceof Deno.errors.NotADirectory) return "a component of the path is a file, not a directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.AlreadyExists) return "already exists";
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  const message = err instanceof Error ? err.message : "";
  if (/No space left|os error 28\b/i.test(message)) return "no space left on device";
  if (/Read-only file system|os error 30\b/i.test(message)) return "read-only file system";
  if (/Disk quota exceeded|os error 122\b/i.test(message)) return "disk quota exceeded";
  return undefined;
}

/**
 * A filesystem error no caller turned into a `UserError` (the safety net of `runMain`), as one line naming the path:
 * Deno's "Not a directory (os error 20): mkdir '/a/b'" becomes "mkdir '/a/b': a component of the path is a file, not
 * a directory"; undefined for other errors.
 */
export function fsErrorLine(err: unknown): string | undefined {
  const reason = fsReason(err);
  if (reason === undefined) return undefined;
  const message = (err as Error).message;
  const call = message.match(/\(os error \d+\):? (.+)$/)?.[1];
  return `${call ?? message}: ${reason}`;
}

/**
 * Prints the line a CLI prints for an error it knows and returns the exit code: a help request prints its text (0),
 * user errors and filesystem errors the user can fix (`fsErrorLine`) print one line `error: ...` (2). Undefined for
 * any other error, which the caller reports with its stack.
 */
export function reportKnownError(err: unknown): number | undefined {
  if (err instanceof HelpRequested) {
    console.log(err.text);
    return 0;
  }
  if (err instanceof UserError) {
    console.error(`error: ${err.message.trim().replace(/\s*\n\s*/g, "; ")}`); // always one line
    return 2;
  }
  const fsLine = fsErrorLine(err);
  if (fsLine === undefined) return undefined;
  console.error(`error: ${fsLine}`);
  return 2;
}

/**
 * Runs a CLI entry point: known errors print their line and exit with their code (`reportKnownError`), other errors
 * keep their stack (Deno's uncaught error, exit 1).
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const code = reportKnownError(err);
    if (code === undefined) throw err;
    Deno.exit(code);
  }
}
