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

/** Levenshtein distance between two strings (for "did you mean" hints). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(up + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The candidate closest to `word` by edit distance, or undefined when none is reasonably close. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Runs a CLI entry point: a help request prints its text and exits 0, user errors print one line `error: ...` and
 * exit 2, other errors keep their stack.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(err.text);
      Deno.exit(0);
    }
    if (err instanceof UserError) {
      console.error(`error: ${err.message.trim().replace(/\s*\n\s*/g, "; ")}`); // always one line
      Deno.exit(2);
    }
    throw err;
  }
}
