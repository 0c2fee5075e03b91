/**
 * `updateFromCsv`: adds new CSV rows to an existing data directory. Unlike qlib's `dump_update`
 * (which appends each symbol's own rows after its old end, so a symbol missing some new days gets
 * values shifted onto the wrong days), every value is placed by its date on the merged calendar:
 * days a symbol lacks are NaN, and rows for days inside a symbol's span that were NaN fill the gap.
 * Stored non-NaN values win over the CSV (an update adds data, it does not rewrite history).
 * All-or-nothing: the new directory is built next to the target and renamed into place.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Calendar } from '../../generate/calendar.ts';
import { readBin } from '../provider/binFile.ts';
import { parseInstruments, type UniverseSpans } from '../provider/instruments.ts';
import { LocalProvider } from '../provider/localProvider.ts';
import { symbolToDirName } from '../provider/names.ts';
import { alignFile, changeOf, indexDays, type AlignedSeries } from './align.ts';
import { discardStaging, makeStagingDir, swapIntoPlace } from './atomic.ts';
import type { CsvImportOptions } from './csvParse.ts';
import { optionError } from './errors.ts';
import { listCsvFiles, outputFieldsOf, parseSources, type ProgressListener } from './source.ts';
import { writeCalendar, writeInstruments, writeSeries } from './writer.ts';

export interface UpdateCsvOptions extends CsvImportOptions {
  srcDir: string;
  /** An existing data directory (made by `importCsv`, `synth` or qlib). */
  targetDir: string;
  onProgress?: ProgressListener;
}

export interface UpdateSummary {
  targetDir: string;
  /** Days added to the calendar. */
  newDays: number;
  days: number;
  lastDay: string;
  /** Symbols whose files were rewritten because they got data. */
  updatedInstruments: number;
  /** Symbols that did not exist before. */
  newInstruments: number;
  /** Cells that were NaN (or beyond the old span) and now hold a value. */
  filledCells: number;
  /** True when a new day fell before the old last day, so every file was re-indexed. */
  reindexed: boolean;
  droppedDuplicates: string[];
}

