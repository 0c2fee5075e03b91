/**
 * `LocalProvider`: reads market data in qlib's on-disk format (see docs/data.md):
 * `calendars/<freq>.txt`, `instruments/<market>.txt`, `features/<symbol>/<field>.<freq>.bin`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../../generate/calendar.ts';
import { normalizeDay } from '../../generate/dates.ts';
import type { FieldSource, InstrumentSpan } from '../types.ts';
import { readBin, type StoredSeries } from './binFile.ts';
import { DataError } from './errors.ts';
import { filterSpans, parseInstruments, type UniverseSpans } from './instruments.ts';
import { fileStemToSymbol, normalizeFieldName, symbolToDirName } from './names.ts';
import { adoptColumns, SharedColumnStore, type SharedColumns } from './sharedColumns.ts';

/**
 * Fields qlib's shipped data conventionally has. Asking for one of these that the data lacks gives
 * an all-NaN column, as qlib does (e.g. Alpha158's `$vwap` on Yahoo data, which has no vwap).
 */
export const CONVENTIONAL_FIELDS: readonly string[] = Object.freeze([
  'open', 'high', 'low', 'close', 'volume', 'vwap', 'factor', 'change', 'money', 'amount',
]);

/** A universe: `'all'`, the name of a file under `instruments/` (without `.txt`), or an explicit symbol list. */
export type Universe = string | readonly string[];

export interface LocalProviderOptions {
  /** Frequency part of file names (`calendars/<freq>.txt`, `*.<freq>.bin`). Default `'day'`. */
  freq?: string;
  /**
   * What `load` does with a field no instrument has and that is not one of `CONVENTIONAL_FIELDS`:
   * `'error'` throws `UNKNOWN_FIELD` listing the fields that exist (catches typos such as `$clsoe`);
   * `'nan'` returns NaN like qlib, which silently reads a missing file as an empty series. Default `'error'`.
   */
  unknownField?: 'error' | 'nan';
}

export interface DateRange {
  /** First day (inclusive). Default: the calendar's first day. */
  start?: string;
  /** Last day (inclusive). Default: the calendar's last day. */
  end?: string;
}

let nextInstanceId = 0;

export class LocalProvider implements FieldSource {
  readonly root: string;
  readonly freq: string;
  /**
   * Names this provider's cache as it is now: a new instance or a `clearCache()` gives a new one.
   * Data worker threads keep the columns they read under it, so a later parallel fetch through the
   * same provider reuses them, as this thread reuses its own, and never reads around a cleared cache.
   */
  get cacheId(): string {
    return `${process.pid}:${this.instanceId}:${this.cacheGeneration}`;
  }
  private readonly instanceId = (nextInstanceId += 1);
  private cacheGeneration = 0;
  readonly calendar: Calendar;
  private readonly unknownField: 'error' | 'nan';
  private readonly columns = new Map<string, StoredSeries | null>();
  /** Where read columns are decoded: shared memory, so data worker threads can use them too. */
  private columnStore = new SharedColumnStore();
  private readonly allocColumn = (n: number): Float64Array => this.columnStore.alloc(n);
  private readonly universes = new Map<string, UniverseSpans>();
  /** Per feature directory: its fields (one readdir per instrument, not one per handler pass). */
  private readonly fieldLists = new Map<string, string[]>();
  private fieldSet: Set<string> | null = null;

  /**
   * Opens `providerUri` (a leading `~/` is the home directory). Reads the calendar now; everything
   * else is read on first use. Throws `PROVIDER_NOT_FOUND` / `PROVIDER_NO_CALENDAR`, or the
   * calendar's `CalendarError` for a malformed `day.txt`.
   */
  constructor(providerUri: string, options: LocalProviderOptions = {}) {
    this.root = providerUri.startsWith('~/') ? join(process.env.HOME ?? '', providerUri.slice(2)) : providerUri;
    this.freq = options.freq ?? 'day';
    this.unknownField = options.unknownField ?? 'error';
    if (!existsSync(this.root) || !statSync(this.root).isDirectory()) {
      throw new DataError('PROVIDER_NOT_FOUND', `provider directory ${JSON.stringify(this.root)} does not exist`, {
        path: this.root,
        hint: 'create one with `qtask data import-csv SRC_DIR TARGET_DIR --adjust` or `qtask data synth TARGET_DIR`',
      });
    }
    const calendarPath = join(this.root, 'calendars', `${this.freq}.txt`);
    if (!existsSync(calendarPath)) {
      throw new DataError('PROVIDER_NO_CALENDAR', `${JSON.stringify(this.root)} has no calendars/${this.freq}.txt`, {
        path: calendarPath,
        hint: 'a qlib data directory needs calendars/day.txt; is this the provider_uri root?',
      });
    }
    this.calendar = Calendar.fromFile(calendarPath);
  }

