/** Small hand-written data fixtures for the data-layer tests: ML-100K / ML-1M files and zip archives. */
import { crc32, deflateRawSync } from "node:zlib";
import { join } from "node:path";
import { resolveConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";

/** Genres of the fixture `u.genre`. */
export const FIXTURE_GENRES = ["unknown", "Action", "Comedy", "Drama"];

/**
 * The fixture ML-100K files: 6 items (item 5 has a latin-1 title, "Café Olé (1994)"), 3 users.
 * User 1 has 6 ratings (two at the same timestamp), user 2 has 5, user 3 has 2.
 */
export const ML100K_FIXTURE: Record<string, string> = {
  "u.genre": "unknown|0\nAction|1\nComedy|2\nDrama|3\n\n",
  "u.item": [
    "1|Alpha (1990)|01-Jan-1990||http://x|0|1|0|0",
    "2|Beta, The (1991)|01-Jan-1991||http://x|0|0|1|1",
    "3|Gamma (1992) (V)|01-Jan-1992||http://x|0|0|0|1",
    "4|unknown||||1|0|0|0",
    "5|Café Olé (1994)|01-Jan-1994||http://x|0|0|1|0",
    "6|Delta (1996)|01-Jan-1996||http://x|0|1|0|1",
  ].join("\n") + "\n",
  "u.data": [
    "1\t3\t5\t100",
    "1\t1\t4\t50",
    "1\t2\t3\t150",
    "1\t6\t5\t100",
    "1\t5\t4\t200",
    "1\t4\t4\t300",
    "2\t1\t5\t10",
    "2\t2\t5\t20",
    "2\t3\t4\t30",
    "2\t5\t4\t40",
    "2\t6\t2\t50",
    "3\t1\t5\t10",
    "3\t2\t5\t20",
  ].join("\n") + "\n",
  "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n",
};

/** Encodes text as latin-1 bytes (every char must be < 256). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Writes `files` (name -> latin-1 text) into `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeFile(join(dir, name), latin1(text));
}

/** A zip archive of `files` (name -> bytes); `deflate` picks deflate (method 8) or stored (method 0). */
export function buildZip(files: Record<string, Uint8Array>, deflate = true): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = new TextEncoder().encode(name);
    const body = deflate ? new Uint8Array(deflateRawSync(data)) : data;
    const crc = crc32(data) >>> 0;
    const local = new Uint8Array(30 + nameBytes.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    local.set(body, 30 + nameBytes.length);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, centrals.length, true);
  ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** A resolved config with `values` over the defaults. */
export function testConfig(values: Record<string, unknown>): Config {
  return resolveConfig(values, "test");
}
