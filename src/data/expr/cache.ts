/**
 * Evaluated-expression cache: final results per (canonical expression, instrument, range, options),
 * bounded by total bytes with least-recently-used eviction. qlib's `MemCache` bounds by entry count
 * (500); bytes suit columns whose length varies with the range. A cache belongs to one data
 * source: share it only between evaluations over the same source.
 */

export interface ExpressionCacheOptions {
  /** Largest total size of cached arrays in bytes. Default 256 MiB. */
  maxBytes?: number;
}

export interface ExpressionCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
}

export class ExpressionCache {
  readonly maxBytes: number;
  private readonly entries = new Map<string, Float64Array>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(options: ExpressionCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  private static key(expr: string, instrument: string, startIdx: number, endIdx: number, optionsKey: string): string {
    return `${expr}\u0000${instrument}\u0000${startIdx}\u0000${endIdx}\u0000${optionsKey}`;
  }

  /** A copy of the cached result, or undefined. A hit makes the entry most recently used. */
  get(expr: string, instrument: string, startIdx: number, endIdx: number, optionsKey: string): Float64Array | undefined {
    const k = ExpressionCache.key(expr, instrument, startIdx, endIdx, optionsKey);
    const v = this.entries.get(k);
    if (!v) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(k);
    this.entries.set(k, v);
    return v.slice();
  }

  /** Stores a copy; arrays larger than `maxBytes` are not stored. */
  set(expr: string, instrument: string, startIdx: number, endIdx: number, optionsKey: string, value: Float64Array): void {
    if (value.byteLength > this.maxBytes) return;
    const k = ExpressionCache.key(expr, instrument, startIdx, endIdx, optionsKey);
    const old = this.entries.get(k);
    if (old) {
      this.bytes -= old.byteLength;
      this.entries.delete(k);
    }
    this.entries.set(k, value.slice());
    this.bytes += value.byteLength;
    while (this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.bytes -= this.entries.get(oldest)!.byteLength;
      this.entries.delete(oldest);
      this.evictions++;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  stats(): ExpressionCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, entries: this.entries.size, bytes: this.bytes };
  }
}
