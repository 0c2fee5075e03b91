/**
 * LocalProvider over qlib's layout, on directories written byte by byte here (independent of the
 * import): bin decoding, range loads, universes with several spans and qlib's date filter, field
 * errors, caching, reserved Windows names.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CalendarError } from '../../src/errors.ts';
import { DataError, LocalProvider, decodeBin, encodeBin } from '../../src/data/provider/index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function f32le(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
  return b;
}

const DAYS = ['2020-01-02', '2020-01-03', '2020-01-06', '2020-01-07', '2020-01-08', '2020-01-09', '2020-01-10'];

/** A small provider: AAA has close on days 3..5 (10, NaN, 10.5); BBB close on 0..6; CON (reserved name) on 1..2. */
function makeProvider(): string {
  const root = mkdtempSync(join(tmpdir(), 'qtask-provider-'));
  dirs.push(root);
  mkdirSync(join(root, 'calendars'));
  writeFileSync(join(root, 'calendars', 'day.txt'), DAYS.join('\n') + '\n');
  mkdirSync(join(root, 'instruments'));
  writeFileSync(join(root, 'instruments', 'all.txt'), 'AAA\t2020-01-07\t2020-01-09\nBBB\t2020-01-02\t2020-01-10\nCON\t2020-01-03\t2020-01-06\n');
  // BBB enters, leaves, and re-enters the index; AAA only in the second half.
  writeFileSync(
    join(root, 'instruments', 'idx.txt'),
    'BBB\t2020-01-02\t2020-01-03\nAAA\t2020-01-08\t2020-01-10\nBBB\t2020-01-08\t2020-01-10\n',
  );
  for (const [dir, field, bytes] of [
    ['aaa', 'close', f32le(3, 10, NaN, 10.5)],
    ['aaa', 'volume', f32le(3, 100, NaN, 300)],
    ['bbb', 'close', f32le(0, 1, 2, 3, 4, 5, 6, 7)],
    ['_qlib_con', 'close', f32le(1, 42, 43)],
  ] as const) {
    mkdirSync(join(root, 'features', dir), { recursive: true });
    writeFileSync(join(root, 'features', dir, `${field}.day.bin`), bytes);
  }
  return root;
}

describe('bin format', () => {
  test('encodes qlib’s worked example to exactly 16 bytes and decodes it back', () => {
    const bytes = encodeBin(3, [10, NaN, 10.5]);
    assert.deepEqual([...bytes], [...f32le(3, 10, NaN, 10.5)]);
    const s = decodeBin(bytes, 'x.bin');
    assert.equal(s.startIdx, 3);
    assert.deepEqual([...s.values], [10, NaN, 10.5]);
  });
  test('rounds to float32', () => {
    const s = decodeBin(encodeBin(0, [0.1]), 'x.bin');
    assert.equal(s.values[0], Math.fround(0.1));
    assert.notEqual(s.values[0], 0.1);
  });
  test('rejects a truncated file and a non-index header', () => {
    assert.throws(() => decodeBin(Buffer.alloc(6), 'bad.bin'), (e: DataError) => e.code === 'BAD_BIN_FILE' && e.path === 'bad.bin');
    assert.throws(() => decodeBin(f32le(1.5, 1), 'half.bin'), (e: DataError) => e.code === 'BAD_BIN_FILE');
    assert.throws(() => decodeBin(f32le(-1, 1), 'neg.bin'), (e: DataError) => e.code === 'BAD_BIN_FILE');
  });
});

