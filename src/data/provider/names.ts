/**
 * Symbol ↔ directory name and field ↔ file name rules of qlib's `FileFeatureStorage`
 * (`qlib/utils/__init__.py::code_to_fname` / `fname_to_code`).
 */
import { DataError } from './errors.ts';

// Windows cannot create files with these names, so qlib prefixes them on disk.
const WINDOWS_RESERVED = new Set([
  'CON', 'PRN', 'AUX', 'NUL',
  ...Array.from({ length: 10 }, (_, i) => `COM${i}`),
  ...Array.from({ length: 10 }, (_, i) => `LPT${i}`),
]);
const RESERVED_PREFIX = '_qlib_';

/** The directory name under `features/` for a symbol: lower case, `_qlib_`-prefixed when reserved on Windows. Throws `BAD_INSTRUMENT_NAME` for names that would leave `features/`. */
export function symbolToDirName(symbol: string): string {
  if (symbol === '' || symbol === '.' || symbol === '..' || /[\/\\\0]/.test(symbol)) {
    throw new DataError('BAD_INSTRUMENT_NAME', `${JSON.stringify(symbol)} is not an instrument name`, {
      path: 'instrument',
      hint: 'instrument names cannot be empty or contain path separators',
    });
  }
  const upper = symbol.toUpperCase();
  return (WINDOWS_RESERVED.has(upper) ? RESERVED_PREFIX : '') + symbol.toLowerCase();
}

/** The symbol a file or directory stem names (prefix stripped), upper case as qlib writes it into instruments files. */
export function fileStemToSymbol(stem: string): string {
  const s = stem.trim();
  return (s.startsWith(RESERVED_PREFIX) ? s.slice(RESERVED_PREFIX.length) : s).toUpperCase();
}

const FIELD_NAME = /^[a-z0-9_]+$/;

/**
 * A field name as stored: lower case (qlib lower-cases `$Close` to `close`). Throws `BAD_FIELD_NAME`
 * for names that cannot be a file name part (path separators, dots, spaces).
 */
export function normalizeFieldName(field: string, path = 'field'): string {
  const f = field.toLowerCase();
  if (!FIELD_NAME.test(f)) {
    throw new DataError('BAD_FIELD_NAME', `${JSON.stringify(field)} is not a valid field name`, {
      path,
      hint: 'field names are letters, digits and underscores (e.g. close, adj_close)',
    });
  }
  return f;
}

/** A CSV header turned into a field name: lower case, runs of other characters become `_` (`Adj Close` → `adj_close`). */
export function columnToFieldName(column: string): string {
  return column.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}
