/**
 * qlib's ensembles (qlib/model/ens/ensemble.py), specified per date:
 * - RollingEnsemble: for each date, every row comes from the one window that starts latest among
 *   the windows with rows on that date (qlib resolved per (date, instrument) row, so models could
 *   mix within a date, W42). Dates no window covers are absent. Output sorted by (date, instrument).
 * - AverageEnsemble: each column of each member is z-scored per date (sample std, ddof = 1, over its
 *   finite values), then the z-scores available for a (date, instrument) are averaged.
 * See docs/collect.md for the full NaN policy.
 */
import type { Panel } from '../data/types.ts';
import { isPanel } from '../recorder/artifacts.ts';
import { CollectError } from './errors.ts';
import { KeyedDict, isKeyedDict, keyId } from './keyed.ts';
import type { Key } from './keyed.ts';

/** Reduces a dict of results (e.g. one group's predictions) to one result. */
export abstract class Ensemble {
  abstract ensemble(d: KeyedDict<unknown>): unknown;
}

/** A function or an Ensemble, as `Group`'s `ens`. */
export type EnsembleLike = Ensemble | ((d: KeyedDict<unknown>) => unknown);

export function runEnsemble(ens: EnsembleLike, d: KeyedDict<unknown>): unknown {
  return typeof ens === 'function' ? ens(d) : ens.ensemble(d);
}

/**
 * qlib's SingleKeyEnsemble: a dict with exactly one key becomes that key's value (recursively into
 * nested dicts by default); anything else is returned as is.
 */
export class SingleKeyEnsemble extends Ensemble {
  /** @param recursion apply to nested dicts first. Default true. */
  constructor(readonly recursion = true) {
    super();
  }

  ensemble(d: KeyedDict<unknown>): unknown {
    return this.unwrap(d);
  }

  private unwrap(v: unknown): unknown {
    if (!isKeyedDict(v)) return v;
    const d = this.recursion ? new KeyedDict(v.entries().map(([k, x]) => [k, this.unwrap(x)] as const)) : v;
    return d.size === 1 ? d.values()[0] : d;
  }
}

function asPanels(d: KeyedDict<unknown>, who: string): { key: Key; panel: Panel }[] {
  if (!isKeyedDict(d)) throw new CollectError('ENSEMBLE_INPUT', `${who} needs a KeyedDict of predictions`, { hint: 'pass the output of a collector or a Group' });
  if (d.size === 0) {
    throw new CollectError('ENSEMBLE_EMPTY', `${who} was given no predictions`, { hint: 'the collector found no artifacts; check the experiment, the filter and onlyExist' });
  }
  return d.entries().map(([key, panel]) => {
    if (!isPanel(panel) || panel.instruments.length !== panel.dates.length || panel.values.some((c) => c.length !== panel.dates.length)) {
      throw new CollectError('ENSEMBLE_INPUT', `${who}: member ${keyId(key)} is not a well-formed Panel`, { path: keyId(key), hint: 'ensembles combine Panels (dates, instruments, columns, values) of equal length' });
    }
    return { key, panel };
  });
}

/** Row indices of a panel by date, checking that no (date, instrument) repeats. */
function rowsByDate(p: Panel, path: string): Map<string, number[]> {
  const byDate = new Map<string, number[]>();
  for (let r = 0; r < p.dates.length; r++) {
    const d = p.dates[r]!;
    let rows = byDate.get(d);
    if (!rows) byDate.set(d, (rows = []));
    rows.push(r);
  }
  for (const [d, rows] of byDate) {
    if (rows.length < 2) continue;
    const seen = new Set<string>();
    for (const r of rows) {
      const inst = p.instruments[r]!;
      if (seen.has(inst)) throw new CollectError('DUPLICATE_ROW', `prediction ${path} has the row (${d}, ${inst}) more than once`, { path, hint: 'each (date, instrument) may appear once per prediction' });
      seen.add(inst);
    }
  }
  return byDate;
}

const byInstrument = (p: Panel) => (a: number, b: number): number => (p.instruments[a]! < p.instruments[b]! ? -1 : p.instruments[a]! > p.instruments[b]! ? 1 : 0);

/** A window's rows on one date: rows `from … to-1` in order, or (when not) the row list sorted by instrument. */
interface DateRows {
  from: number;
  to: number;
  sorted: Int32Array | undefined;
}

