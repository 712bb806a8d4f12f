/**
 * The run-directory guard: decides, before any data is loaded or any file written, whether a run may use a
 * directory. A directory that holds a run is refused unless the run is continued (`--resume`: it must have a
 * complete checkpoint and the same config, up to `RESUME_SAFE_KEYS`) or replaced (`--force`: its run files are
 * removed first). Reads only; `clearRunFiles` is the one writer, called by the trainer once the run is ready.
 */
import { parseConfigYaml, resolveConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { MANIFEST_FILE } from "../models/checkpoint.ts";
import { UserError } from "../util/errors.ts";
import { checkWritableDir, completeCopy, exists, onPath, swapLeftovers } from "../util/fs.ts";
import { CHECKPOINT_MARKER, RUN_FILES, runPath } from "../run/files.ts";
import { readRunSummary } from "../run/json_files.ts";
import type { ResumeChange, RunSummary } from "../run/records.ts";

/** The file written last into `best/` (a weights directory, models/checkpoint.ts). */
export const BEST_MARKER = MANIFEST_FILE;

/**
 * Config keys that may change on `--resume`, because none of them changes a number already computed (metrics
 * written, weights and optimizer state in the checkpoint): how long stages run and when they stop
 * (`epochs_per_stage`, `patience`, `eval_every`), what is logged or saved (`log_every`, `checkpoint_every_epoch`),
 * how evaluation is batched (`eval_batch_size`, same metrics), how the final evaluation is sliced (`history_buckets`:
 * the slices are computed only when the run ends, so a resumed run computes them all with the new cuts) and
 * `investigate_steps` (not used by training). Every
 * other key (seed, learning rates, shapes, data, loss, backend, ...) would mix two runs in one directory.
 */
export const RESUME_SAFE_KEYS: readonly string[] = [
  "epochs_per_stage",
  "patience",
  "eval_every",
  "log_every",
  "checkpoint_every_epoch",
  "eval_batch_size",
  "history_buckets",
  "investigate_steps",
];

/** What a directory holds, as far as runs are concerned. */
export interface RunDirContents {
  /** Run files and folders present (names in `RUN_FILES`, plus `.tmp-`/`.old-` checkpoint copies). */
  files: string[];
  summary?: Partial<RunSummary>;
  /** The newest complete checkpoint copy (`checkpoint/`, or one an interrupted swap left), if any. */
  checkpoint?: string;
}

/** Lists what `dir` holds (nothing when it does not exist). Reads only. */
export async function inspectRunDir(dir: string): Promise<RunDirContents> {
  const files: string[] = [];
  for (const name of Object.values(RUN_FILES)) {
    if (await exists(`${dir}/${name}`)) files.push(name);
  }
  for (const name of [RUN_FILES.checkpoint, RUN_FILES.best, RUN_FILES.stageBest]) {
    const leftovers = await swapLeftovers(`${dir}/${name}`);
    for (const path of [...leftovers.tmp, ...leftovers.old]) files.push(path.slice(dir.length + 1));
  }
  const summary = files.includes(RUN_FILES.summary) ? await readRunSummary(dir).catch(() => ({})) : undefined;
  const checkpoint = await completeCopy(runPath(dir, "checkpoint"), CHECKPOINT_MARKER);
  return { files, summary, checkpoint };
}

/** A short description of a run directory's contents, e.g. "a completed run (test NDCG@10 0.1234)". */
export function describeRun(contents: RunDirContents): string {
  const { summary } = contents;
  const listed = `; ${contents.files.join(", ")}`;
  const ndcg = summary?.test?.["NDCG@10"];
  if (summary?.status === "completed") {
    return `a completed run (test NDCG@10 ${typeof ndcg === "number" ? ndcg.toFixed(4) : "n/a"}${listed})`;
  }
  if (summary?.status === "diverged") return `a diverged run (${summary.steps ?? "?"} steps${listed})`;
  if (summary?.status === "failed") {
    return `a failed run (${String(summary.error ?? "no error recorded").split("\n")[0].slice(0, 120)}${listed})`;
  }
  if (contents.checkpoint) return `an unfinished run with a checkpoint (${contents.files.join(", ")})`;
  return `the files of a run (${contents.files.join(", ")})`;
}

/** Reads a run's saved `config.yaml` as a config (without the environment's defaults), or undefined if absent. */
async function readSavedConfig(dir: string): Promise<Config | undefined> {
  const path = runPath(dir, "config");
  if (!(await exists(path))) return undefined;
  const text = await onPath(path, "read", () => Deno.readTextFile(path));
  return resolveConfig(parseConfigYaml(text, path), path);
}

/**
 * Whether `dir/config.yaml` exists and resolves to exactly `config`. Compared as resolved configs, not as text: a cell
 * prepared by an older version of the kit lacks the keys added since (their defaults), and a hand-written file may
 * hold comments. A file that does not resolve is not `config`.
 */
export async function savedConfigIs(dir: string, config: Config): Promise<boolean> {
  const saved = await readSavedConfig(dir).catch((e) => e instanceof UserError ? undefined : Promise.reject(e));
  return saved !== undefined && configChanges(saved, config).length === 0;
}

/** The keys whose values differ between two configs, with both values, in schema order. */
function configChanges(before: Config, after: Config): { key: string; from: unknown; to: unknown }[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const b = before as Record<string, unknown>, a = after as Record<string, unknown>;
  return keys.filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).map((k) => ({
    key: k,
    from: b[k],
    to: a[k],
  }));
}

