/**
 * Parses one-symbol-per-file daily CSVs (Yahoo style: `Date,High,Low,Open,Close,Volume,Adj Close,Name`)
 * into columns without building per-row objects. Quoted cells are not supported (numeric data has none).
 */
import { basename, extname } from 'node:path';
import { normalizeDay } from '../../generate/dates.ts';
import { columnToFieldName, fileStemToSymbol } from '../provider/names.ts';
import type { ImportIssue } from './errors.ts';

export interface CsvImportOptions {
  /** Date column (matched case-insensitively). Default `'Date'`. */
  dateField?: string;
  /**
   * Where the symbol comes from: `'filename'` (the file stem, as qlib's `dump_all`) or a column name
   * (every row must carry the same symbol). Default `'filename'`.
   */
  symbolField?: string;
  /** Only these columns become fields (names as in the header or normalised, e.g. `adj_close`). Default: every column but date and symbol. */
  includeFields?: readonly string[];
  /**
   * Turn raw OHLCV plus an adjusted close into adjusted bars as qlib's Yahoo collector does:
   * `factor = adjclose/close` (forward-filled), open/high/low/close × factor, volume ÷ factor, and
   * write `factor` and `change`. The adjusted-close column is consumed, not written. Default false.
   */
  adjust?: boolean;
  /**
   * A row repeating the previous row's date: `'error'` refuses the file (CSV_DUPLICATE_DATE);
   * `'first'` keeps the first row and drops the repeats, as qlib's `dump_all`
   * (`drop_duplicates(date_field)`) does. Default `'error'`.
   */
  duplicates?: 'error' | 'first';
  /**
   * Rows with volume ≤ 0 or missing: `'keep'` them as they are, or treat them as suspended days
   * (`'missing'`: every field NaN, as qlib's Yahoo collector does). Default `'keep'`.
   */
  zeroVolume?: 'keep' | 'missing';
}

/** A parsed file: ascending unique dates and one column per source field. */
export interface ParsedCsv {
  file: string;
  symbol: string;
  dates: string[];
  /** Normalised field names of `columns` (source columns, not yet adjusted). */
  fields: string[];
  columns: Float64Array[];
  /** Line number (1-based) of each data row, for messages. */
  lines: Int32Array;
  /** Lines dropped as repeated dates (only with `duplicates: 'first'`). */
  droppedLines: number[];
}