/**
 * A window's rows by date, each date's rows ordered by instrument, checking that no (date,
 * instrument) repeats. Predictions are normally stored date by date with instruments ascending:
 * then each date is one run of rows and one comparison per row proves both order and uniqueness.
 * Anything else takes the general path (row lists, sorted).
 */
function dateRowsOf(p: Panel, path: string): Map<string, DateRows> {
  const out = new Map<string, DateRows>();
  const { dates, instruments } = p;
  const n = dates.length;
  let from = 0;
  while (from < n) {
    const d = dates[from]!;
    let to = from + 1;
    let ordered = true;
    for (; to < n && dates[to] === d; to++) if (!(instruments[to - 1]! < instruments[to]!)) ordered = false;
    if (out.has(d)) return dateRowsGeneral(p, path);
    out.set(d, { from, to, sorted: ordered ? undefined : sortedRows(p, from, to, path) });
    from = to;
  }
  return out;
}

function sortedRows(p: Panel, from: number, to: number, path: string): Int32Array {
  const rows = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return checkedSort(p, rows, path);
}

function checkedSort(p: Panel, rows: Int32Array, path: string): Int32Array {
  const sorted = Int32Array.from([...rows].sort(byInstrument(p)));
  for (let i = 1; i < sorted.length; i++) {
    const inst = p.instruments[sorted[i]!]!;
    if (inst === p.instruments[sorted[i - 1]!]) {
      throw new CollectError('DUPLICATE_ROW', `prediction ${path} has the row (${p.dates[sorted[i]!]}, ${inst}) more than once`, { path, hint: 'each (date, instrument) may appear once per prediction' });
    }
  }
  return sorted;
}

function dateRowsGeneral(p: Panel, path: string): Map<string, DateRows> {
  const out = new Map<string, DateRows>();
  for (const [d, rows] of rowsByDate(p, path)) out.set(d, { from: 0, to: 0, sorted: checkedSort(p, Int32Array.from(rows), path) });
  return out;
}

/**
 * qlib's RollingEnsemble, per date. Windows are ordered by their first date (stable: on a tie the
 * later member wins, as in qlib); each date takes all its rows from the last window in that order
 * that has rows on the date. Values (NaN included) are copied untouched. Keys are ignored. Members
 * must have the same columns. Empty input is `ENSEMBLE_EMPTY`; members with no rows are skipped.
 * Linear in the rows read: one pass per window to find its dates, one copy per output row.
 */
export class RollingEnsemble extends Ensemble {
  ensemble(d: KeyedDict<unknown>): Panel {
    const members = asPanels(d, 'RollingEnsemble');
    const first = members[0]!.panel;
    for (const { key, panel } of members) {
      if (panel.columns.length !== first.columns.length || panel.columns.some((c, i) => c !== first.columns[i])) {
        throw new CollectError('ENSEMBLE_INPUT', `RollingEnsemble: member ${keyId(key)} has columns ${JSON.stringify(panel.columns)}, the first member ${JSON.stringify(first.columns)}`, {
          path: keyId(key),
          hint: 'rolling windows of one model share their columns; group different models apart (RollingGroup) first',
        });
      }
    }
    const windows = members
      .filter((m) => m.panel.dates.length > 0)
      .map((m) => {
        const byDate = dateRowsOf(m.panel, keyId(m.key));
        let start = m.panel.dates[0]!;
        for (const dt of byDate.keys()) if (dt < start) start = dt;
        return { panel: m.panel, byDate, start };
      });
    windows.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const owner = new Map<string, number>();
    windows.forEach((w, i) => {
      for (const dt of w.byDate.keys()) owner.set(dt, i);
    });
    const dates = [...owner.keys()].sort();
    const size = (g: DateRows): number => (g.sorted ? g.sorted.length : g.to - g.from);
    let n = 0;
    for (const dt of dates) n += size(windows[owner.get(dt)!]!.byDate.get(dt)!);
    const k = first.columns.length;
    const out: Panel = {
      dates: new Array<string>(n),
      instruments: new Array<string>(n),
      columns: [...first.columns],
      groups: [...first.groups],
      values: first.columns.map(() => new Float64Array(n)),
    };
    let o = 0;
    for (const dt of dates) {
      const w = windows[owner.get(dt)!]!;
      const g = w.byDate.get(dt)!;
      const src = w.panel;
      if (g.sorted) {
        for (const r of g.sorted) {
          out.dates[o] = dt;
          out.instruments[o] = src.instruments[r]!;
          for (let c = 0; c < k; c++) out.values[c]![o] = src.values[c]![r]!;
          o++;
        }
        continue;
      }
      for (let c = 0; c < k; c++) out.values[c]!.set(src.values[c]!.subarray(g.from, g.to), o);
      for (let r = g.from; r < g.to; r++) {
        out.dates[o] = dt;
        out.instruments[o++] = src.instruments[r]!;
      }
    }
    return out;
  }
}

