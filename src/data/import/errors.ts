import { QtaskError } from '../../errors.ts';

/** One bad spot in a source file. `line` is 1-based (the header is line 1); 0 when the whole file is at fault. */
export interface ImportIssue {
  code: string;
  file: string;
  line: number;
  message: string;
}

const MAX_LISTED = 10;

/**
 * An import or update that was refused. Nothing was written to the target. `code` is the first
 * issue's code (CSV_BAD_DATE, CSV_BAD_NUMBER, CSV_DUPLICATE_DATE, CSV_UNSORTED_DATES,
 * CSV_MISSING_COLUMN, CSV_COLUMN_COUNT, CSV_EMPTY, CSV_SYMBOL_MISMATCH, CSV_BAD_SYMBOL, CSV_DUPLICATE_SYMBOL,
 * CSV_NO_ADJ_CLOSE, IMPORT_SOURCE_NOT_FOUND, IMPORT_NO_FILES, IMPORT_TARGET_EXISTS,
 * IMPORT_TARGET_NOT_DATASET, IMPORT_BAD_OPTION); `path` is `FILE:LINE` of the first issue; `issues` has all
 * that were found (each file stops at its first bad row).
 */
export class ImportError extends QtaskError {
  readonly issues: ImportIssue[];
  constructor(issues: ImportIssue[], hint?: string) {
    const first = issues[0];
    const where = (i: ImportIssue): string => (i.line > 0 ? `${i.file}:${i.line}` : i.file);
    const listed = issues.slice(0, MAX_LISTED).map((i) => (i.file ? `${where(i)}: ${i.message}` : i.message));
    const more = issues.length > MAX_LISTED ? `; … and ${issues.length - MAX_LISTED} more` : '';
    const rows = issues.some((i) => i.code.startsWith('CSV_'));
    const prefix = !rows ? '' : issues.length > 1 ? `${issues.length} problems, target left untouched: ` : 'target left untouched: ';
    super(first.code, prefix + listed.join('; ') + more, {
      ...(first.file ? { path: where(first) } : {}),
      hint: hint ?? 'fix the source file(s) and run the import again',
    });
    this.issues = issues;
  }

  override toLine(): string {
    return `${this.code}: ${this.message}${this.hint ? ` (hint: ${this.hint})` : ''}`;
  }
}

/** An ImportError about the command's arguments rather than a file row. */
export function optionError(code: string, message: string, hint: string, file = ''): ImportError {
  return new ImportError([{ code, file, line: 0, message }], hint);
}
