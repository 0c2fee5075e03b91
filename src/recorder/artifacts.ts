import type { JsonValue } from '../task/types.ts';
import type { Panel } from '../data/types.ts';
import { RecorderError } from './errors.ts';
import { pythonFloatRepr } from './pyFormat.ts';

/**
 * Portable artifact encodings (never pickles):
 * - JSON values → `<name>.json`;
 * - a `Panel` → `<name>.csv` with header `datetime,instrument,<columns…>` (pandas:
 *   `pd.read_csv(f, index_col=[0, 1], parse_dates=[0])` gives qlib's `(datetime, instrument)` frame);
 * - a column table (`{col: Float64Array | string[]}`, at least one Float64Array) → `<name>.csv`;
 * - bytes (`Uint8Array`/`Buffer`) → `<name>` as-is.
 * NaN is written as an empty field and ±Infinity as `inf`/`-inf`, which pandas reads back as such.
 */
export type ColumnTable = Record<string, Float64Array | string[]>;
export type ArtifactValue = JsonValue | Panel | ColumnTable | Uint8Array;
export type LoadedArtifact = JsonValue | Panel | ColumnTable | Uint8Array;

export interface EncodedArtifact {
  fileName: string;
  data: string | Uint8Array;
  kind: 'json' | 'panel' | 'table' | 'bytes';
}

export function isPanel(v: unknown): v is Panel {
  if (v === null || typeof v !== 'object') return false;
  const p = v as Partial<Panel>;
  return Array.isArray(p.dates) && Array.isArray(p.instruments) && Array.isArray(p.columns) && Array.isArray(p.values) &&
    p.values.every((c) => c instanceof Float64Array);
}

export function isColumnTable(v: unknown): v is ColumnTable {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false;
  const cols = Object.values(v as Record<string, unknown>);
  return cols.length > 0 && cols.some((c) => c instanceof Float64Array) &&
    cols.every((c) => c instanceof Float64Array || (Array.isArray(c) && c.every((s) => typeof s === 'string')));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvNumber(v: number): string {
  if (Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  // Shortest round-trip digits; pandas parses both JS and Python spellings.
  return Number.isInteger(v) && Math.abs(v) < 1e16 ? pythonFloatRepr(v) : String(v);
}

export function panelToCsv(p: Panel, path = 'panel'): string {
  const n = p.dates.length;
  if (p.instruments.length !== n || p.values.some((c) => c.length !== n) || p.columns.length !== p.values.length) {
    throw new RecorderError('ARTIFACT_TYPE', 'panel has columns or index arrays of different lengths', {
      path,
      hint: 'dates, instruments and every values[c] must have one entry per row; columns one name per values entry',
    });
  }
  const lines: string[] = [['datetime', 'instrument', ...p.columns].map(csvField).join(',')];
  for (let r = 0; r < n; r++) {
    let line = `${csvField(p.dates[r]!)},${csvField(p.instruments[r]!)}`;
    for (const col of p.values) line += `,${csvNumber(col[r]!)}`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

export function tableToCsv(t: ColumnTable, path = 'table'): string {
  const names = Object.keys(t);
  const cols = names.map((k) => t[k]!);
  const n = cols[0]!.length;
  if (cols.some((c) => c.length !== n)) {
    throw new RecorderError('ARTIFACT_TYPE', 'table columns have different lengths', { path, hint: 'every column needs one entry per row' });
  }
  const lines: string[] = [names.map(csvField).join(',')];
  for (let r = 0; r < n; r++) {
    lines.push(cols.map((c) => (c instanceof Float64Array ? csvNumber(c[r]!) : csvField(c[r]!))).join(','));
  }
  return `${lines.join('\n')}\n`;
}

function findNonJson(v: unknown, path: string, seen: Set<object>): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : path;
  if (typeof v !== 'object') return path;
  if (seen.has(v)) return path;
  const proto: unknown = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return path;
  seen.add(v);
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [`[${i}]`, x]) : Object.entries(v).map(([k, x]) => [`.${k}`, x]);
  for (const [k, x] of entries) {
    const bad = findNonJson(x, `${path}${k}`, seen);
    if (bad !== undefined) return bad;
  }
  seen.delete(v);
  return undefined;
}

export function encodeArtifact(name: string, value: unknown): EncodedArtifact {
  if (value instanceof Uint8Array) return { fileName: name, data: value, kind: 'bytes' };
  if (isPanel(value)) return { fileName: `${name}.csv`, data: panelToCsv(value, name), kind: 'panel' };
  if (isColumnTable(value)) return { fileName: `${name}.csv`, data: tableToCsv(value, name), kind: 'table' };
  const bad = findNonJson(value, name, new Set());
  if (bad !== undefined) {
    throw new RecorderError('ARTIFACT_TYPE', `cannot save ${name}: the value at ${bad} is not JSON, a Panel, a column table or bytes`, {
      path: bad,
      hint: 'qtask never pickles: convert the value to JSON data, a Panel / {column: Float64Array} table, or a Uint8Array',
    });
  }
  return { fileName: `${name}.json`, data: `${JSON.stringify(value)}\n`, kind: 'json' };
}

/** Splits CSV text (RFC 4180 quoting) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (t === '' || /^nan$/i.test(t)) return NaN;
  if (/^[+]?inf(inity)?$/i.test(t)) return Infinity;
  if (/^-inf(inity)?$/i.test(t)) return -Infinity;
  const v = Number(t);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * Reads a CSV artifact: header `datetime,instrument,…` gives a Panel (column groups are not stored in
 * the CSV; columns named `LABEL…`/`label…` come back as group `label`, the rest as `feature`);
 * any other header gives a column table (numeric columns as Float64Array, others as strings).
 */
export function csvToObject(text: string, path: string): Panel | ColumnTable {
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header || header.length === 0) throw new RecorderError('ARTIFACT_CORRUPT', `${path}: empty CSV`, { path, hint: 'the artifact has no header row' });
  const body = rows.slice(1).filter((r) => !(r.length === 1 && r[0] === ''));
  for (let r = 0; r < body.length; r++) {
    if (body[r]!.length !== header.length) {
      throw new RecorderError('ARTIFACT_CORRUPT', `${path}: row ${r + 2} has ${body[r]!.length} fields, the header ${header.length}`, {
        path,
        hint: 'the CSV was truncated or edited by hand',
      });
    }
  }
  const numericCol = (c: number): Float64Array | undefined => {
    const out = new Float64Array(body.length);
    for (let r = 0; r < body.length; r++) {
      const v = parseNumber(body[r]![c]!);
      if (v === undefined) return undefined;
      out[r] = v;
    }
    return out;
  };
  if (header[0] === 'datetime' && header[1] === 'instrument') {
    const columns = header.slice(2);
    const values = columns.map((name, k) => {
      const col = numericCol(k + 2);
      if (!col) throw new RecorderError('ARTIFACT_CORRUPT', `${path}: column ${name} is not numeric`, { path, hint: 'panel columns hold numbers only' });
      return col;
    });
    return {
      dates: body.map((r) => r[0]!),
      instruments: body.map((r) => r[1]!),
      columns,
      groups: columns.map((c) => (/^label/i.test(c) ? 'label' : 'feature')),
      values,
    };
  }
  const table: ColumnTable = {};
  header.forEach((name, c) => {
    table[name] = numericCol(c) ?? body.map((r) => r[c]!);
  });
  return table;
}