  calendarDays(): readonly string[] {
    return this.calendar.days;
  }

  /** Universe files under `instruments/` (names without `.txt`), sorted. */
  markets(): string[] {
    const dir = join(this.root, 'instruments');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => f.slice(0, -4))
      .sort();
  }

  /** A universe file's spans per symbol, as stored. Throws `UNKNOWN_MARKET` listing the files that exist. */
  marketSpans(market: string): UniverseSpans {
    const key = market.toLowerCase();
    const cached = this.universes.get(key);
    if (cached) return cached;
    const path = join(this.root, 'instruments', `${key}.txt`);
    if (!/^[a-z0-9_.-]+$/.test(key) || !existsSync(path)) {
      const known = this.markets();
      throw new DataError('UNKNOWN_MARKET', `no instruments file for market ${JSON.stringify(market)}`, {
        path: 'instruments',
        hint: known.length ? `known markets: ${known.join(', ')}` : `${join(this.root, 'instruments')} has no .txt files`,
      });
    }
    const spans = parseInstruments(readFileSync(path, 'utf8'), path);
    this.universes.set(key, spans);
    return spans;
  }

  /**
   * Membership spans of a universe clipped to a date range, as qlib's `D.instruments(market)` +
   * `list_instruments(start_time, end_time)`: a symbol is in if one of its spans overlaps the range.
   * An explicit list is taken as given (qlib does not filter lists), each spanning the whole range.
   */
  listInstruments(universe: Universe, range: DateRange = {}): InstrumentSpan[] {
    const { start, end } = this.resolveRange(range);
    if (typeof universe !== 'string') {
      const seen = new Set<string>();
      const out: InstrumentSpan[] = [];
      for (const s of universe) {
        const symbol = s.trim().toUpperCase();
        if (symbol === '' || seen.has(symbol)) continue;
        seen.add(symbol);
        out.push({ instrument: symbol, start, end });
      }
      return out;
    }
    return filterSpans(this.marketSpans(universe), start, end);
  }

  /** Symbols of a universe within a date range (qlib's `list_instruments(..., as_list=True)`), sorted. */
  instruments(universe: Universe, range: DateRange = {}): string[] {
    const out: string[] = [];
    for (const s of this.listInstruments(universe, range)) if (out[out.length - 1] !== s.instrument) out.push(s.instrument);
    return out;
  }

  /** Symbols that have a directory under `features/`, upper case, sorted. */
  featureSymbols(): string[] {
    const dir = join(this.root, 'features');
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => fileStemToSymbol(d.name))
      .sort();
  }

  /** Fields stored for `instrument`, sorted. Cached per instrument (like the columns) until `clearCache()`. */
  fields(instrument: string): string[] {
    const dirName = symbolToDirName(instrument);
    let list = this.fieldLists.get(dirName);
    if (!list) {
      const dir = join(this.root, 'features', dirName);
      const suffix = `.${this.freq}.bin`;
      list = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith(suffix))
            .map((f) => f.slice(0, -suffix.length))
            .sort()
        : [];
      this.fieldLists.set(dirName, list);
    }
    return [...list];
  }

  /** Every field any instrument has, sorted. */
  allFields(): string[] {
    return [...this.knownFields()].sort();
  }

  /**
   * The stored column as on disk (start index and values), or `null` when the instrument has no such
   * file. Cached per (instrument, field).
   */
  stored(instrument: string, field: string): StoredSeries | null {
    // Keyed by the names as given: a parallel fetch asks ~10k times, and validating and lower-casing
    // both names and building the key each time cost ~2.5 µs a call. Entries are exactly what the
    // path below returned for the same names (and go with clearCache()).
    const byField = this.storedByName.get(instrument);
    const hit = byField?.get(field);
    if (hit !== undefined) return hit;
    const series = this.storedByPath(instrument, field);
    if (byField) byField.set(field, series);
    else this.storedByName.set(instrument, new Map([[field, series]]));
    return series;
  }

  private readonly storedByName = new Map<string, Map<string, StoredSeries | null>>();

  private storedByPath(instrument: string, field: string): StoredSeries | null {
    const f = normalizeFieldName(field);
    const dir = symbolToDirName(instrument);
    const key = `${dir}\u0000${f}`;
    if (this.columns.has(key)) return this.columns.get(key) ?? null;
    const series = readBin(join(this.root, 'features', dir, `${f}.${this.freq}.bin`), this.allocColumn);
    if (series === null) this.checkFieldKnown(f, field);
    this.columns.set(key, series);
    this.columnStore.record(key, series);
    return series;
  }

  load(instrument: string, field: string, startIdx: number, endIdx: number): Float64Array {
    if (!Number.isInteger(startIdx) || !Number.isInteger(endIdx) || endIdx < startIdx - 1) {
      throw new DataError('BAD_DATE_RANGE', `calendar index range [${startIdx}, ${endIdx}] is not a range`, {
        path: `${instrument}.$${field}`,
        hint: 'pass integer indices with startIdx <= endIdx + 1',
      });
    }
    const out = new Float64Array(endIdx - startIdx + 1);
    this.loadInto(out, instrument, field, startIdx);
    return out;
  }

  /** Values come from float32 `.bin` files, so each one is a float32 widened to float64. */
  readonly float32Values = true;

  /**
   * `load` into the caller's array: `out[k]` is the value on calendar index `startIdx + k`, NaN
   * where nothing is stored. Every element of `out` is written.
   */
  loadInto(out: Float64Array, instrument: string, field: string, startIdx: number): void {
    if (!Number.isInteger(startIdx)) {
      throw new DataError('BAD_DATE_RANGE', `calendar index ${startIdx} is not an integer`, {
        path: `${instrument}.$${field}`,
        hint: 'pass an integer start index',
      });
    }
    const endIdx = startIdx + out.length - 1;
    const series = this.stored(instrument, field);
    const from = series === null ? endIdx + 1 : Math.max(startIdx, series.startIdx);
    const to = series === null ? endIdx : Math.min(endIdx, series.startIdx + series.values.length - 1);
    if (series === null || from > to) {
      out.fill(NaN);
      return;
    }
    out.fill(NaN, 0, from - startIdx);
    out.set(series.values.subarray(from - series.startIdx, to - series.startIdx + 1), from - startIdx);
    out.fill(NaN, to - startIdx + 1);
  }

  /** Calendar index range `[startIdx, endIdx]` for a date range (days need not be trading days). */
  indexRange(range: DateRange = {}): { startIdx: number; endIdx: number } {
    const { start, end } = this.resolveRange(range);
    return { startIdx: this.calendar.firstIndexOnOrAfter(start), endIdx: this.calendar.lastIndexOnOrBefore(end) };
  }

  /**
   * The columns read so far, for a data worker thread's provider on the same directory to adopt
   * (`adoptColumns`) instead of reading the files again. Missing files are included. The arrays
   * are the provider's own and grow with later reads: post them (which copies), do not keep them.
   */
  sharedColumns(): SharedColumns {
    return this.columnStore.snapshot();
  }

  /**
   * Takes over another provider's columns (`sharedColumns()` of a provider on the same directory
   * and cache generation) where this one has not read them itself.
   */
  adoptColumns(shared: SharedColumns): void {
    adoptColumns(this.columns, shared);
  }

  /** Forgets cached columns and universes (after the directory was rewritten). */
  clearCache(): void {
    this.cacheGeneration += 1;
    this.columns.clear();
    this.storedByName.clear();
    this.columnStore = new SharedColumnStore();
    this.fieldLists.clear();
    this.universes.clear();
    this.fieldSet = null;
  }

  private resolveRange(range: DateRange): { start: string; end: string } {
    const pick = (value: string | undefined, fallback: string, name: string): string => {
      if (value === undefined) return fallback;
      const day = normalizeDay(value);
      if (day === null) {
        throw new DataError('BAD_DATE_RANGE', `${name} ${JSON.stringify(value)} is not a date`, { path: name, hint: 'use YYYY-MM-DD' });
      }
      return day;
    };
    const start = pick(range.start, this.calendar.first, 'start');
    const end = pick(range.end, this.calendar.last, 'end');
    if (start > end) {
      throw new DataError('BAD_DATE_RANGE', `start ${start} is after end ${end}`, { path: 'start', hint: 'swap start and end' });
    }
    return { start, end };
  }

  private knownFields(): Set<string> {
    if (this.fieldSet) return this.fieldSet;
    const set = new Set<string>();
    const dir = join(this.root, 'features');
    const suffix = `.${this.freq}.bin`;
    if (existsSync(dir)) {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        for (const f of readdirSync(join(dir, d.name))) if (f.endsWith(suffix)) set.add(f.slice(0, -suffix.length));
      }
    }
    this.fieldSet = set;
    return set;
  }

  private checkFieldKnown(field: string, asGiven: string): void {
    if (this.unknownField === 'nan' || CONVENTIONAL_FIELDS.includes(field)) return;
    const known = this.knownFields();
    if (known.has(field)) return;
    throw new DataError('UNKNOWN_FIELD', `field ${JSON.stringify(asGiven)} does not exist in ${this.root}`, {
      path: `$${asGiven}`,
      hint: known.size ? `fields that exist: ${[...known].sort().join(', ')}` : 'the provider has no feature files',
    });
  }
}
