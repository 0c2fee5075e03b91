/**
 * Instrument universes: qlib's `instruments/<market>.txt` (`SYMBOL<TAB>START<TAB>END`, no header,
 * a symbol may have several lines = several membership spans) and the date filter of qlib's
 * `LocalInstrumentProvider.list_instruments`.
 */
import { normalizeDay } from '../../generate/dates.ts';
import type { InstrumentSpan } from '../types.ts';
import { DataError } from './errors.ts';

/** Membership spans per symbol, in file order. Days are `YYYY-MM-DD`. */
export type UniverseSpans = Map<string, Array<{ start: string; end: string }>>;

/**
 * Parses an instruments file. Blank lines are skipped; every other line needs three tab-separated
 * fields with real days and `START <= END`, else `BAD_INSTRUMENTS_FILE` naming `FILE:LINE`.
 * Symbols are upper-cased (qlib writes them upper case; feature directories are lower case).
 */
export function parseInstruments(text: string, file: string): UniverseSpans {
  const spans: UniverseSpans = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const parts = line.split('\t');
    const where = `${file}:${i + 1}`;
    if (parts.length < 3) {
      throw new DataError('BAD_INSTRUMENTS_FILE', `${where}: expected SYMBOL<TAB>START<TAB>END, got ${JSON.stringify(line)}`, {
        path: where,
        hint: 'instruments files have three tab-separated columns and no header',
      });
    }
    const symbol = parts[0].trim().toUpperCase();
    const start = normalizeDay(parts[1].trim());
    const end = normalizeDay(parts[2].trim());
    if (symbol === '' || start === null || end === null || start > end) {
      throw new DataError('BAD_INSTRUMENTS_FILE', `${where}: ${JSON.stringify(line)} is not SYMBOL, START day, END day with START <= END`, {
        path: where,
        hint: 'dates are YYYY-MM-DD',
      });
    }
    let list = spans.get(symbol);
    if (list === undefined) spans.set(symbol, (list = []));
    list.push({ start, end });
  }
  return spans;
}

/**
 * qlib's `list_instruments` date filter: each span is clipped to `[start, end]`, empty spans are
 * dropped, and symbols left without spans are dropped. Result is sorted by symbol, spans by start.
 */
export function filterSpans(spans: UniverseSpans, start: string, end: string): InstrumentSpan[] {
  const out: InstrumentSpan[] = [];
  const symbols = [...spans.keys()].sort();
  for (const symbol of symbols) {
    const clipped: InstrumentSpan[] = [];
    for (const s of spans.get(symbol) ?? []) {
      const a = s.start > start ? s.start : start;
      const b = s.end < end ? s.end : end;
      if (a <= b) clipped.push({ instrument: symbol, start: a, end: b });
    }
    clipped.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    out.push(...clipped);
  }
  return out;
}

/** Formats spans as an instruments file (qlib's `all.txt` line format), symbols in the given order. */
export function formatInstruments(spans: UniverseSpans): string {
  let text = '';
  for (const [symbol, list] of spans) {
    for (const s of list) text += `${symbol}\t${s.start}\t${s.end}\n`;
  }
  return text;
}
