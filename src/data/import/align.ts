/**
 * Aligns parsed files onto a calendar (qlib's `dump_all` reindex onto the calendar slice
 * `[first date, last date]`, NaN for missing days) and applies the `--adjust` transformation.
 */
import type { CsvImportOptions, ParsedCsv } from './csvParse.ts';
import { ADJ_CLOSE_NAMES } from './csvParse.ts';

/** One symbol's columns on the calendar: `values[f][k]` is field `fields[f]` on calendar day `startIdx + k`. */
export interface AlignedSeries {
  symbol: string;
  startIdx: number;
  length: number;
  fields: string[];
  values: Float64Array[];
}

/** Maps days to calendar indices. */
export function indexDays(days: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < days.length; i++) m.set(days[i], i);
  return m;
}

/** Sorted union of all files' dates. */
export function unionCalendar(files: readonly ParsedCsv[], extra: readonly string[] = []): string[] {
  const set = new Set<string>(extra);
  for (const f of files) for (const d of f.dates) set.add(d);
  return [...set].sort();
}

/**
 * Places a file's rows on the calendar. With `adjust`, applies the Yahoo collector's adjustment
 * (see `CsvImportOptions.adjust`) and adds `factor` and `change`; `outputFields` (normalised) then
 * selects what is kept (default: every field; with `adjust`, all but the consumed adjusted close).
 */
export function alignFile(
  parsed: ParsedCsv,
  dayIndex: Map<string, number>,
  options: Pick<CsvImportOptions, 'adjust' | 'zeroVolume'>,
  outputFields?: readonly string[],
): AlignedSeries {
  const adjust = options.adjust ?? false;
  const startIdx = dayIndex.get(parsed.dates[0]) as number;
  const endIdx = dayIndex.get(parsed.dates[parsed.dates.length - 1]) as number;
  const length = endIdx - startIdx + 1;
  const n = parsed.dates.length;
  const slot = new Int32Array(n);
  for (let j = 0; j < n; j++) slot[j] = (dayIndex.get(parsed.dates[j]) as number) - startIdx;
  const fields = [...parsed.fields];
  const values = parsed.columns.map((col) => {
    const out = new Float64Array(length).fill(NaN);
    for (let j = 0; j < n; j++) out[slot[j]] = col[j];
    return out;
  });
  if (options.zeroVolume === 'missing') blankZeroVolumeRows(fields, values, slot);
  if (adjust) adjustInPlace(fields, values, slot);
  const keep = outputFields && outputFields.length > 0 ? outputFields : adjust ? fields.filter((f) => !ADJ_CLOSE_NAMES.includes(f)) : fields;
  const outFields: string[] = [];
  const outValues: Float64Array[] = [];
  for (const f of keep) {
    const k = fields.indexOf(f);
    if (k >= 0 && !outFields.includes(f)) {
      outFields.push(f);
      outValues.push(values[k]);
    }
  }
  return { symbol: parsed.symbol, startIdx, length, fields: outFields, values: outValues };
}

/**
 * qlib's `YahooNormalize1d.adjusted_price`: `factor = adjclose / close`, forward-filled (so days
 * without a row inherit the last factor); open/high/low/close × factor; volume ÷ factor. `change`
 * is the adjusted close over the previous available adjusted close, minus 1 (NaN on days without a
 * close). qlib computes `change` from the raw close, which shows splits as crashes; we use the
 * adjusted close so `change` is the real return.
 */
function adjustInPlace(fields: string[], values: Float64Array[], rowSlots: Int32Array): void {
  const adjK = fields.findIndex((f) => ADJ_CLOSE_NAMES.includes(f));
  const closeK = fields.indexOf('close');
  const close = values[closeK];
  const adj = values[adjK];
  const length = close.length;
  const factor = new Float64Array(length).fill(NaN);
  for (let j = 0; j < rowSlots.length; j++) {
    const k = rowSlots[j];
    const f = adj[k] / close[k];
    if (Number.isFinite(f)) factor[k] = f;
  }
  let last = NaN;
  for (let k = 0; k < length; k++) {
    if (Number.isNaN(factor[k])) factor[k] = last;
    else last = factor[k];
  }
  for (let f = 0; f < fields.length; f++) {
    const name = fields[f];
    const col = values[f];
    if (name === 'open' || name === 'high' || name === 'low' || name === 'close') {
      for (let k = 0; k < length; k++) col[k] *= factor[k];
    } else if (name === 'volume') {
      for (let k = 0; k < length; k++) col[k] /= factor[k];
    }
  }
  fields.push('factor', 'change');
  values.push(factor, changeOf(close));
}

/** qlib's Yahoo normaliser: a row whose volume is ≤ 0 or missing is a suspended day, every field NaN. */
function blankZeroVolumeRows(fields: string[], values: Float64Array[], rowSlots: Int32Array): void {
  const volK = fields.indexOf('volume');
  if (volK < 0) return;
  const volume = values[volK];
  for (let j = 0; j < rowSlots.length; j++) {
    const k = rowSlots[j];
    if (!(volume[k] > 0)) for (const col of values) col[k] = NaN;
  }
}

/** `close / previous non-NaN close - 1`; NaN where close is NaN and on the first close. */
export function changeOf(close: Float64Array): Float64Array {
  const out = new Float64Array(close.length).fill(NaN);
  let prev = NaN;
  for (let k = 0; k < close.length; k++) {
    const c = close[k];
    if (Number.isNaN(c)) continue;
    out[k] = c / prev - 1;
    prev = c;
  }
  return out;
}
