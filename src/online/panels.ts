/** Small Panel helpers of the updaters. */
import { isPanel } from '../recorder/artifacts.ts';
import type { Panel } from '../data/types.ts';
import { OnlineError } from './errors.ts';

export function asPanel(v: unknown, path: string): Panel {
  if (!isPanel(v)) throw new OnlineError('ONLINE_PRED', `${path} is not a (datetime, instrument) table`, { path, hint: 'SignalRecord writes pred/label as CSV panels' });
  return v;
}

/** Last date with at least one non-NaN value in column 0 (qlib: `dropna().index.max()`), or null. */
export function lastValidDate(p: Panel): string | null {
  let last: string | null = null;
  const col = p.values[0];
  if (!col) return null;
  for (let r = 0; r < p.dates.length; r++) if (!Number.isNaN(col[r]!) && (last === null || p.dates[r]! > last)) last = p.dates[r]!;
  return last;
}

/**
 * qlib's `_replace_range`: old rows dated within [min, max] of `fresh` are dropped (all instruments),
 * then `fresh` is added and the rows are sorted by (date, instrument). Columns follow `old`.
 */
export function replaceRange(old: Panel, fresh: Panel): Panel {
  if (fresh.dates.length === 0) return old;
  let lo = fresh.dates[0]!;
  let hi = lo;
  for (const d of fresh.dates) {
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  type Row = { d: string; i: string; v: number[] };
  const rows: Row[] = [];
  for (let r = 0; r < old.dates.length; r++) {
    const d = old.dates[r]!;
    if (d >= lo && d <= hi) continue;
    rows.push({ d, i: old.instruments[r]!, v: old.values.map((c) => c[r]!) });
  }
  for (let r = 0; r < fresh.dates.length; r++) rows.push({ d: fresh.dates[r]!, i: fresh.instruments[r]!, v: old.columns.map((_, c) => fresh.values[c]?.[r] ?? NaN) });
  rows.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.i < b.i ? -1 : a.i > b.i ? 1 : 0));
  return {
    dates: rows.map((r) => r.d),
    instruments: rows.map((r) => r.i),
    columns: [...old.columns],
    groups: [...old.groups],
    values: old.columns.map((_, c) => Float64Array.from(rows, (r) => r.v[c]!)),
  };
}
