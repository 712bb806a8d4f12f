/**
 * The key tables of configs/README.md, generated from the schema (`CONFIG_SECTIONS`): one Markdown table per
 * section with each key's values and default (from the zod types, via JSON Schema) and meaning (its `.describe`).
 * In the README each table sits between `<!-- config-keys:SECTION -->` and `<!-- /config-keys -->`.
 */
import { z } from "zod";
import { CONFIG_SECTIONS, ORIGINAL_KEYS } from "./schema.ts";

/** A section name of `CONFIG_SECTIONS` (`run`, `data`, ...). */
export type ConfigSection = keyof typeof CONFIG_SECTIONS;

/** The subset of a JSON Schema node that config keys use. */
interface JsonNode {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonNode[];
  items?: JsonNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
  description?: string;
}

/** A bound as the README writes it: 2^32-1, 1e7, else the number. */
function bound(n: number): string {
  if (n === 2 ** 32 - 1) return "2^32-1";
  const exponent = Math.log10(n);
  return n >= 1e6 && Number.isInteger(exponent) ? `1e${exponent}` : String(n);
}

/** The values a JSON Schema node admits, in the README's words (`int 1..64`, `` `a` \| `b` ``, `bool`, ...). */
function values(node: JsonNode): string {
  if (node.anyOf) return node.anyOf.filter((n) => n.type !== "null").map(values).join(" or ") + " or null";
  if (node.enum) return node.enum.map((v) => `\`${v}\``).join(" \\| ");
  if (node.type === "array") return `list of ${values(node.items ?? {})}`;
  if (node.type === "boolean") return "bool";
  if (node.type === "string") return "string";
  const kind = node.type === "integer" ? "int" : "float";
  if (node.maximum === undefined || node.maximum > Number.MAX_SAFE_INTEGER - 1) return `${kind} >= ${node.minimum}`;
  if (node.exclusiveMinimum !== undefined) return `${kind} in (${node.exclusiveMinimum}, ${bound(node.maximum)}]`;
  return `${kind} ${bound(node.minimum ?? 0)}..${bound(node.maximum)}`;
}

/** A default as the README writes it: strings in backticks, lists in brackets. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return `[${value.join(", ")}]`;
  return typeof value === "string" ? `\`${value}\`` : String(value);
}

/** The rows of a section's table: key cell (with **(orig)**), values with the default, meaning. */
export function keyRows(section: ConfigSection): string[][] {
  const json = z.toJSONSchema(z.object(CONFIG_SECTIONS[section])) as { properties: Record<string, JsonNode> };
  return Object.entries(json.properties).map(([key, node]) => [
    `\`${key}\`${ORIGINAL_KEYS.includes(key) ? " **(orig)**" : ""}`,
    `${values(node)} (${shown(node.default)})`,
    node.description ?? "",
  ]);
}

/** A Markdown table with padded columns (as `deno fmt` writes it). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The Markdown key table of one section. */
export function keyTable(section: ConfigSection): string {
  return table(["key", "values (default)", "meaning"], keyRows(section));
}

const MARKED = /<!-- config-keys:(\w+) -->\n[\s\S]*?<!-- \/config-keys -->/g;

/**
 * `readme` with every marked table replaced by the generated one. An unknown section name in a marker, or a
 * section without a marker, is an `Error` (the README and the schema disagree on the sections).
 */
export function withKeyTables(readme: string): string {
  const seen = new Set<string>();
  const out = readme.replace(MARKED, (_, section: string) => {
    if (!(section in CONFIG_SECTIONS)) throw new Error(`configs/README.md: unknown config-keys section "${section}"`);
    seen.add(section);
    return `<!-- config-keys:${section} -->\n\n${keyTable(section as ConfigSection)}\n\n<!-- /config-keys -->`;
  });
  const missing = Object.keys(CONFIG_SECTIONS).filter((s) => !seen.has(s));
  if (missing.length > 0) throw new Error(`configs/README.md: no config-keys marker for ${missing.join(", ")}`);
  return out;
}