export const ADJ_CLOSE_NAMES: readonly string[] = ['adj_close', 'adjclose', 'adjusted_close'];
const SYMBOL_LIKE = new Set(['symbol', 'name', 'ticker', 'code', 'instrument']);
const NA_STRINGS = new Set(['', 'nan', 'NaN', 'NAN', 'NA', 'N/A', 'n/a', 'null', 'NULL', 'None', '#N/A', '<NA>', '-nan', '-NaN']);
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The symbol `'filename'` mode gives a file: its stem, upper case (qlib's `fname_to_code(stem.lower())`, upper-cased in all.txt). */
export function symbolFromFileName(file: string): string {
  return fileStemToSymbol(basename(file, extname(file)));
}

function digit(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : -1;
}

/** `YYYY-MM-DD` fast path; anything else goes through `normalizeDay` (midnight timestamps). */
function parseDay(cell: string): string | null {
  if (cell.length === 10 && cell.charCodeAt(4) === 45 && cell.charCodeAt(7) === 45) {
    const y0 = digit(cell.charCodeAt(0)), y1 = digit(cell.charCodeAt(1)), y2 = digit(cell.charCodeAt(2)), y3 = digit(cell.charCodeAt(3));
    const m0 = digit(cell.charCodeAt(5)), m1 = digit(cell.charCodeAt(6)), d0 = digit(cell.charCodeAt(8)), d1 = digit(cell.charCodeAt(9));
    if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return null;
    const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
    const month = m0 * 10 + m1;
    const day = d0 * 10 + d1;
    if (month < 1 || month > 12 || day < 1) return null;
    const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
    if (day > DAYS_IN_MONTH[month] + (leap ? 1 : 0)) return null;
    return cell;
  }
  return normalizeDay(cell.trim());
}

/** A decimal number, or NaN for pandas' NA spellings; `undefined` for anything else (hex, Infinity, words). */
function parseNumber(cell: string): number | undefined {
  const v = Number(cell);
  if (Number.isNaN(v)) return NA_STRINGS.has(cell.trim()) ? NaN : undefined;
  if (!Number.isFinite(v)) return undefined;
  const t = cell.trim();
  if (t === '') return NaN;
  let i = 0;
  const c0 = t.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  const c = t.charCodeAt(i);
  if (!(digit(c) >= 0 || c === 46)) return undefined;
  // Number() also reads 0x1f, 0b1, 0o7.
  if (c === 48 && t.length > i + 1) {
    const n = t.charCodeAt(i + 1) | 32;
    if (n === 120 || n === 98 || n === 111) return undefined;
  }
  return v;
}

function splitHeader(line: string): string[] {
  return line.split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1').trim());
}

/**
 * Parses a CSV file's text. Returns the parsed file, or the first problem found (file stops there).
 * Checks: header has the date (and symbol/adjust) columns and the included fields; every row has as
 * many cells as the header; dates are real days, strictly ascending; numeric cells are numbers or NA.
 */
export function parseCsvText(text: string, file: string, options: CsvImportOptions = {}): ParsedCsv | ImportIssue {
  const issue = (code: string, line: number, message: string): ImportIssue => ({ code, file, line, message });
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let eol = text.indexOf('\n');
  if (eol < 0) eol = text.length;
  const headerLine = text.slice(0, eol).replace(/\r$/, '');
  if (headerLine.trim() === '') return issue('CSV_EMPTY', 1, 'the file has no header line');
  const header = splitHeader(headerLine);
  const normalized = header.map(columnToFieldName);
  const findColumn = (name: string): number => {
    const exact = header.indexOf(name);
    if (exact >= 0) return exact;
    const lower = name.toLowerCase();
    const ci = header.findIndex((h) => h.toLowerCase() === lower);
    return ci >= 0 ? ci : normalized.indexOf(columnToFieldName(name));
  };

  const dateField = options.dateField ?? 'Date';
  const dateCol = findColumn(dateField);
  if (dateCol < 0) {
    return issue('CSV_MISSING_COLUMN', 1, `no date column ${JSON.stringify(dateField)} in header ${JSON.stringify(headerLine)}`);
  }
  const symbolField = options.symbolField ?? 'filename';
  let symbolCol = -1;
  if (symbolField !== 'filename') {
    symbolCol = findColumn(symbolField);
    if (symbolCol < 0) return issue('CSV_MISSING_COLUMN', 1, `no symbol column ${JSON.stringify(symbolField)} in header ${JSON.stringify(headerLine)}`);
  }

  let adjCol = -1;
  if (options.adjust) {
    adjCol = normalized.findIndex((n) => ADJ_CLOSE_NAMES.includes(n));
    if (adjCol < 0) return issue('CSV_NO_ADJ_CLOSE', 1, `--adjust needs an adjusted-close column (Adj Close / adjclose); header is ${JSON.stringify(headerLine)}`);
    if (normalized.indexOf('close') < 0) return issue('CSV_MISSING_COLUMN', 1, `--adjust needs a Close column; header is ${JSON.stringify(headerLine)}`);
  }

  // Columns to read: the requested ones (derived adjust fields are not source columns) or all non-key ones.
  const readCols: number[] = [];
  if (options.includeFields && options.includeFields.length > 0) {
    for (const name of options.includeFields) {
      const norm = columnToFieldName(name);
      if (options.adjust && (norm === 'factor' || norm === 'change')) continue;
      const col = findColumn(name);
      if (col < 0) return issue('CSV_MISSING_COLUMN', 1, `included field ${JSON.stringify(name)} is not a column of ${JSON.stringify(headerLine)}`);
      if (!readCols.includes(col)) readCols.push(col);
    }
  } else {
    for (let c = 0; c < header.length; c++) {
      if (c === dateCol || c === symbolCol || c === adjCol) continue;
      if (symbolField === 'filename' && SYMBOL_LIKE.has(normalized[c])) continue;
      readCols.push(c);
    }
  }
  if (options.adjust) {
    // Close and the adjusted close are needed to compute the factor even when not written.
    for (const col of [normalized.indexOf('close'), adjCol]) if (!readCols.includes(col)) readCols.push(col);
  }
  const fields = readCols.map((c) => normalized[c]);

  let capacity = 16;
  for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) capacity++;
  const columns = readCols.map(() => new Float64Array(capacity));
  const colSlot = new Int32Array(header.length).fill(-1);
  readCols.forEach((c, k) => (colSlot[c] = k));
  const dates: string[] = [];
  const droppedLines: number[] = [];
  const lines = new Int32Array(capacity);
  const ncols = header.length;
  const fileSymbol = symbolField === 'filename' ? symbolFromFileName(file) : '';
  let symbol = fileSymbol;
  let prev = '';
  let lineNo = 1;
  let pos = eol + 1;
  const cells: string[] = new Array<string>(ncols);
  while (pos < text.length) {
    lineNo++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let lineEnd = end;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    if (lineEnd === pos) {
      pos = end + 1;
      continue;
    }
    let c = 0;
    let start = pos;
    while (c < ncols) {
      let comma = text.indexOf(',', start);
      if (comma < 0 || comma > lineEnd) comma = lineEnd;
      cells[c++] = text.slice(start, comma);
      start = comma + 1;
      if (comma === lineEnd) break;
    }
    if (c !== ncols || start <= lineEnd) {
      let count = 1;
      for (let p = text.indexOf(',', pos); p >= 0 && p < lineEnd; p = text.indexOf(',', p + 1)) count++;
      return issue('CSV_COLUMN_COUNT', lineNo, `row has ${count} cells but the header has ${ncols}`);
    }
    const day = parseDay(cells[dateCol]);
    if (day === null) return issue('CSV_BAD_DATE', lineNo, `${JSON.stringify(cells[dateCol])} in column ${JSON.stringify(header[dateCol])} is not a date`);
    const repeat = day === prev;
    if (repeat && options.duplicates !== 'first') {
      return issue('CSV_DUPLICATE_DATE', lineNo, `date ${day} repeats the previous row's date`);
    }
    if (day < prev) return issue('CSV_UNSORTED_DATES', lineNo, `date ${day} comes after ${prev}; rows must be in ascending date order`);
    if (symbolCol >= 0) {
      const s = cells[symbolCol].trim().toUpperCase();
      if (symbol === '') {
        if (s === '' || s === '.' || s === '..' || /[\/\\\0]/.test(s)) {
          return issue('CSV_BAD_SYMBOL', lineNo, `${JSON.stringify(s)} in column ${JSON.stringify(header[symbolCol])} is not a usable symbol`);
        }
        symbol = s;
      } else if (s !== symbol) {
        return issue('CSV_SYMBOL_MISMATCH', lineNo, `symbol ${JSON.stringify(s)} differs from ${JSON.stringify(symbol)} earlier in the file (one symbol per file)`);
      }
    }
    const row = dates.length;
    for (let k = 0; k < readCols.length; k++) {
      const cell = cells[readCols[k]];
      const v = parseNumber(cell);
      if (v === undefined) return issue('CSV_BAD_NUMBER', lineNo, `${JSON.stringify(cell)} in column ${JSON.stringify(header[readCols[k]])} is not a number`);
      columns[k][row] = v;
    }
    pos = end + 1;
    if (repeat) {
      droppedLines.push(lineNo);
      continue;
    }
    lines[row] = lineNo;
    dates.push(day);
    prev = day;
  }
  if (dates.length === 0) return issue('CSV_EMPTY', 1, 'the file has a header but no data rows');
  const n = dates.length;
  return { file, symbol, dates, fields, columns: columns.map((col) => col.slice(0, n)), lines: lines.slice(0, n), droppedLines };
}
