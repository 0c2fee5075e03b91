/**
 * Bad input for import-csv/update: each case is a source directory with good files and one bad
 * file in the middle; the import must throw an ImportError with the expected code whose message
 * names FILE:LINE, and leave an existing target byte-for-byte unchanged with no temp dirs behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImportError, importCsv, updateFromCsv, type CsvImportOptions } from '../../src/data/import/index.ts';
import { treeDigest } from '../support/treeDigest.ts';

const ROOT = mkdtempSync(join(tmpdir(), 'qtask-import-bad-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const HEADER = 'Date,High,Low,Open,Close,Volume,Adj Close,Name';
function row(date: string, close = 10, sym = 'X'): string {
  return `${date},${close + 1},${close - 1},${close},${close},1000.0,${close / 2},${sym}`;
}
const GOOD = (sym: string): string => [HEADER, row('2020-01-02', 10, sym), row('2020-01-03', 11, sym), row('2020-01-06', 12, sym)].join('\n') + '\n';

interface BadCase {
  name: string;
  /** File name and content of the bad file (placed between AAA.csv and ZZZ.csv). */
  file: string;
  content: string;
  options?: CsvImportOptions;
  code: string;
  /** `file:line` that must appear in the message (line 0 → just the file). */
  line: number;
  extra?: RegExp;
}

const CASES: BadCase[] = [
  { name: 'unparseable date', file: 'MMM.csv', content: [HEADER, row('2020-01-02'), row('02/01/2020')].join('\n'), code: 'CSV_BAD_DATE', line: 3, extra: /"02\/01\/2020"/ },
  { name: 'impossible date', file: 'MMM.csv', content: [HEADER, row('2019-02-29')].join('\n'), code: 'CSV_BAD_DATE', line: 2 },
  { name: 'time of day that is not midnight', file: 'MMM.csv', content: [HEADER, row('2020-01-02 15:30:00')].join('\n'), code: 'CSV_BAD_DATE', line: 2 },
  { name: 'non-numeric price', file: 'MMM.csv', content: [HEADER, row('2020-01-02'), '2020-01-03,11,9,10,abc,1000,5,X'].join('\n'), code: 'CSV_BAD_NUMBER', line: 3, extra: /"abc" in column "Close"/ },
  { name: 'hex number', file: 'MMM.csv', content: [HEADER, '2020-01-02,0x1A,9,10,10,1000,5,X'].join('\n'), code: 'CSV_BAD_NUMBER', line: 2 },
  { name: 'infinite volume', file: 'MMM.csv', content: [HEADER, '2020-01-02,11,9,10,10,Infinity,5,X'].join('\n'), code: 'CSV_BAD_NUMBER', line: 2 },
  { name: 'duplicate date', file: 'MMM.csv', content: [HEADER, row('2020-01-02'), row('2020-01-03'), row('2020-01-03')].join('\n'), code: 'CSV_DUPLICATE_DATE', line: 4, extra: /--duplicates first/ },
  { name: 'unsorted dates', file: 'MMM.csv', content: [HEADER, row('2020-01-03'), row('2020-01-02')].join('\n'), code: 'CSV_UNSORTED_DATES', line: 3 },
  { name: 'too few cells', file: 'MMM.csv', content: [HEADER, row('2020-01-02'), '2020-01-03,11,9,10'].join('\n'), code: 'CSV_COLUMN_COUNT', line: 3, extra: /4 cells but the header has 8/ },
  { name: 'too many cells', file: 'MMM.csv', content: [HEADER, row('2020-01-02') + ',7'].join('\n'), code: 'CSV_COLUMN_COUNT', line: 2 },
  { name: 'missing date column', file: 'MMM.csv', content: ['Day,Close', '2020-01-02,1'].join('\n'), code: 'CSV_MISSING_COLUMN', line: 1 },
  { name: '--adjust without an adjusted close', file: 'MMM.csv', content: ['Date,Open,Close', '2020-01-02,1,1'].join('\n'), options: { adjust: true }, code: 'CSV_NO_ADJ_CLOSE', line: 1 },
  { name: 'included field that is not a column', file: 'MMM.csv', content: GOOD('MMM'), options: { includeFields: ['close', 'vwap'] }, code: 'CSV_MISSING_COLUMN', line: 1, extra: /"vwap"/ },
  { name: 'header only', file: 'MMM.csv', content: HEADER + '\n', code: 'CSV_EMPTY', line: 1 },
  { name: 'empty file', file: 'MMM.csv', content: '', code: 'CSV_EMPTY', line: 1 },
  { name: 'symbol column changes inside a file', file: 'MMM.csv', content: [HEADER, row('2020-01-02', 10, 'MMM'), row('2020-01-03', 10, 'NNN')].join('\n'), options: { symbolField: 'Name' }, code: 'CSV_SYMBOL_MISMATCH', line: 3 },
  { name: 'symbol column value with a path separator', file: 'MMM.csv', content: [HEADER, row('2020-01-02', 10, '../etc')].join('\n'), options: { symbolField: 'Name' }, code: 'CSV_BAD_SYMBOL', line: 2 },
  { name: 'two files for one symbol', file: 'aaa.csv', content: GOOD('AAA'), code: 'CSV_DUPLICATE_SYMBOL', line: 0, extra: /also in/ },
  { name: 'missing symbol column', file: 'MMM.csv', content: GOOD('MMM'), options: { symbolField: 'Ticker' }, code: 'CSV_MISSING_COLUMN', line: 1 },
];

