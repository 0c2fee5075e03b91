/** A summary of a data directory for `qtask data info`. */
import { LocalProvider } from './localProvider.ts';

export interface ProviderInfo {
  providerUri: string;
  calendar: { firstDay: string; lastDay: string; days: number };
  /** Per universe file: distinct symbols and lines (spans). */
  universes: Array<{ market: string; instruments: number; spans: number; firstDay: string | null; lastDay: string | null }>;
  /** Symbols with a `features/` directory. */
  featureInstruments: number;
  /** Each field and how many instruments have it. */
  fields: Array<{ field: string; instruments: number }>;
}

export function providerInfo(providerUri: string): ProviderInfo {
  const p = new LocalProvider(providerUri);
  const universes = p.markets().map((market) => {
    const spans = p.marketSpans(market);
    let lines = 0;
    let first: string | null = null;
    let last: string | null = null;
    for (const list of spans.values()) {
      for (const s of list) {
        lines++;
        if (first === null || s.start < first) first = s.start;
        if (last === null || s.end > last) last = s.end;
      }
    }
    return { market, instruments: spans.size, spans: lines, firstDay: first, lastDay: last };
  });
  const symbols = p.featureSymbols();
  const counts = new Map<string, number>();
  for (const s of symbols) for (const f of p.fields(s)) counts.set(f, (counts.get(f) ?? 0) + 1);
  return {
    providerUri: p.root,
    calendar: { firstDay: p.calendar.first, lastDay: p.calendar.last, days: p.calendar.length },
    universes,
    featureInstruments: symbols.length,
    fields: [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([field, instruments]) => ({ field, instruments })),
  };
}
