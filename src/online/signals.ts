/**
 * The merged signal: qlib's AverageEnsemble over the strategies' rolled predictions, per date:
 * every column (strategy × model group) is z-scored across instruments (mean, sample std, NaN
 * skipped), then each instrument gets the mean of the z-scores it has.
 * NaN policy: a column with fewer than 2 instruments, or a zero std, on a date contributes nothing
 * that date (qlib yields NaN or ±inf); an instrument with no z-score that date has no row.
 *
 * Stored append-only in `signals.csv` (`datetime,instrument,score`). The committed length lives in
 * the manager's state file; a crash between an append and the state write is undone by truncating
 * the file back to the committed length before the next append, so no date is ever written twice.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { Panel } from '../data/types.ts';
import { OnlineError } from './errors.ts';
import type { RolledScores } from './strategy.ts';

export const SIGNALS_HEADER = 'datetime,instrument,score\n';

/** AverageEnsemble of the columns on one date; instruments sorted. */
export function averageOnDate(columns: readonly Map<string, number>[]): [string, number][] {
  const sum = new Map<string, number>();
  const cnt = new Map<string, number>();
  for (const col of columns) {
    const vals = [...col.values()].filter((v) => Number.isFinite(v));
    if (vals.length < 2) continue;
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1));
    if (!(sd > 0)) continue;
    for (const [inst, v] of col) {
      if (!Number.isFinite(v)) continue;
      sum.set(inst, (sum.get(inst) ?? 0) + (v - mean) / sd);
      cnt.set(inst, (cnt.get(inst) ?? 0) + 1);
    }
  }
  return [...sum.keys()].sort().map((i) => [i, sum.get(i)! / cnt.get(i)!]);
}

/** One CSV block for `dates` (in order) from the per-strategy rolled scores. */
export function signalRows(dates: readonly string[], rolled: readonly RolledScores[]): { text: string; rows: number; emptyDates: string[] } {
  const parts: string[] = [];
  let rows = 0;
  const emptyDates: string[] = [];
  for (const d of dates) {
    const cols: Map<string, number>[] = [];
    for (const r of rolled) for (const g of r.values()) {
      const m = g.get(d);
      if (m) cols.push(m);
    }
    const avg = averageOnDate(cols);
    if (avg.length === 0) emptyDates.push(d);
    for (const [inst, v] of avg) parts.push(`${d},${inst},${v}\n`);
    rows += avg.length;
  }
  return { text: parts.join(''), rows, emptyDates };
}

/** Truncates to the committed length (crash recovery), then appends and fsyncs. Returns the new length. */
export function appendSignals(file: string, committedBytes: number, text: string): number {
  if (committedBytes === 0) {
    const fd = openSync(file, 'w');
    writeSync(fd, SIGNALS_HEADER);
    fsyncSync(fd);
    closeSync(fd);
    committedBytes = Buffer.byteLength(SIGNALS_HEADER);
  } else {
    if (!existsSync(file) || statSync(file).size < committedBytes) {
      throw new OnlineError('ONLINE_STATE', `${file} is shorter than the state file records`, { path: file, hint: 'the signals file was removed or edited; re-create the state directory with `qtask online init`' });
    }
    truncateSync(file, committedBytes);
  }
  if (text === '') return committedBytes;
  const fd = openSync(file, 'a');
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return committedBytes + Buffer.byteLength(text);
}

/** The committed part of the signals file as a Panel with one `score` column. */
export function readSignals(file: string, committedBytes: number): Panel {
  const out: Panel = { dates: [], instruments: [], columns: ['score'], groups: ['score'], values: [new Float64Array(0)] };
  if (committedBytes === 0 || !existsSync(file)) return out;
  const text = readFileSync(file).subarray(0, committedBytes).toString('utf8');
  const lines = text.split('\n');
  const vals: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const a = l.indexOf(',');
    const b = l.indexOf(',', a + 1);
    out.dates.push(l.slice(0, a));
    out.instruments.push(l.slice(a + 1, b));
    vals.push(Number(l.slice(b + 1)));
  }
  out.values = [Float64Array.from(vals)];
  return out;
}