function flatten(d: KeyedDict<unknown>, prefix: Key[], out: { key: Key; value: unknown }[]): void {
  for (const [k, v] of d) {
    if (isKeyedDict(v)) flatten(v, [...prefix, k], out);
    else out.push({ key: prefix.length ? [...prefix, k] : k, value: v });
  }
}

/** Flattens nested dicts into one level with tuple keys `[outer, …, inner]` (qlib's `flatten_dict`). */
export function flattenKeyed(d: KeyedDict<unknown>): KeyedDict<unknown> {
  const out: { key: Key; value: unknown }[] = [];
  flatten(d, [], out);
  return new KeyedDict(out.map((e) => [e.key, e.value] as const));
}

/**
 * qlib's AverageEnsemble, with the edge cases specified. Nested dicts are flattened. Every column of
 * every member is one signal. Per date and signal, over the signal's finite values on that date:
 * mean and sample std (ddof = 1, as pandas). z = (x − mean) / std; z is NaN when x is not finite,
 * when fewer than 2 finite values exist on that date (qlib: NaN), or when std is 0 (constant signal;
 * qlib: NaN or ±inf) — such a signal abstains on that date. The output (column `score`) is the mean
 * of the finite z-scores of a (date, instrument) row, NaN when there are none. Rows are the union of
 * the members' rows (outer join, as qlib), sorted by (date, instrument).
 */
export class AverageEnsemble extends Ensemble {
  ensemble(d: KeyedDict<unknown>): Panel {
    const members = asPanels(flattenKeyed(d), 'AverageEnsemble');
    const rowIndex = new Map<string, number>();
    const rowDates: string[] = [];
    const rowInsts: string[] = [];
    const perMember = members.map(({ key, panel }) => {
      const byDate = rowsByDate(panel, keyId(key));
      const outRow = new Int32Array(panel.dates.length);
      for (let r = 0; r < panel.dates.length; r++) {
        const id = `${panel.dates[r]}\u0000${panel.instruments[r]}`;
        let o = rowIndex.get(id);
        if (o === undefined) {
          o = rowDates.length;
          rowIndex.set(id, o);
          rowDates.push(panel.dates[r]!);
          rowInsts.push(panel.instruments[r]!);
        }
        outRow[r] = o;
      }
      return { panel, byDate, outRow };
    });
    const n = rowDates.length;
    const sum = new Float64Array(n);
    const count = new Int32Array(n);
    for (const { panel, byDate, outRow } of perMember) {
      for (const col of panel.values) {
        for (const rows of byDate.values()) {
          let k = 0;
          let s = 0;
          for (const r of rows) {
            const x = col[r]!;
            if (Number.isFinite(x)) {
              k++;
              s += x;
            }
          }
          if (k < 2) continue;
          const mean = s / k;
          let ss = 0;
          for (const r of rows) {
            const x = col[r]!;
            if (Number.isFinite(x)) ss += (x - mean) * (x - mean);
          }
          const std = Math.sqrt(ss / (k - 1));
          if (!(std > 0) || !Number.isFinite(std)) continue;
          for (const r of rows) {
            const x = col[r]!;
            if (!Number.isFinite(x)) continue;
            const o = outRow[r]!;
            sum[o] += (x - mean) / std;
            count[o] = count[o]! + 1;
          }
        }
      }
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (rowDates[a]! < rowDates[b]! ? -1 : rowDates[a]! > rowDates[b]! ? 1 : rowInsts[a]! < rowInsts[b]! ? -1 : rowInsts[a]! > rowInsts[b]! ? 1 : 0));
    const score = new Float64Array(n);
    order.forEach((i, o) => {
      score[o] = count[i]! > 0 ? sum[i]! / count[i]! : NaN;
    });
    return { dates: order.map((i) => rowDates[i]!), instruments: order.map((i) => rowInsts[i]!), columns: ['score'], groups: ['score'], values: [score] };
  }
}