const show = (value: unknown) => JSON.stringify(value) ?? "(unset)";

/**
 * Checks that `dir` can be resumed with `config`: it must hold a complete checkpoint and a `config.yaml` that
 * differs from `config` only in `RESUME_SAFE_KEYS`. Returns the safe changes (`at_step` left 0 for the trainer to
 * fill); every refusal is a `UserError` listing each changed key as `old -> new`. Reads only.
 */
export async function checkResume(dir: string, config: Config): Promise<ResumeChange[]> {
  const contents = await inspectRunDir(dir);
  if (!contents.checkpoint) {
    const held = contents.files.length > 0 ? `it holds ${describeRun(contents)}` : "it holds no run";
    const force = contents.files.length > 0 ? " (with --force to replace what is there)" : "";
    throw new UserError(
      `--resume ${dir}: nothing to resume, no complete checkpoint/ (${held}); drop --resume to start a fresh run${force}`,
    );
  }
  const saved = await readSavedConfig(dir);
  if (saved === undefined) {
    throw new UserError(`--resume ${dir}: no config.yaml beside the checkpoint, so the config cannot be checked`);
  }
  const changes = configChanges(saved, config);
  const unsafe = changes.filter((c) => !RESUME_SAFE_KEYS.includes(c.key));
  if (unsafe.length > 0) {
    throw new UserError(
      `--resume ${dir}: the config differs from the run's config.yaml: ` +
        `${unsafe.map((c) => `${c.key} ${show(c.from)} -> ${show(c.to)}`).join(", ")} ` +
        `(only ${RESUME_SAFE_KEYS.join(", ")} may change on resume); use another --out, or --force to start over`,
    );
  }
  return changes.map((c) => ({ ...c, at_step: 0 }));
}

/** How a command treats an output directory that already holds something. */
export interface OutDirOptions {
  /** The option as the user gave it, for messages, e.g. "--out runs/x" or "--out runs/x (default)". */
  flag: string;
  /** Continue the run in the directory (`checkResume` does the checks). */
  resume?: boolean;
  /** Replace what the directory holds. */
  force?: boolean;
}

/**
 * The check a training command makes before it loads data: `dir` must be writable (or creatable), and when it holds
 * a run, `--resume` or `--force` must say what to do with it (a lone `config.yaml` that resolves to exactly this
 * run's config is no run: the grid runner prepares cells that way, and the trainer keeps such a file as it is). Returns the
 * description of the run `--force` will replace, if any. Reads only.
 */
export async function checkOutDir(dir: string, config: Config, opts: OutDirOptions): Promise<string | undefined> {
  if (opts.resume && opts.force) {
    throw new UserError("--resume and --force: give one (continue the run, or remove it and start over)");
  }
  await checkWritableDir(dir, opts.flag);
  if (opts.resume) return undefined;
  const contents = await inspectRunDir(dir);
  if (contents.files.length === 0) return undefined;
  if (contents.files.length === 1 && contents.files[0] === RUN_FILES.config && await savedConfigIs(dir, config)) {
    return undefined;
  }
  const what = describeRun(contents);
  if (opts.force) return what;
  throw new UserError(
    `${opts.flag} holds ${what}: add --resume to continue it, or --force to remove it and start over`,
  );
}

/**
 * The check `investigate` makes before it runs: `dir` must be writable and, unless `force`, hold no NaN report and
 * no run. Returns the description of what `force` will replace, if anything. Reads only.
 */
export async function checkReportDir(dir: string, opts: OutDirOptions): Promise<string | undefined> {
  await checkWritableDir(dir, opts.flag);
  const contents = await inspectRunDir(dir);
  if (contents.files.length === 0) return undefined;
  const reportOnly = contents.files.every((f) => f === RUN_FILES.nanReport || f === RUN_FILES.nanText);
  const what = reportOnly ? `a NaN report (${contents.files.join(", ")})` : describeRun(contents);
  if (opts.force) return what;
  throw new UserError(`${opts.flag} holds ${what}: add --force to replace it, or choose another --out`);
}

/** Removes every run file and folder of `dir` (and interrupted swap copies) before a fresh run; other files stay. */
export async function clearRunFiles(dir: string): Promise<void> {
  for (const name of (await inspectRunDir(dir)).files) {
    const path = `${dir}/${name}`;
    await onPath(path, "remove", () => Deno.remove(path, { recursive: true }));
  }
}
