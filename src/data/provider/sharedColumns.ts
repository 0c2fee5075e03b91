/**
 * Decoded `.bin` columns in shared memory, so a data worker thread can use the columns the main
 * thread's provider already read instead of reading and decoding the files again (and holding a
 * second copy). Columns are carved out of `SharedArrayBuffer` chunks; a snapshot (`SharedColumns`)
 * names each cached column by key and place, and costs one message to send.
 */
import type { StoredSeries } from './binFile.ts';

/** Bytes per chunk: ~800 columns of five years of days. A longer column gets a chunk of its own. */
const CHUNK_BYTES = 8 * 2 ** 20;

/** A provider's cached columns as another thread can adopt them. */
export interface SharedColumns {
  chunks: readonly SharedArrayBuffer[];
  keys: readonly string[];
  /** Per key, 4 numbers: chunk index (-1: no such file), offset in values, length, start index. */
  places: readonly number[];
}

export class SharedColumnStore {
  private readonly chunks: SharedArrayBuffer[] = [];
  private readonly chunkIndex = new Map<ArrayBufferLike, number>();
  /** The chunk small columns are carved from (a long column's own chunk never is), and its bytes used. */
  private current: SharedArrayBuffer | null = null;
  private used = 0;
  // Kept as columns are recorded, so a snapshot costs nothing on the fetch's critical path.
  private readonly keys: string[] = [];
  private readonly places: number[] = [];

  /** A Float64Array of n values in shared memory (zeroed). */
  alloc(n: number): Float64Array {
    const bytes = n * 8;
    if (bytes > CHUNK_BYTES) return new Float64Array(this.addChunk(bytes), 0, n);
    if (this.current === null || this.used + bytes > CHUNK_BYTES) {
      this.current = this.addChunk(CHUNK_BYTES);
      this.used = 0;
    }
    const out = new Float64Array(this.current, this.used, n);
    this.used += bytes;
    return out;
  }

  private addChunk(bytes: number): SharedArrayBuffer {
    const chunk = new SharedArrayBuffer(bytes);
    this.chunkIndex.set(chunk, this.chunks.length);
    this.chunks.push(chunk);
    return chunk;
  }

  /** Records a cached column allocated here (or a missing file: `null`) under `key`. */
  record(key: string, series: StoredSeries | null): void {
    if (series === null) {
      this.keys.push(key);
      this.places.push(-1, 0, 0, 0);
      return;
    }
    const chunk = this.chunkIndex.get(series.values.buffer);
    if (chunk === undefined) return; // not allocated here: nothing another thread can share
    this.keys.push(key);
    this.places.push(chunk, series.values.byteOffset / 8, series.values.length, series.startIdx);
  }

  /** The recorded columns. Arrays are the store's own: send them (a message copies them), do not keep them. */
  snapshot(): SharedColumns {
    return { chunks: this.chunks, keys: this.keys, places: this.places };
  }
}

/** Adds the snapshot's columns that `cache` does not have yet. */
export function adoptColumns(cache: Map<string, StoredSeries | null>, shared: SharedColumns): void {
  const { chunks, keys, places } = shared;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    if (cache.has(key)) continue;
    const chunk = places[4 * k] as number;
    if (chunk < 0) {
      cache.set(key, null);
      continue;
    }
    const values = new Float64Array(chunks[chunk] as SharedArrayBuffer, (places[4 * k + 1] as number) * 8, places[4 * k + 2] as number);
    cache.set(key, { startIdx: places[4 * k + 3] as number, values });
  }
}
