/**
 * Import round trip on the real S&P 500 CSVs: every CSV cell read back through LocalProvider equals
 * the CSV value after adjustment (as float32), days without a row are NaN, the calendar is the union
 * of all dates. The expected values come from a plain `split(',')` reading of the files here, not
 * from the importer's parser.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importCsv } from '../../src/data/import/index.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { importedSp500, SP500_SRC as SP500 } from '../support/sp500Fixture.ts';

const ROOT = mkdtempSync(join(tmpdir(), 'qtask-import-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

interface Row {
  date: string;
  cells: number[];
}

/** The CSV as the test reads it: header, and rows with duplicates of the previous date dropped (keep first). */
function readCsv(path: string): { header: string[]; rows: Row[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].split(',');
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    const parts = line.split(',');
    const date = parts[0];
    if (rows.length && rows[rows.length - 1].date === date) continue;
    rows.push({ date, cells: parts.slice(1, 7).map(Number) });
  }
  return { header, rows };
}

describe('import-csv --adjust of all 482 files: round trip', () => {
  let provider: LocalProvider;
  let summary: ReturnType<typeof importCsv>;

  before(() => {
    ({ summary } = importedSp500());
    provider = new LocalProvider(importedSp500().dir);
  });

  test('summary, calendar = union of all dates, all.txt = first..last date per file', () => {
    const files = readdirSync(SP500).filter((f) => f.endsWith('.csv')).sort();
    assert.equal(summary.instruments, 482);
    assert.equal(summary.rows, 592_358 - 3, 'three repeated-date rows (CBS, STI, VIAB) are dropped');
    assert.equal(summary.droppedDuplicates.length, 3);
    assert.deepEqual(summary.fields, ['change', 'close', 'factor', 'high', 'low', 'open', 'volume']);
    const union = new Set<string>();
    const spans = new Map<string, [string, string]>();
    for (const f of files) {
      const { rows } = readCsv(join(SP500, f));
      for (const r of rows) union.add(r.date);
      spans.set(f.slice(0, -4).toUpperCase(), [rows[0].date, rows[rows.length - 1].date]);
    }
    assert.deepEqual(provider.calendarDays(), [...union].sort());
    const listed = provider.listInstruments('all');
    assert.equal(listed.length, 482);
    for (const s of listed) assert.deepEqual([s.start, s.end], spans.get(s.instrument), s.instrument);
    // Date-range universes: a symbol is in when its first..last span overlaps the range.
    for (const [start, end] of [['2015-01-12', '2015-01-12'], ['2016-06-01', '2016-06-30'], ['2019-12-01', '2020-01-10'], ['2018-01-05', '2018-03-01']]) {
      const expected = [...spans].filter(([, [a, b]]) => a <= end && b >= start).map(([sym]) => sym).sort();
      assert.deepEqual(provider.instruments('all', { start, end }), expected, `${start}..${end}`);
    }
    assert.ok(provider.instruments('all', { start: '2019-12-01' }).length < 482, 'some symbols left before December 2019');
  });

  test('every cell equals the adjusted CSV value as float32; days without a row are NaN', () => {
    const files = readdirSync(SP500).filter((f) => f.endsWith('.csv')).sort();
    const cal = provider.calendar;
    let checked = 0;
    let gaps = 0;
    for (const f of files) {
      const symbol = f.slice(0, -4).toUpperCase();
      const { header, rows } = readCsv(join(SP500, f));
      assert.deepEqual(header.slice(0, 7), ['Date', 'High', 'Low', 'Open', 'Close', 'Volume', 'Adj Close']);
      const s = cal.indexOf(rows[0].date);
      const e = cal.indexOf(rows[rows.length - 1].date);
      const col = (field: string): Float64Array => provider.load(symbol, field, s, e);
      const [high, low, open, close, volume, factor, change] = ['high', 'low', 'open', 'close', 'volume', 'factor', 'change'].map(col);
      const seen = new Uint8Array(e - s + 1);
      let prevAdjClose = NaN;
      // Messages are built only on failure: this loop checks four million cells.
      const same = (actual: number, expected: number, what: string, date: string): void => {
        if (!Object.is(actual, expected)) assert.fail(`${symbol} ${date} ${what}: stored ${actual}, expected ${expected}`);
      };
      for (const r of rows) {
        const k = cal.indexOf(r.date) - s;
        seen[k] = 1;
        const [h, l, o, c, v, adj] = r.cells;
        const fct = adj / c;
        same(factor[k], Math.fround(fct), 'factor', r.date);
        same(high[k], Math.fround(h * fct), 'high', r.date);
        same(low[k], Math.fround(l * fct), 'low', r.date);
        same(open[k], Math.fround(o * fct), 'open', r.date);
        same(close[k], Math.fround(c * fct), 'close', r.date);
        same(volume[k], Math.fround(v / fct), 'volume', r.date);
        // close × (adj/close) is the adjusted close up to float rounding.
        if (!(Math.abs(close[k] - adj) <= 1e-6 * Math.abs(adj) + 1e-6)) assert.fail(`${symbol} ${r.date}: close ${close[k]} is not the adjusted close ${adj}`);
        same(change[k], Math.fround((c * fct) / prevAdjClose - 1), 'change', r.date);
        prevAdjClose = c * fct;
        checked += 7;
      }
      for (let k = 0; k < seen.length; k++) {
        if (seen[k]) continue;
        gaps++;
        for (const column of [high, low, open, close, volume, change]) assert.ok(Number.isNaN(column[k]), `${symbol} gap ${cal.day(s + k)}`);
        // The factor carries over a missing day, as qlib's Yahoo normaliser forward-fills it.
        assert.equal(factor[k], factor[k - 1]);
      }
    }
    assert.equal(checked, 7 * (592_358 - 3));
    assert.ok(gaps > 0, 'the real data has days some symbols lack (checked as NaN)');
  });

  test('repeated dates keep the first row (qlib drop_duplicates): CBS 2019-12-04 is the real bar, not the zero row', () => {
    const i = provider.calendar.indexOf('2019-12-04');
    const close = provider.load('CBS', 'close', i, i)[0];
    assert.ok(close > 30, `CBS close ${close}`);
  });
});

