/**
 * Writing a collected result (one Panel, or a dict of Panels keyed by recorder key) as CSV or
 * Parquet. A dict becomes one long table with a leading `key` column (the key as JSON), so pandas
 * reads either format straight into a frame (`pd.read_parquet(f).set_index(["datetime", "instrument"])`).
 */
import { parquetWriteBuffer, schemaFromColumnData } from 'hyparquet-writer';
import type { ColumnSource } from 'hyparquet-writer';
import type { Panel } from '../data/types.ts';
import { isPanel, panelToCsv } from '../recorder/artifacts.ts';
import { CollectError } from './errors.ts';
import { isKeyedDict, keyId } from './keyed.ts';

export type CollectOutputFormat = 'csv' | 'parquet';

/** The format an output path asks for by its extension (`-` is stdout, CSV); undefined if neither. */
export function outputFormatOf(path: string): CollectOutputFormat | undefined {
  if (path === '-') return 'csv';
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  return undefined;
}

interface KeyedPanel {
  key: string | undefined;
  panel: Panel;
}

/** One Panel, or every Panel of a dict sorted by key (listing order is run start time, which says nothing about the data). */
function keyedPanels(result: unknown): KeyedPanel[] {
  if (isPanel(result)) return [{ key: undefined, panel: result }];
  if (!isKeyedDict(result)) throw new CollectError('COLLECT_OUTPUT', 'the collected result is neither a Panel nor a dict of Panels', { hint: 'use --ensemble to reduce it' });
  const entries = result.entries().map(([k, v]) => ({ key: keyId(k), value: v }));
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let columns: string | undefined;
  return entries.map(({ key, value }) => {
    if (!isPanel(value)) throw new CollectError('COLLECT_OUTPUT', `result ${key} is not a Panel`, { hint: 'use --ensemble to reduce it' });
    const cols = value.columns.join(',');
    if (columns !== undefined && columns !== cols) throw new CollectError('COLLECT_OUTPUT', `results have different columns (${columns} vs ${cols})`, { hint: 'collect one model at a time with --filter' });
    columns = cols;
    return { key, panel: value };
  });
}

/** CSV of a Panel, or of a dict of Panels with a leading `key` column. */
export function collectedToCsv(result: unknown): string {
  const parts = keyedPanels(result);
  if (parts.length === 1 && parts[0]!.key === undefined) return panelToCsv(parts[0]!.panel);
  if (parts.length === 0) return 'key,datetime,instrument\n';
  const out: string[] = [];
  for (const [i, { key, panel }] of parts.entries()) {
    const lines = panelToCsv(panel).split('\n');
    if (i === 0) out.push(`key,${lines[0]}`);
    const field = `"${key!.replace(/"/g, '""')}"`;
    for (const line of lines.slice(1)) if (line !== '') out.push(`${field},${line}`);
  }
  return `${out.join('\n')}\n`;
}

/** Number of data rows a collected result holds. */
export function collectedRows(result: unknown): number {
  return keyedPanels(result).reduce((n, p) => n + p.panel.dates.length, 0);
}

/**
 * Parquet of a Panel (or dict of Panels, with a `key` string column): `datetime` as a naive
 * millisecond TIMESTAMP (pandas gets datetime64[ms]), `instrument` as a string, every value column DOUBLE
 * with NaN kept as NaN (what pandas wrote for qlib's pred.pkl), Snappy-compressed.
 */
export function collectedToParquet(result: unknown): Uint8Array {
  const parts = keyedPanels(result);
  const keyed = !(parts.length === 1 && parts[0]!.key === undefined);
  const n = parts.reduce((s, p) => s + p.panel.dates.length, 0);
  const columnNames = parts[0]?.panel.columns ?? [];
  const keys: string[] = [];
  const dates: Date[] = new Array<Date>(n);
  const instruments: string[] = new Array<string>(n);
  const values = columnNames.map(() => new Float64Array(n));
  const dateCache = new Map<string, Date>();
  let row = 0;
  for (const { key, panel } of parts) {
    for (let r = 0; r < panel.dates.length; r++, row++) {
      const d = panel.dates[r]!;
      let date = dateCache.get(d);
      if (date === undefined) {
        date = new Date(`${d}T00:00:00Z`);
        dateCache.set(d, date);
      }
      dates[row] = date;
      instruments[row] = panel.instruments[r]!;
      if (keyed) keys.push(key!);
      for (let c = 0; c < values.length; c++) values[c]![row] = panel.values[c]![r]!;
    }
  }
  const columnData: ColumnSource[] = [
    ...(keyed ? [{ name: 'key', data: keys, type: 'STRING' as const, nullable: false }] : []),
    { name: 'datetime', data: dates, type: 'TIMESTAMP', nullable: false },
    { name: 'instrument', data: instruments, type: 'STRING', nullable: false },
    ...columnNames.map((name, c) => ({ name, data: values[c]!, type: 'DOUBLE' as const, nullable: false })),
  ];
  // A naive (not UTC-adjusted) timestamp: qlib's datetimes carry no time zone, and pandas would
  // otherwise read `datetime64[ms, UTC]`, which does not join with qlib frames.
  const schema = schemaFromColumnData({ columnData }).map((el) =>
    el.name === 'datetime' ? { name: el.name, type: el.type, repetition_type: el.repetition_type, logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: false, unit: 'MILLIS' as const } } : el);
  const untyped = columnData.map(({ type: _type, ...c }) => c);
  return new Uint8Array(parquetWriteBuffer({ columnData: untyped, schema, createdBy: 'qtask' }));
}
