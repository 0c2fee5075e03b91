/**
 * The real S&P 500 data set (482 CSVs, 2015–2020) imported into qlib's format the way the docs
 * do it (`qtask data import-csv SRC DIR --adjust --duplicates first`), once per test process: the
 * import takes seconds, and several tests in one file read the same provider. The temp directory
 * is removed when the process exits.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importCsv, type ImportSummary } from '../../src/data/import/index.ts';

/** The CSVs, one per symbol (`../shared/data/sp500_2015_2020` relative to the repo root). */
export const SP500_SRC = resolve(import.meta.dirname, '../../../shared/data/sp500_2015_2020');

export interface ImportedSp500 {
  /** The provider directory (provider_uri). */
  dir: string;
  summary: ImportSummary;
}

let imported: ImportedSp500 | undefined;

/** The imported data set; the first call imports it, later calls return the same directory. */
export function importedSp500(): ImportedSp500 {
  if (imported) return imported;
  if (!existsSync(SP500_SRC)) throw new Error(`the S&P 500 data set is missing at ${SP500_SRC}`);
  const root = mkdtempSync(join(tmpdir(), 'qtask-sp500-'));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'sp500');
  const summary = importCsv({ srcDir: SP500_SRC, targetDir: dir, adjust: true, duplicates: 'first' });
  imported = { dir, summary };
  return imported;
}
