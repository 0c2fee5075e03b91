/**
 * The merged signal file. The signal itself is computed by the collect stage (the manager's
 * MergeCollector of the strategies' RecorderCollector → RollingGroup, then AverageEnsemble; see
 * docs/online.md); this module only turns the new days of it into CSV rows and keeps the file.
 *
 * Stored append-only in `signals.csv` (`datetime,instrument,score`), finite scores only: a row whose
 * AverageEnsemble score is NaN (no model had a usable z-score that day) is left out. The committed
 * length lives in the manager's state file; a crash between an append and the state write is undone
 * by truncating the file back to the committed length before the next append, so no date is ever
 * written twice.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { Panel } from '../data/types.ts';
import { OnlineError } from './errors.ts';

export const SIGNALS_HEADER = 'datetime,instrument,score\n';

/**
 * The CSV rows of `signal` (column 0, sorted by date then instrument) for `dates`, NaN scores left out.
 * `emptyDates` are the days of `dates` that got no row.
 */
export function signalBlock(signal: Panel | null, dates: readonly string[]): { text: string; rows: number; emptyDates: string[] } {
  const wanted = new Set(dates);
  const filled = new Set<string>();
  const parts: string[] = [];
  if (signal !== null) {
    const col = signal.values[0]!;
    for (let r = 0; r < signal.dates.length; r++) {
      const d = signal.dates[r]!;
      const v = col[r]!;
      if (!wanted.has(d) || !Number.isFinite(v)) continue;
      filled.add(d);
      parts.push(`${d},${signal.instruments[r]},${v}\n`);
    }
  }
  return { text: parts.join(''), rows: parts.length, emptyDates: dates.filter((d) => !filled.has(d)) };
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
