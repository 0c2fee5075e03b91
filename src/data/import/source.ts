/** Lists and parses a directory of per-symbol CSV files, collecting every file's first problem. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeFieldName, columnToFieldName } from '../provider/names.ts';
import { DataError } from '../provider/errors.ts';
import { parseCsvText, type CsvImportOptions, type ParsedCsv } from './csvParse.ts';
import { ImportError, optionError, type ImportIssue } from './errors.ts';

/** Progress of a long import step. */
export interface ImportProgress {
  phase: 'parse' | 'write';
  done: number;
  total: number;
}

export type ProgressListener = (p: ImportProgress) => void;

/** `*.csv` files of `srcDir` (or `srcDir` itself when it is a file), sorted by name. */
export function listCsvFiles(srcDir: string): string[] {
  if (!existsSync(srcDir)) {
    throw optionError('IMPORT_SOURCE_NOT_FOUND', `source ${JSON.stringify(srcDir)} does not exist`, 'pass a directory of per-symbol CSV files', srcDir);
  }
  if (statSync(srcDir).isFile()) return [srcDir];
  const files = readdirSync(srcDir)
    .filter((f) => f.toLowerCase().endsWith('.csv'))
    .sort()
    .map((f) => join(srcDir, f));
  if (files.length === 0) {
    throw optionError('IMPORT_NO_FILES', `${JSON.stringify(srcDir)} contains no .csv files`, 'one CSV per symbol, e.g. AAPL.csv', srcDir);
  }
  return files;
}

/** Normalised output field names requested with `includeFields` (validated), or undefined for "all". */
export function outputFieldsOf(options: CsvImportOptions): string[] | undefined {
  if (!options.includeFields || options.includeFields.length === 0) return undefined;
  return options.includeFields.map((f) => {
    try {
      return normalizeFieldName(columnToFieldName(f), 'include-fields');
    } catch (e) {
      if (e instanceof DataError) throw optionError('IMPORT_BAD_OPTION', `--include-fields: ${e.message}`, e.hint ?? '');
      throw e;
    }
  });
}

/**
 * Parses every file. Throws one `ImportError` listing each bad file's first problem (by file and
 * line) and symbols that two files share.
 */
export function parseSources(files: readonly string[], options: CsvImportOptions, onProgress?: ProgressListener): ParsedCsv[] {
  const issues: ImportIssue[] = [];
  const parsed: ParsedCsv[] = [];
  const bySymbol = new Map<string, string>();
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const result = parseCsvText(readFileSync(file, 'utf8'), file, options);
    if ('code' in result) {
      issues.push(result);
    } else {
      const other = bySymbol.get(result.symbol);
      if (other !== undefined) {
        issues.push({ code: 'CSV_DUPLICATE_SYMBOL', file, line: 0, message: `symbol ${result.symbol} is also in ${other}` });
      } else {
        bySymbol.set(result.symbol, file);
        parsed.push(result);
      }
    }
    onProgress?.({ phase: 'parse', done: i + 1, total: files.length });
  }
  if (issues.length > 0) {
    const dup = issues.some((i) => i.code === 'CSV_DUPLICATE_DATE');
    throw new ImportError(
      issues,
      dup
        ? "fix the source file(s), or pass --duplicates first to keep each date's first row as qlib's dump_all does"
        : 'fix the source file(s) and run the import again',
    );
  }
  return parsed;
}
