/**
 * qlib's feature `.bin` format: little-endian float32; element 0 is the calendar index of the first
 * stored value (itself stored as a float32), elements 1..n are the values of n consecutive calendar days.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { DataError } from './errors.ts';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** A stored column: its first calendar index and its values (float32 widened to float64). */
export interface StoredSeries {
  startIdx: number;
  values: Float64Array;
}

/**
 * Decodes a `.bin` file's bytes. Throws `BAD_BIN_FILE` when the size is not a whole number of
 * float32s or the header is not an index. `alloc` gives the values' array (default: a new one).
 */
export function decodeBin(bytes: Uint8Array, path: string, alloc: (n: number) => Float64Array = newFloat64Array): StoredSeries {
  if (bytes.byteLength < 4 || bytes.byteLength % 4 !== 0) {
    throw new DataError('BAD_BIN_FILE', `${path}: ${bytes.byteLength} bytes is not a start index plus float32 values`, {
      path,
      hint: 're-import the data; a .bin file is 4 bytes of start index then 4 bytes per day',
    });
  }
  const n = bytes.byteLength / 4;
  let f32: Float32Array;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) {
    f32 = new Float32Array(bytes.buffer, bytes.byteOffset, n);
  } else {
    f32 = new Float32Array(n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) f32[i] = view.getFloat32(i * 4, true);
  }
  const startIdx = f32[0];
  if (!Number.isInteger(startIdx) || startIdx < 0) {
    throw new DataError('BAD_BIN_FILE', `${path}: start index ${startIdx} is not a calendar index`, {
      path,
      hint: 'the first float32 of a .bin file must be a non-negative integer',
    });
  }
  // set() widens natively; Float64Array.from walks the source through the iterator protocol.
  const values = alloc(n - 1);
  values.set(f32.subarray(1));
  return { startIdx, values };
}

function newFloat64Array(n: number): Float64Array {
  return new Float64Array(n);
}

/** Reads and decodes a `.bin` file; `null` when it does not exist. `alloc`: as for `decodeBin`. */
export function readBin(path: string, alloc?: (n: number) => Float64Array): StoredSeries | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataError('BAD_BIN_FILE', `cannot read ${path}: ${(e as Error).message}`, { path, cause: e });
  }
  return decodeBin(bytes, path, alloc);
}

/** Encodes values starting at calendar index `startIdx` into `.bin` bytes (values rounded to float32). */
export function encodeBin(startIdx: number, values: ArrayLike<number>, from = 0, to = values.length): Buffer {
  const n = to - from;
  const buf = Buffer.allocUnsafe(4 * (n + 1));
  if (LITTLE_ENDIAN_HOST && buf.byteOffset % 4 === 0) {
    const f32 = new Float32Array(buf.buffer, buf.byteOffset, n + 1);
    f32[0] = startIdx;
    for (let i = 0; i < n; i++) f32[i + 1] = values[from + i];
  } else {
    buf.writeFloatLE(startIdx, 0);
    for (let i = 0; i < n; i++) buf.writeFloatLE(values[from + i], 4 * (i + 1));
  }
  return buf;
}