describe('import-csv bad input', () => {
  let existing: string;
  let before_: string;
  before(() => {
    existing = join(ROOT, 'existing');
    const src = join(ROOT, 'good');
    mkdirSync(src);
    writeFileSync(join(src, 'AAA.csv'), GOOD('AAA'));
    importCsv({ srcDir: src, targetDir: existing });
    before_ = treeDigest(existing);
  });

  for (const [i, c] of CASES.entries()) {
    test(`${c.name} → ${c.code} at ${c.file}:${c.line}`, () => {
      const src = join(ROOT, `case${i}`);
      mkdirSync(src);
      writeFileSync(join(src, 'AAA.csv'), GOOD('AAA'));
      writeFileSync(join(src, c.file), c.content);
      writeFileSync(join(src, 'ZZZ.csv'), GOOD('ZZZ'));
      const where = c.line > 0 ? `${join(src, c.file)}:${c.line}` : join(src, c.file);
      const check = (e: unknown): boolean => {
        assert.ok(e instanceof ImportError, String(e));
        assert.equal(e.code, c.code, e.message);
        assert.ok(e.message.includes(where + ':') || e.message.includes(where + ' ') || e.message.includes(where), `${e.message} should name ${where}`);
        if (c.extra) assert.match(e.message + ' ' + (e.hint ?? ''), c.extra);
        assert.ok(e.issues.length >= 1);
        return true;
      };
      // Into a fresh target: nothing is created.
      const fresh = join(ROOT, `fresh${i}`);
      assert.throws(() => importCsv({ srcDir: src, targetDir: fresh, ...c.options }), check);
      assert.deepEqual(readdirSync(ROOT).filter((n) => n.startsWith(`.fresh${i}`) || n === `fresh${i}`), []);
      // Over an existing target: unchanged, no temp dirs left.
      assert.throws(() => importCsv({ srcDir: src, targetDir: existing, overwrite: true, ...c.options }), check);
      assert.throws(() => updateFromCsv({ srcDir: src, targetDir: existing, ...c.options }), check);
      assert.equal(treeDigest(existing), before_);
      assert.deepEqual(readdirSync(ROOT).filter((n) => n.startsWith('.existing')), []);
    });
  }

  test('several bad files are all reported, each with its line', () => {
    const src = join(ROOT, 'many');
    mkdirSync(src);
    writeFileSync(join(src, 'B.csv'), [HEADER, row('2020-01-02'), row('2020-01-02')].join('\n'));
    writeFileSync(join(src, 'C.csv'), [HEADER, row('2020-01-02'), row('2020-01-03'), 'bad,1,1,1,1,1,1,X'].join('\n'));
    assert.throws(
      () => importCsv({ srcDir: src, targetDir: join(ROOT, 'many-out') }),
      (e: ImportError) =>
        e.issues.length === 2 && e.message.includes(`${join(src, 'B.csv')}:3`) && e.message.includes(`${join(src, 'C.csv')}:4`) && /2 problems/.test(e.message),
    );
  });

  test('argument errors: missing source, no CSVs, non-empty target, update of a non-dataset', () => {
    assert.throws(() => importCsv({ srcDir: join(ROOT, 'nope'), targetDir: join(ROOT, 'o1') }), (e: ImportError) => e.code === 'IMPORT_SOURCE_NOT_FOUND');
    const empty = join(ROOT, 'emptysrc');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.txt'), 'x');
    assert.throws(() => importCsv({ srcDir: empty, targetDir: join(ROOT, 'o2') }), (e: ImportError) => e.code === 'IMPORT_NO_FILES');
    const src = join(ROOT, 'good');
    assert.throws(() => importCsv({ srcDir: src, targetDir: existing }), (e: ImportError) => e.code === 'IMPORT_TARGET_EXISTS' && /--overwrite/.test(e.hint ?? ''));
    assert.throws(() => updateFromCsv({ srcDir: src, targetDir: empty }), (e: ImportError) => e.code === 'IMPORT_TARGET_NOT_DATASET');
    assert.throws(() => importCsv({ srcDir: src, targetDir: join(ROOT, 'o3'), includeFields: ['///'] }), (e: ImportError) => e.code === 'IMPORT_BAD_OPTION');
    assert.equal(treeDigest(existing), before_);
  });

  test('the CLI prints one line naming file:line and exits 2; --duplicates is validated', () => {
    const src = join(ROOT, 'case0');
    const r = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'import-csv', src, join(ROOT, 'cli-out'), '--no-progress'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^qtask: CSV_BAD_DATE: .*MMM\.csv:3: /);
    const d = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'import-csv', src, join(ROOT, 'cli-out'), '--duplicates', 'last'], { encoding: 'utf8' });
    assert.equal(d.status, 2);
    assert.match(d.stderr, /IMPORT_BAD_OPTION: --duplicates must be 'error' or 'first'/);
  });
});
