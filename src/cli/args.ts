/**
 * Command-line parsing shared by every CLI: `--config FILE`, repeated `--set key=value`, `--out DIR`,
 * `--backend NAME`, plus flags specific to each command.
 */
import { parseArgs } from "node:util";
import { UserError } from "../util/errors.ts";

/** Options every experiment CLI accepts. */
export interface CommonArgs {
  config?: string;
  sets: string[];
  out?: string;
  backend?: string;
  resume: boolean;
  positionals: string[];
}

/** Extra options a command declares, in node:util parseArgs form. */
export type ExtraOptions = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

/** Parses `args` into the common options plus `extra` ones; unknown flags are user errors. */
export function parseCommonArgs(
  args: string[],
  extra: ExtraOptions = {},
): CommonArgs & { values: Record<string, unknown> } {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        set: { type: "string", multiple: true },
        out: { type: "string" },
        backend: { type: "string" },
        resume: { type: "boolean" },
        ...extra,
      },
    });
    const sets = [...(values.set as string[] | undefined ?? [])];
    if (typeof values.backend === "string") sets.push(`backend=${values.backend}`);
    return {
      config: values.config as string | undefined,
      sets,
      out: values.out as string | undefined,
      backend: values.backend as string | undefined,
      resume: Boolean(values.resume),
      positionals,
      values,
    };
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}
