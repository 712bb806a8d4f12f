/** Bad run directories and output paths (see harness.ts). */
import type { BadInput } from "./harness.ts";

/** Rows for `--out`, `--resume` and other paths a CLI writes. */
export const RUN_ROWS: BadInput[] = [];
