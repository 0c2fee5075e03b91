/** Writes calendars, instruments files and aligned feature columns in qlib's layout. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBin } from '../provider/binFile.ts';
import { formatInstruments, type UniverseSpans } from '../provider/instruments.ts';
import { symbolToDirName } from '../provider/names.ts';
import type { AlignedSeries } from './align.ts';

export function writeCalendar(root: string, days: readonly string[], freq = 'day'): void {
  mkdirSync(join(root, 'calendars'), { recursive: true });
  writeFileSync(join(root, 'calendars', `${freq}.txt`), days.length ? days.join('\n') + '\n' : '');
}

export function writeInstruments(root: string, market: string, spans: UniverseSpans): void {
  mkdirSync(join(root, 'instruments'), { recursive: true });
  writeFileSync(join(root, 'instruments', `${market}.txt`), formatInstruments(spans));
}

/** Writes one `.bin` per field of `series` under `features/<symbol lower>/`. */
export function writeSeries(root: string, series: AlignedSeries, freq = 'day'): void {
  const dir = join(root, 'features', symbolToDirName(series.symbol));
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < series.fields.length; f++) {
    writeFileSync(join(dir, `${series.fields[f]}.${freq}.bin`), encodeBin(series.startIdx, series.values[f]));
  }
}