describe('import-csv without --adjust, field selection, symbol column', () => {
  const src = join(ROOT, 'subset');
  before(() => {
    mkdirSync(src);
    for (const f of ['AAPL.csv', 'MSFT.csv', 'SNI.csv']) writeFileSync(join(src, f), readFileSync(join(SP500, f)));
  });

  test('raw import writes every numeric column (adj_close too, Name skipped) with the raw values', () => {
    const target = join(ROOT, 'raw');
    const s = importCsv({ srcDir: src, targetDir: target });
    assert.deepEqual(s.fields, ['adj_close', 'close', 'high', 'low', 'open', 'volume']);
    const p = new LocalProvider(target);
    const { rows } = readCsv(join(src, 'AAPL.csv'));
    const i = p.calendar.indexOf(rows[10].date);
    assert.equal(p.load('AAPL', 'close', i, i)[0], Math.fround(rows[10].cells[3]));
    assert.equal(p.load('AAPL', 'adj_close', i, i)[0], Math.fround(rows[10].cells[5]));
    assert.equal(p.calendar.length, new Set([...readCsv(join(src, 'AAPL.csv')).rows, ...readCsv(join(src, 'SNI.csv')).rows].map((r) => r.date)).size);
    // SNI has only 2 rows, far apart: everything between is NaN.
    assert.deepEqual(p.listInstruments('all').find((x) => x.instrument === 'SNI'), { instrument: 'SNI', start: '2018-01-04', end: '2018-03-05' });
    const sni = p.load('SNI', 'close', p.calendar.indexOf('2018-01-04'), p.calendar.indexOf('2018-03-05'));
    assert.equal(sni.filter((v) => !Number.isNaN(v)).length, 2);
  });

  test('--include-fields selects (and --adjust derives factor/change on request); --symbol-field Name', () => {
    const target = join(ROOT, 'sel');
    const s = importCsv({ srcDir: src, targetDir: target, adjust: true, includeFields: ['Close', 'volume', 'factor'], symbolField: 'Name' });
    assert.deepEqual(s.fields, ['close', 'factor', 'volume']);
    const p = new LocalProvider(target);
    assert.deepEqual(p.fields('MSFT'), ['close', 'factor', 'volume']);
    assert.deepEqual(p.instruments('all'), ['AAPL', 'MSFT', 'SNI']);
  });

  test('--zero-volume missing blanks zero-volume rows as suspended days (qlib Yahoo collector); keep is the default', () => {
    const arnc = join(ROOT, 'arnc');
    mkdirSync(arnc);
    writeFileSync(join(arnc, 'ARNC.csv'), readFileSync(join(SP500, 'ARNC.csv')));
    const { rows } = readCsv(join(arnc, 'ARNC.csv'));
    const zero = rows.filter((r) => r.cells[4] <= 0);
    assert.ok(zero.length > 0, 'ARNC has zero-volume rows');
    const kept = new LocalProvider((importCsv({ srcDir: arnc, targetDir: join(ROOT, 'arnc-keep'), adjust: true }), join(ROOT, 'arnc-keep')));
    const blank = new LocalProvider((importCsv({ srcDir: arnc, targetDir: join(ROOT, 'arnc-missing'), adjust: true, zeroVolume: 'missing' }), join(ROOT, 'arnc-missing')));
    for (const r of zero) {
      const i = kept.calendar.indexOf(r.date);
      assert.equal(kept.load('ARNC', 'volume', i, i)[0], 0);
      for (const f of ['open', 'high', 'low', 'close', 'volume', 'change']) assert.ok(Number.isNaN(blank.load('ARNC', f, i, i)[0]), `${r.date} ${f}`);
      assert.ok(blank.load('ARNC', 'factor', i, i)[0] > 0, 'the factor carries over');
    }
    const normal = rows.find((r) => r.cells[4] > 0) as Row;
    const j = kept.calendar.indexOf(normal.date);
    assert.equal(blank.load('ARNC', 'close', j, j)[0], kept.load('ARNC', 'close', j, j)[0]);
  });

  test('the CLI: progress on stderr without a TTY, summary as JSON, exit 0', () => {
    const target = join(ROOT, 'cli');
    const r = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'import-csv', src, target, '--adjust', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { instruments: number; fields: string[] };
    assert.equal(out.instruments, 3);
    assert.match(r.stderr, /write \[.*\] 3\/3 files/);
    assert.ok(existsSync(join(target, 'features', 'aapl', 'close.day.bin')));
    const info = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'info', target, '--json'], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { calendar: { days: number }; universes: { market: string; instruments: number }[]; fields: { field: string }[] };
    assert.deepEqual(parsed.universes.map((u) => [u.market, u.instruments]), [['all', 3]]);
    assert.deepEqual(parsed.fields.map((f) => f.field), ['change', 'close', 'factor', 'high', 'low', 'open', 'volume']);
    const text = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'info', target], { encoding: 'utf8' });
    assert.match(text.stdout, /calendar\s+2015-01-12 \.\. 2020-01-10 \(\d+ days\)/);
  });
});
