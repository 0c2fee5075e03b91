/**
 * An in-memory `FieldSource`: series per (instrument, field) placed at a calendar index. Useful for
 * tests, examples and data built in code. Positions outside an instrument's data are NaN.
 */
import type { FieldSource } from './types.ts';

export interface MemorySeries {
  /** Calendar index of `values[0]`. Default 0. */
  start?: number;
  values: ArrayLike<number>;
}

export class MemorySource implements FieldSource {
  private readonly data = new Map<string, Map<string, { start: number; values: Float64Array }>>();

  /**
   * @param calendar trading days, `YYYY-MM-DD`, sorted
   * @param data `{ instrument: { field: values | {start, values} } }`
   */
  constructor(
    private readonly calendar: readonly string[],
    data: Record<string, Record<string, ArrayLike<number> | MemorySeries>> = {},
  ) {
    for (const [inst, fields] of Object.entries(data)) {
      for (const [field, s] of Object.entries(fields)) this.set(inst, field, s);
    }
  }

  /** A calendar of `n` consecutive weekdays from 2020-01-01, for tests that need only indices. */
  static weekdays(n: number, from = '2020-01-01'): string[] {
    const out: string[] = [];
    const d = new Date(`${from}T00:00:00Z`);
    while (out.length < n) {
      const wd = d.getUTCDay();
      if (wd !== 0 && wd !== 6) out.push(d.toISOString().slice(0, 10));
      d.setUTCDate(d.getUTCDate() + 1);
    }
    return out;
  }

  set(instrument: string, field: string, series: ArrayLike<number> | MemorySeries): void {
    const s: MemorySeries = 'values' in series && !(series instanceof Float64Array) && !Array.isArray(series) ? (series as MemorySeries) : { values: series as ArrayLike<number> };
    let fields = this.data.get(instrument);
    if (!fields) this.data.set(instrument, (fields = new Map()));
    fields.set(field, { start: s.start ?? 0, values: Float64Array.from(s.values) });
  }

  calendarDays(): readonly string[] {
    return this.calendar;
  }

  fields(instrument: string): string[] {
    return [...(this.data.get(instrument)?.keys() ?? [])];
  }

  instruments(): string[] {
    return [...this.data.keys()];
  }

  /** First and last calendar index stored for the field (like a `.bin` file's span). */
  dataRange(instrument: string, field: string): { first: number; last: number } | undefined {
    const s = this.data.get(instrument)?.get(field);
    if (!s || s.values.length === 0) return undefined;
    return { first: s.start, last: s.start + s.values.length - 1 };
  }

  load(instrument: string, field: string, startIdx: number, endIdx: number): Float64Array {
    const out = new Float64Array(Math.max(0, endIdx - startIdx + 1)).fill(NaN);
    const s = this.data.get(instrument)?.get(field);
    if (!s) return out;
    const from = Math.max(startIdx, s.start);
    const to = Math.min(endIdx, s.start + s.values.length - 1);
    for (let t = from; t <= to; t++) out[t - startIdx] = s.values[t - s.start];
    return out;
  }
}
