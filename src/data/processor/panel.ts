/**
 * Row/column helpers over the columnar `Panel` (rows ordered by date, then instrument). Every helper
 * returns a new Panel and never writes into the input's arrays; unchanged columns are shared by
 * reference (copy-on-write at column granularity), so panels handed out must be treated as read-only.
 */
import type { Panel } from '../types.ts';
import { HandlerConfigError } from '../handler/errors.ts';

export type FieldsGroup = string | null;

/** Column indices of `group` (qlib's first column level); all columns when `group` is null. */
export function groupColumns(panel: Panel, group: FieldsGroup, path = 'fields_group'): number[] {
  if (group === null) return panel.columns.map((_, i) => i);
  const idx: number[] = [];
  for (let i = 0; i < panel.groups.length; i++) if (panel.groups[i] === group) idx.push(i);
  if (idx.length === 0) {
    const known = [...new Set(panel.groups)];
    throw new HandlerConfigError('PROCESSOR_CONFIG', `no column group ${JSON.stringify(group)}`, {
      path,
      hint: `groups present: ${known.join(', ') || '(none)'}; use null for all columns`,
    });
  }
  return idx;
}

/** First row whose date is >= `date` (rows are date-sorted). */
export function lowerBoundDate(dates: readonly string[], date: string): number {
  let lo = 0;
  let hi = dates.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((dates[mid] as string) < date) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First row whose date is > `date`. */
export function upperBoundDate(dates: readonly string[], date: string): number {
  let lo = 0;
  let hi = dates.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((dates[mid] as string) <= date) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Row range `[from, to)` of dates in `[start, end]` (inclusive; null = open). */
export function dateRowRange(panel: Panel, start: string | null, end: string | null): [number, number] {
  const from = start === null ? 0 : lowerBoundDate(panel.dates, start);
  const to = end === null ? panel.dates.length : upperBoundDate(panel.dates, end);
  return [from, Math.max(from, to)];
}

/** Rows `[from, to)` as a panel whose columns are zero-copy views of the input's. */
export function sliceRows(panel: Panel, from: number, to: number): Panel {
  if (from === 0 && to === panel.dates.length) return panel;
  return {
    dates: panel.dates.slice(from, to),
    instruments: panel.instruments.slice(from, to),
    columns: panel.columns,
    groups: panel.groups,
    values: panel.values.map((col) => col.subarray(from, to)),
  };
}

/** Rows whose date lies in `[start, end]`, inclusive as qlib's `.loc` slice on the datetime level. */
export function sliceDates(panel: Panel, start: string | null, end: string | null): Panel {
  const [from, to] = dateRowRange(panel, start, end);
  return sliceRows(panel, from, to);
}

/** Rows where `keep[r]` is 1. Returns the input when every row is kept. */
export function filterRows(panel: Panel, keep: Uint8Array): Panel {
  let count = 0;
  for (let r = 0; r < keep.length; r++) count += keep[r] as number;
  if (count === panel.dates.length) return panel;
  const rows = new Int32Array(count);
  for (let r = 0, k = 0; r < keep.length; r++) if (keep[r]) rows[k++] = r;
  const values = panel.values.map((col) => {
    const out = new Float64Array(count);
    for (let k = 0; k < count; k++) out[k] = col[rows[k] as number] as number;
    return out;
  });
  const dates = new Array<string>(count);
  const instruments = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    dates[k] = panel.dates[rows[k] as number] as string;
    instruments[k] = panel.instruments[rows[k] as number] as string;
  }
  return { dates, instruments, columns: panel.columns, groups: panel.groups, values };
}

/** The panel with only the given columns (by index), in that order. Arrays are shared. */
export function selectColumns(panel: Panel, idx: readonly number[]): Panel {
  return {
    dates: panel.dates,
    instruments: panel.instruments,
    columns: idx.map((i) => panel.columns[i] as string),
    groups: idx.map((i) => panel.groups[i] as string),
    values: idx.map((i) => panel.values[i] as Float64Array),
  };
}

/** The panel with some columns replaced (copy-on-write: the input keeps its arrays). */
export function withColumns(panel: Panel, replaced: ReadonlyMap<number, Float64Array>): Panel {
  if (replaced.size === 0) return panel;
  return { ...panel, values: panel.values.map((col, i) => replaced.get(i) ?? col) };
}

/** `[start, end)` row ranges of each date (the cross sections), in date order. */
export function dayRanges(panel: Panel): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const d = panel.dates;
  let start = 0;
  for (let r = 1; r <= d.length; r++) {
    if (r === d.length || d[r] !== d[start]) {
      out.push([start, r]);
      start = r;
    }
  }
  return out;
}

/** An empty panel with the given columns. */
export function emptyPanel(columns: string[], groups: string[]): Panel {
  return { dates: [], instruments: [], columns, groups, values: columns.map(() => new Float64Array(0)) };
}