describe('LocalProvider', () => {
  const root = makeProvider();
  const p = new LocalProvider(root);

  test('calendar and markets', () => {
    assert.deepEqual(p.calendarDays(), DAYS);
    assert.deepEqual(p.markets(), ['all', 'idx']);
    assert.deepEqual(p.featureSymbols(), ['AAA', 'BBB', 'CON']);
  });

  test('load places stored values by calendar index, NaN outside the stored span', () => {
    assert.deepEqual([...p.load('AAA', 'close', 0, 6)], [NaN, NaN, NaN, 10, NaN, 10.5, NaN]);
    assert.deepEqual([...p.load('aaa', 'CLOSE', 4, 5)], [NaN, 10.5]);
    assert.deepEqual([...p.load('AAA', 'close', -2, 3)], [NaN, NaN, NaN, NaN, NaN, 10]);
    assert.deepEqual([...p.load('AAA', 'close', 6, 9)], [NaN, NaN, NaN, NaN]);
    assert.equal(p.load('AAA', 'close', 3, 2).length, 0);
    assert.throws(() => p.load('AAA', 'close', 3, 1), (e: DataError) => e.code === 'BAD_DATE_RANGE' && e.path === 'AAA.$close');
    assert.throws(() => p.load('AAA', 'close', 0.5, 2), (e: DataError) => e.code === 'BAD_DATE_RANGE');
    assert.deepEqual([...p.load('BBB', 'close', 5, 8)], [6, 7, NaN, NaN]);
  });

  test('reserved Windows names live under _qlib_', () => {
    assert.deepEqual([...p.load('CON', 'close', 0, 3)], [NaN, 42, 43, NaN]);
    assert.deepEqual(p.fields('CON'), ['close']);
  });

  test('a returned array is a copy: mutating it does not change later loads', () => {
    const a = p.load('BBB', 'close', 0, 2);
    a[0] = 999;
    assert.equal(p.load('BBB', 'close', 0, 2)[0], 1);
    assert.equal(p.stored('BBB', 'close'), p.stored('BBB', 'close'), 'the stored column is cached');
  });

  test('fields per instrument and overall', () => {
    assert.deepEqual(p.fields('AAA'), ['close', 'volume']);
    assert.deepEqual(p.fields('BBB'), ['close']);
    assert.deepEqual(p.fields('ZZZ'), []);
    assert.deepEqual(p.allFields(), ['close', 'volume']);
  });

  test('a field some instruments lack, or a conventional field nobody has, is NaN (as qlib)', () => {
    assert.deepEqual([...p.load('BBB', 'volume', 0, 1)], [NaN, NaN]);
    assert.deepEqual([...p.load('BBB', 'vwap', 0, 1)], [NaN, NaN]);
    assert.deepEqual([...p.load('NOPE', 'close', 0, 1)], [NaN, NaN]);
  });

  test('an unknown field is a typed error listing the fields that exist (or NaN when asked)', () => {
    assert.throws(
      () => p.load('AAA', 'clsoe', 0, 1),
      (e: DataError) => e instanceof DataError && e.code === 'UNKNOWN_FIELD' && e.path === '$clsoe' && /close, volume/.test(e.hint ?? ''),
    );
    const lenient = new LocalProvider(root, { unknownField: 'nan' });
    assert.deepEqual([...lenient.load('AAA', 'clsoe', 0, 1)], [NaN, NaN]);
    assert.throws(() => p.load('AAA', '../x', 0, 1), (e: DataError) => e.code === 'BAD_FIELD_NAME');
    assert.throws(() => p.load('../aaa', 'close', 0, 1), (e: DataError) => e.code === 'BAD_INSTRUMENT_NAME');
    assert.throws(() => p.fields('a/b'), (e: DataError) => e.code === 'BAD_INSTRUMENT_NAME');
  });

  test("universe 'all' and date filtering as qlib's list_instruments", () => {
    assert.deepEqual(p.instruments('all'), ['AAA', 'BBB', 'CON']);
    assert.deepEqual(p.instruments('all', { start: '2020-01-07' }), ['AAA', 'BBB']);
    assert.deepEqual(p.instruments('all', { end: '2020-01-03' }), ['BBB', 'CON']);
    assert.deepEqual(p.instruments('all', { start: '2020-01-04', end: '2020-01-05' }), ['BBB', 'CON']);
    assert.deepEqual(p.listInstruments('all', { start: '2020-01-08', end: '2020-01-08' }), [
      { instrument: 'AAA', start: '2020-01-08', end: '2020-01-08' },
      { instrument: 'BBB', start: '2020-01-08', end: '2020-01-08' },
    ]);
  });

  test('a named universe with several spans per symbol, clipped to the range', () => {
    assert.deepEqual(p.listInstruments('idx'), [
      { instrument: 'AAA', start: '2020-01-08', end: '2020-01-10' },
      { instrument: 'BBB', start: '2020-01-02', end: '2020-01-03' },
      { instrument: 'BBB', start: '2020-01-08', end: '2020-01-10' },
    ]);
    // Between BBB's two spans only AAA is a member; before AAA joins only BBB.
    assert.deepEqual(p.instruments('idx', { start: '2020-01-06', end: '2020-01-07' }), []);
    assert.deepEqual(p.instruments('IDX', { start: '2020-01-02', end: '2020-01-06' }), ['BBB']);
    assert.deepEqual(p.listInstruments('idx', { start: '2020-01-03', end: '2020-01-09' }), [
      { instrument: 'AAA', start: '2020-01-08', end: '2020-01-09' },
      { instrument: 'BBB', start: '2020-01-03', end: '2020-01-03' },
      { instrument: 'BBB', start: '2020-01-08', end: '2020-01-09' },
    ]);
  });

  test('an explicit list is taken as given (deduplicated, upper-cased), spanning the range', () => {
    assert.deepEqual(p.listInstruments(['bbb', 'ZZZ', 'BBB'], { start: '2020-01-03', end: '2020-01-06' }), [
      { instrument: 'BBB', start: '2020-01-03', end: '2020-01-06' },
      { instrument: 'ZZZ', start: '2020-01-03', end: '2020-01-06' },
    ]);
  });

  test('index ranges for dates that are not trading days', () => {
    assert.deepEqual(p.indexRange({ start: '2020-01-04', end: '2020-01-07' }), { startIdx: 2, endIdx: 3 });
    assert.deepEqual(p.indexRange(), { startIdx: 0, endIdx: 6 });
  });

  test('typed errors: unknown market, bad dates, bad instruments file', () => {
    assert.throws(() => p.instruments('csi300'), (e: DataError) => e.code === 'UNKNOWN_MARKET' && /all, idx/.test(e.hint ?? ''));
    assert.throws(() => p.instruments('../all'), (e: DataError) => e.code === 'UNKNOWN_MARKET');
    assert.throws(() => p.instruments('all', { start: '2020-13-01' }), (e: DataError) => e.code === 'BAD_DATE_RANGE' && e.path === 'start');
    assert.throws(() => p.instruments('all', { start: '2020-01-09', end: '2020-01-02' }), (e: DataError) => e.code === 'BAD_DATE_RANGE');
    writeFileSync(join(root, 'instruments', 'broken.txt'), 'AAA\t2020-01-02\t2020-01-03\nBBB 2020-01-02 2020-01-03\n');
    assert.throws(
      () => p.instruments('broken'),
      (e: DataError) => e.code === 'BAD_INSTRUMENTS_FILE' && (e.path ?? '').endsWith('broken.txt:2'),
    );
    writeFileSync(join(root, 'instruments', 'backwards.txt'), 'AAA\t2020-01-09\t2020-01-02\n');
    assert.throws(() => p.instruments('backwards'), (e: DataError) => e.code === 'BAD_INSTRUMENTS_FILE' && (e.path ?? '').endsWith(':1'));
  });

  test('missing provider directory and missing or malformed calendar', () => {
    assert.throws(() => new LocalProvider(join(root, 'nope')), (e: DataError) => e.code === 'PROVIDER_NOT_FOUND');
    const empty = mkdtempSync(join(tmpdir(), 'qtask-provider-empty-'));
    dirs.push(empty);
    assert.throws(() => new LocalProvider(empty), (e: DataError) => e.code === 'PROVIDER_NO_CALENDAR' && /day\.txt/.test(e.message));
    mkdirSync(join(empty, 'calendars'));
    writeFileSync(join(empty, 'calendars', 'day.txt'), '2020-01-02\n2020-01-01\n');
    assert.throws(() => new LocalProvider(empty), (e: CalendarError) => e.code === 'CALENDAR_UNSORTED');
  });
});
