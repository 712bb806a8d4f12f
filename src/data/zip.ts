/**
 * A small zip reader (no `unzip` binary needed): the central directory, stored and deflated members
 * (`node:zlib` inflateRawSync), CRC-32 checked. No zip64, no encryption.
 */
import { crc32, inflateRawSync } from "node:zlib";
import { UserError } from "../util/errors.ts";

/** One file of an archive (directories are left out). */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

function findEndOfCentralDirectory(view: DataView, source: string): number {
  const last = view.byteLength - 22;
  for (let p = last; p >= Math.max(0, last - 0xffff); p--) {
    if (view.getUint32(p, true) === EOCD_SIGNATURE) return p;
  }
  throw new UserError(`${source}: not a zip archive (no end-of-central-directory record)`);
}

/** The files of a zip archive, decompressed; `source` names the archive in errors. */
export function readZip(bytes: Uint8Array, source: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 22) throw new UserError(`${source}: not a zip archive (too short)`);
  const eocd = findEndOfCentralDirectory(view, source);
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL_SIGNATURE) {
      throw new UserError(`${source}: corrupt central directory (entry ${i + 1})`);
    }
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const compressedSize = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const localOffset = view.getUint32(p + 42, true);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
    p += 46 + nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    if (name.endsWith("/")) continue;
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      throw new UserError(`${source}: ${name}: zip64 archives are not supported`);
    }
    if (view.getUint32(localOffset, true) !== LOCAL_SIGNATURE) {
      throw new UserError(`${source}: ${name}: corrupt local header`);
    }
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    const raw = bytes.subarray(start, start + compressedSize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) data = new Uint8Array(inflateRawSync(raw));
    else throw new UserError(`${source}: ${name}: unsupported compression method ${method}`);
    if (crc32(data) >>> 0 !== crc) throw new UserError(`${source}: ${name}: CRC-32 mismatch (corrupt archive)`);
    entries.push({ name, data });
  }
  return entries;
}