export function updateFromCsv(options: UpdateCsvOptions): UpdateSummary {
  const target = resolve(options.targetDir);
  if (!existsSync(join(target, 'calendars', 'day.txt'))) {
    throw optionError('IMPORT_TARGET_NOT_DATASET', `${target} has no calendars/day.txt`, 'create it first with `qtask data import-csv`', target);
  }
  const oldCalendar = Calendar.fromFile(join(target, 'calendars', 'day.txt'));
  const allPath = join(target, 'instruments', 'all.txt');
  const oldSpans: UniverseSpans = existsSync(allPath) ? parseInstruments(readFileSync(allPath, 'utf8'), allPath) : new Map();
  const outputFields = outputFieldsOf(options);
  const files = listCsvFiles(options.srcDir);
  const parsed = parseSources(files, options, options.onProgress);

  const oldDays = oldCalendar.days;
  const daySet = new Set<string>(oldDays);
  let reindexed = false;
  for (const p of parsed) {
    for (const d of p.dates) {
      if (daySet.has(d)) continue;
      daySet.add(d);
      if (d < oldCalendar.last) reindexed = true;
    }
  }
  const days = [...daySet].sort();
  const dayIndex = indexDays(days);
  const oldToNew = new Int32Array(oldDays.length);
  for (let i = 0; i < oldDays.length; i++) oldToNew[i] = dayIndex.get(oldDays[i]) as number;

  const provider = new LocalProvider(target, { unknownField: 'nan' });
  const incoming = new Map<string, ReturnType<typeof alignFile>>();
  for (const p of parsed) incoming.set(p.symbol, alignFile(p, dayIndex, options, outputFields));
  // Symbols to rewrite: those with new rows, or all of them when old indices moved.
  const symbols = reindexed ? [...new Set([...provider.featureSymbols(), ...incoming.keys()])].sort() : [...incoming.keys()].sort();

  const staging = makeStagingDir(target, 'update');
  let filledCells = 0;
  let newInstruments = 0;
  try {
    cpSync(target, staging, { recursive: true });
    writeCalendar(staging, days);
    const spans: UniverseSpans = new Map(oldSpans);
    for (let i = 0; i < symbols.length; i++) {
      const symbol = symbols[i];
      const fresh = incoming.get(symbol);
      const old = readOldSeries(provider, symbol, oldToNew);
      if (old === null && fresh === undefined) continue;
      if (old === null) newInstruments++;
      const merged = mergeSeries(symbol, old, fresh, options.adjust ?? false);
      filledCells += merged.filled;
      writeSeries(staging, merged.series);
      if (fresh !== undefined) {
        const first = days[merged.series.startIdx];
        const last = days[merged.series.startIdx + merged.series.length - 1];
        const prior = spans.get(symbol);
        const start = prior && prior.length ? (prior[0].start < first ? prior[0].start : first) : first;
        const end = prior && prior.length ? (prior[prior.length - 1].end > last ? prior[prior.length - 1].end : last) : last;
        spans.set(symbol, [{ start, end }]);
      }
      options.onProgress?.({ phase: 'write', done: i + 1, total: symbols.length });
    }
    writeInstruments(staging, 'all', new Map([...spans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    swapIntoPlace(staging, target);
  } catch (e) {
    discardStaging(staging);
    throw e;
  }
  return {
    targetDir: target,
    newDays: days.length - oldDays.length,
    days: days.length,
    lastDay: days[days.length - 1],
    updatedInstruments: incoming.size,
    newInstruments,
    filledCells,
    reindexed,
    droppedDuplicates: parsed.flatMap((p) => p.droppedLines.map((l) => `${p.file}:${l}`)),
  };
}

/** A symbol's stored fields re-indexed onto the new calendar, or null when it has no files. */
function readOldSeries(provider: LocalProvider, symbol: string, oldToNew: Int32Array): AlignedSeries | null {
  const fields = provider.fields(symbol);
  if (fields.length === 0) return null;
  const stored = fields.map((f) => readBin(join(provider.root, 'features', symbolToDirName(symbol), `${f}.${provider.freq}.bin`)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of stored) {
    if (s === null || s.values.length === 0) continue;
    lo = Math.min(lo, oldToNew[s.startIdx]);
    hi = Math.max(hi, oldToNew[Math.min(s.startIdx + s.values.length - 1, oldToNew.length - 1)]);
  }
  if (lo === Infinity) return null;
  const length = hi - lo + 1;
  const values = stored.map((s) => {
    const out = new Float64Array(length).fill(NaN);
    if (s === null) return out;
    for (let k = 0; k < s.values.length && s.startIdx + k < oldToNew.length; k++) out[oldToNew[s.startIdx + k] - lo] = s.values[k];
    return out;
  });
  return { symbol, startIdx: lo, length, fields, values };
}

/** Old values where present, fresh values elsewhere; `change` recomputed from the merged close when adjusting. */
function mergeSeries(
  symbol: string,
  old: AlignedSeries | null,
  fresh: AlignedSeries | undefined,
  adjust: boolean,
): { series: AlignedSeries; filled: number } {
  if (fresh === undefined) return { series: old as AlignedSeries, filled: 0 };
  if (old === null) return { series: fresh, filled: fresh.values.reduce((n, col) => n + countFinite(col), 0) };
  const startIdx = Math.min(old.startIdx, fresh.startIdx);
  const endIdx = Math.max(old.startIdx + old.length, fresh.startIdx + fresh.length) - 1;
  const length = endIdx - startIdx + 1;
  const fields = [...new Set([...old.fields, ...fresh.fields])];
  let filled = 0;
  const filledMask = new Map<string, Uint8Array>();
  const values: Float64Array[] = fields.map((f) => {
    const mask = new Uint8Array(length);
    filledMask.set(f, mask);
    const out = new Float64Array(length).fill(NaN);
    const ok = old.fields.indexOf(f);
    if (ok >= 0) out.set(old.values[ok], old.startIdx - startIdx);
    const fk = fresh.fields.indexOf(f);
    if (fk >= 0) {
      const col = fresh.values[fk];
      const base = fresh.startIdx - startIdx;
      for (let k = 0; k < col.length; k++) {
        if (Number.isNaN(out[base + k]) && !Number.isNaN(col[k])) {
          out[base + k] = col[k];
          mask[base + k] = 1;
          filled++;
        }
      }
    }
    return out;
  });
  const changeK = fields.indexOf('change');
  const closeK = fields.indexOf('close');
  if (adjust && changeK >= 0 && closeK >= 0) {
    values[changeK] = mergedChange(values[closeK], filledMask.get('close') as Uint8Array, values[changeK], filledMask.get('change') as Uint8Array);
  }
  return { series: { symbol, startIdx, length, fields, values }, filled };
}

/**
 * `change` after a merge: a stored value is kept while neither its close nor the previous close was
 * newly filled (so old cells keep their exact bits); everything else is recomputed from the close.
 */
function mergedChange(close: Float64Array, closeFilled: Uint8Array, change: Float64Array, changeFilled: Uint8Array): Float64Array {
  const recomputed = changeOf(close);
  const out = new Float64Array(close.length).fill(NaN);
  let prevFilled = false;
  for (let k = 0; k < close.length; k++) {
    if (Number.isNaN(close[k])) continue;
    const keep = !Number.isNaN(change[k]) && changeFilled[k] === 0 && closeFilled[k] === 0 && !prevFilled;
    out[k] = keep ? change[k] : recomputed[k];
    prevFilled = closeFilled[k] === 1;
  }
  return out;
}

function countFinite(col: Float64Array): number {
  let n = 0;
  for (let k = 0; k < col.length; k++) if (!Number.isNaN(col[k])) n++;
  return n;
}
