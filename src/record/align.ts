/** Joins a prediction and a label panel on (date, instrument) as pandas' `DataFrame({"pred": …, "label": …})` does. */
import type { Panel } from '../data/types.ts';
import { RecordError } from './errors.ts';

export interface AlignedPredLabel {
  dates: string[];
  instruments: string[];
  pred: Float64Array;
  label: Float64Array;
}

function checkPanel(p: unknown, what: string): asserts p is Panel {
  const q = p as Partial<Panel> | null;
  if (!q || !Array.isArray(q.dates) || !Array.isArray(q.instruments) || !Array.isArray(q.columns) || !Array.isArray(q.values)) {
    throw new RecordError('RECORD_INPUT', `${what} is not a (datetime, instrument) panel`, { path: what, hint: `${what} must be a Panel (dates, instruments, columns, values); a CSV artifact needs the header datetime,instrument,…` });
  }
  if (q.instruments.length !== q.dates.length || q.values.some((c) => c.length !== q.dates!.length)) {
    throw new RecordError('RECORD_INPUT', `${what} has index and column arrays of different lengths`, { path: what, hint: 'every column needs one value per (date, instrument) row' });
  }
}

/** Index of the prediction column: `score`, else the first (qlib's `pred.iloc[:, 0]`). */
export function predColumn(pred: unknown): number {
  checkPanel(pred, 'pred');
  if (pred.columns.length === 0) throw new RecordError('RECORD_INPUT', 'the prediction has no score column', { path: 'pred.columns', hint: 'model.predict returns a panel with a score column' });
  const i = pred.columns.indexOf('score');
  return i >= 0 ? i : 0;
}

/**
 * Outer join of `pred`'s score column and `label`'s column `labelCol` (a position, qlib's
 * `label.iloc[:, label_col]`, or a name). Rows sorted by (date, instrument); a side without the row
 * gives NaN.
 */
export function alignPredLabel(pred: unknown, label: unknown, labelCol: number | string = 0): AlignedPredLabel {
  const pc = predColumn(pred);
  const p = pred as Panel;
  checkPanel(label, 'label');
  const lc = typeof labelCol === 'number' ? labelCol : label.columns.indexOf(labelCol);
  if (!Number.isInteger(lc) || lc < 0 || lc >= label.columns.length) {
    throw new RecordError('RECORD_INPUT', `label has no column ${JSON.stringify(labelCol)}`, {
      path: 'label_col',
      hint: label.columns.length ? `label columns: ${label.columns.join(', ')}` : 'the label panel has no columns (was the dataset prepared with col_set=label?)',
    });
  }
  const rows = new Map<string, { d: string; i: string; p: number; l: number }>();
  const key = (d: string, i: string): string => `${d}\u0000${i}`;
  for (let r = 0; r < p.dates.length; r++) rows.set(key(p.dates[r]!, p.instruments[r]!), { d: p.dates[r]!, i: p.instruments[r]!, p: p.values[pc]![r]!, l: NaN });
  const lcol = label.values[lc]!;
  for (let r = 0; r < label.dates.length; r++) {
    const k = key(label.dates[r]!, label.instruments[r]!);
    const row = rows.get(k);
    if (row) row.l = lcol[r]!;
    else rows.set(k, { d: label.dates[r]!, i: label.instruments[r]!, p: NaN, l: lcol[r]! });
  }
  const all = [...rows.values()].sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : a.i < b.i ? -1 : a.i > b.i ? 1 : 0));
  return {
    dates: all.map((r) => r.d),
    instruments: all.map((r) => r.i),
    pred: Float64Array.from(all, (r) => r.p),
    label: Float64Array.from(all, (r) => r.l),
  };
}
