/**
 * The NumPy `.npy` format (version 1.0/2.0/3.0) for 2-D little-endian float32 arrays: `np.save(path, a.astype("<f4"))`
 * writes what `decodeNpy` reads, and `encodeNpy` writes what `np.load` reads.
 */
import { UserError } from "../util/errors.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** A 2-D float32 matrix, row-major. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * Parses `.npy` bytes holding a C-order 2-D `<f4` array of finite values; `source` names the file in errors
 * (a bad header or size, and the first NaN/±Infinity with its row and column, are `UserError`s).
 */
export function decodeNpy(bytes: Uint8Array, source: string): Matrix {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UserError(`${source}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = header.match(/'descr':\s*'([^']*)'/)?.[1];
  const fortran = header.match(/'fortran_order':\s*(True|False)/)?.[1];
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)?.[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (descr !== "<f4" || fortran !== "False" || shape?.length !== 2) {
    throw new UserError(
      `${source}: expected a 2-D C-order float32 array ('descr': '<f4', 'fortran_order': False, 2-D shape), ` +
        `got header ${header.trim()}`,
    );
  }
  const [rows, cols] = shape.map(Number);
  const start = headerStart + headerLength;
  if (bytes.length - start !== rows * cols * 4) {
    throw new UserError(
      `${source}: holds ${bytes.length - start} data bytes, shape (${rows}, ${cols}) needs ${rows * cols * 4}`,
    );
  }
  const data = new Float32Array(rows * cols);
  new Uint8Array(data.buffer).set(bytes.subarray(start));
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) {
    const count = data.reduce((n, x) => n + (Number.isFinite(x) ? 0 : 1), 0);
    throw new UserError(
      `${source}: row ${Math.floor(bad / cols)}, column ${bad % cols} holds ${data[bad]} ` +
        `(${count} non-finite value(s) in all); every value must be finite`,
    );
  }
  return { rows, cols, data };
}

/** Encodes a row-major float32 matrix as `.npy` version 1.0 bytes. */
export function encodeNpy(m: Matrix): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + m.data.byteLength);
  out.set(MAGIC);
  out.set([1, 0], 6);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), 10 + header.length);
  return out;
}
