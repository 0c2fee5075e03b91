import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CalendarError } from '../../src/errors.ts';
import { Calendar } from '../../src/generate/calendar.ts';
import { aaplCalendar } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'qtask-cal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function calErr(f: () => unknown, code: string, path?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CalendarError, String(e));
    assert.equal(e.code, code);
    if (path !== undefined) assert.equal(e.path, path);
    assert.ok(e.hint, 'has a hint');
    return true;
  });
}

describe('Calendar.fromDays', () => {
  it('keeps sorted unique days and answers index queries', () => {
    const cal = Calendar.fromDays(['2020-01-02', '2020-01-03', '2020-01-06 00:00:00', '2020-01-07T00:00:00']);
    assert.equal(cal.length, 4);
    assert.equal(cal.first, '2020-01-02');
    assert.equal(cal.last, '2020-01-07');
    assert.equal(cal.day(2), '2020-01-06');
    assert.equal(cal.indexOf('2020-01-06'), 2);
    assert.equal(cal.indexOf('2020-01-04'), -1);
    assert.equal(cal.firstIndexOnOrAfter('2020-01-04'), 2);
    assert.equal(cal.firstIndexOnOrAfter('2021-01-01'), 4);
    assert.equal(cal.lastIndexOnOrBefore('2020-01-05'), 1);
    assert.equal(cal.lastIndexOnOrBefore('2019-12-31'), -1);
    calErr(() => cal.day(4), 'INDEX_OUT_OF_CALENDAR');
    calErr(() => cal.day(-1), 'INDEX_OUT_OF_CALENDAR');
  });

  it('rejects empty, invalid, unsorted and duplicated days, naming the index', () => {
    calErr(() => Calendar.fromDays([]), 'CALENDAR_EMPTY');
    calErr(() => Calendar.fromDays(['2020-01-02', '2020-02-30']), 'CALENDAR_INVALID_DAY', '[1]');
    calErr(() => Calendar.fromDays(['2020-13-01']), 'CALENDAR_INVALID_DAY', '[0]');
    calErr(() => Calendar.fromDays(['2020-01-02', '2020-01-02 09:30:00']), 'CALENDAR_INVALID_DAY', '[1]');
    calErr(() => Calendar.fromDays(['2020-01-02', '2020-01-06', '2020-01-03']), 'CALENDAR_UNSORTED', '[2]');
    calErr(() => Calendar.fromDays(['2020-01-02', '2020-01-03', '2020-01-03']), 'CALENDAR_DUPLICATE_DAY', '[2]');
    calErr(() => Calendar.fromDays(['2020-01-02', 5 as unknown as string]), 'CALENDAR_INVALID_DAY', '[1]');
  });
});

describe('Calendar.fromFile', () => {
  it("reads qlib's day.txt (time suffix, trailing newline, blank lines)", () => {
    const p = join(dir, 'day.txt');
    writeFileSync(p, '2020-01-02 00:00:00\n2020-01-03 00:00:00\r\n\n2020-01-06\n');
    const cal = Calendar.fromFile(p);
    assert.deepEqual([...cal.days], ['2020-01-02', '2020-01-03', '2020-01-06']);
  });

  it('errors name FILE:LINE', () => {
    const p = join(dir, 'bad.txt');
    writeFileSync(p, '2020-01-02\n\n2020-01-06\n2020-01-03\n');
    calErr(() => Calendar.fromFile(p), 'CALENDAR_UNSORTED', `${p}:4`);
    writeFileSync(p, '2020-01-02\nnot a day\n');
    calErr(() => Calendar.fromFile(p), 'CALENDAR_INVALID_DAY', `${p}:2`);
    writeFileSync(p, '\n\n');
    calErr(() => Calendar.fromFile(p), 'CALENDAR_EMPTY');
    calErr(() => Calendar.fromFile(join(dir, 'missing.txt')), 'FILE_NOT_FOUND');
  });
});

describe('Calendar.weekdays', () => {
  it('is Monday–Friday, inclusive', () => {
    const cal = Calendar.weekdays('2020-01-01', '2020-12-31');
    assert.equal(cal.length, 262);
    assert.equal(cal.first, '2020-01-01');
    assert.equal(cal.last, '2020-12-31');
    assert.equal(cal.indexOf('2020-01-04'), -1, 'Saturday');
    assert.equal(cal.indexOf('2020-02-29'), -1, 'Saturday, leap day');
    assert.equal(cal.indexOf('2020-02-28'), 42);
    const sixYears = Calendar.weekdays('2015-01-01', '2020-12-31');
    assert.equal(sixYears.length, 1566);
  });

  it('rejects bad bounds and weekend-only ranges', () => {
    calErr(() => Calendar.weekdays('2020-02-30', '2020-03-01'), 'CALENDAR_INVALID_DAY', 'start');
    calErr(() => Calendar.weekdays('2020-03-01', '2020-01-01'), 'CALENDAR_EMPTY');
    calErr(() => Calendar.weekdays('2020-01-04', '2020-01-05'), 'CALENDAR_EMPTY');
  });
});

describe('AAPL trading days as a calendar', () => {
  it('has the real holidays', () => {
    const cal = aaplCalendar();
    assert.equal(cal.length, 1259);
    assert.equal(cal.indexOf('2015-12-25'), -1, 'Christmas');
    assert.equal(cal.indexOf('2016-07-04'), -1, 'Independence Day');
    assert.notEqual(cal.indexOf('2016-07-05'), -1);
  });
});
