/** Bad data files of every supported format (see harness.ts). */
import type { BadInput } from "./harness.ts";

/** The small ML-100K side files every ML-100K row needs besides the file it breaks. */
export const ML100K_SIDE_FILES: Record<string, string> = {
  "ml-100k/u.genre": "unknown|0\nAction|1\n",
  "ml-100k/u.item": Array.from({ length: 6 }, (_, i) => `${i + 1}|Movie ${i + 1} (1995)|01-Jan-1995||http://x|0|1`)
    .join("\n") + "\n",
  "ml-100k/u.user": "1|24|M|technician|85711\n",
};

/** Rows for data files. */
export const DATA_ROWS: BadInput[] = [
  {
    name: "u.data line with three fields",
    files: { ...ML100K_SIDE_FILES, "ml-100k/u.data": "1\t1\t4\t100\n1\t2\t4\n" },
    cli: "data",
    args: ["stats", "--data-dir", "{dir}", "--dataset", "ml-100k"],
    expect: /\{dir\}\/ml-100k\/u\.data:2: expected 4 tab-separated fields/,
  },
];
