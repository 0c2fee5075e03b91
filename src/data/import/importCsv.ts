/**
 * `importCsv`: qlib's `dump_bin.py dump_all` for one-CSV-per-symbol files — calendar = union of all
 * dates, `instruments/all.txt` = each symbol's first..last date, one `.bin` per field aligned to the
 * calendar. All-or-nothing: the result is built next to the target and renamed into place.
 */
import { resolve } from 'node:path';
import type { UniverseSpans } from '../provider/instruments.ts';
import { alignFile, indexDays, unionCalendar } from './align.ts';
import { discardStaging, isAbsentOrEmpty, makeStagingDir, swapIntoPlace } from './atomic.ts';
import type { CsvImportOptions } from './csvParse.ts';
import { optionError } from './errors.ts';
import { listCsvFiles, outputFieldsOf, parseSources, type ProgressListener } from './source.ts';
import { writeCalendar, writeInstruments, writeSeries } from './writer.ts';

export interface ImportCsvOptions extends CsvImportOptions {
  /** Directory of CSV files (`*.csv`), or one CSV file. */
  srcDir: string;
  /** Provider directory to create. */
  targetDir: string;
  /** Replace a non-empty target (atomically). Default false: a non-empty target is refused. */
  overwrite?: boolean;
  /** Called as files are parsed and written. */
  onProgress?: ProgressListener;
}

export interface ImportSummary {
  targetDir: string;
  files: number;
  instruments: number;
  rows: number;
  days: number;
  firstDay: string;
  lastDay: string;
  fields: string[];
  /** `FILE:LINE` of rows dropped as repeated dates (`duplicates: 'first'`). */
  droppedDuplicates: string[];
}

export function importCsv(options: ImportCsvOptions): ImportSummary {
  const target = resolve(options.targetDir);
  if (!options.overwrite && !isAbsentOrEmpty(target)) {
    throw optionError('IMPORT_TARGET_EXISTS', `target ${target} exists and is not empty`, 'pass --overwrite to replace it, or use `qtask data update` to add days', target);
  }
  const outputFields = outputFieldsOf(options);
  const files = listCsvFiles(options.srcDir);
  const parsed = parseSources(files, options, options.onProgress);
  const days = unionCalendar(parsed);
  const dayIndex = indexDays(days);
  const staging = makeStagingDir(target, 'import');
  const fieldSet = new Set<string>();
  let rows = 0;
  try {
    writeCalendar(staging, days);
    const spans: UniverseSpans = new Map();
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i];
      const series = alignFile(p, dayIndex, options, outputFields);
      writeSeries(staging, series);
      for (const f of series.fields) fieldSet.add(f);
      spans.set(p.symbol, [{ start: p.dates[0], end: p.dates[p.dates.length - 1] }]);
      rows += p.dates.length;
      options.onProgress?.({ phase: 'write', done: i + 1, total: parsed.length });
    }
    writeInstruments(staging, 'all', spans);
    swapIntoPlace(staging, target);
  } catch (e) {
    discardStaging(staging);
    throw e;
  }
  return {
    targetDir: target,
    files: files.length,
    instruments: parsed.length,
    rows,
    days: days.length,
    firstDay: days[0],
    lastDay: days[days.length - 1],
    fields: [...fieldSet].sort(),
    droppedDuplicates: parsed.flatMap((p) => p.droppedLines.map((l) => `${p.file}:${l}`)),
  };
}
