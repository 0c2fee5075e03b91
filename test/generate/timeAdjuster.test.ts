import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalendarError, ValidationError } from '../../src/errors.ts';
import { Calendar } from '../../src/generate/calendar.ts';
import { TimeAdjuster } from '../../src/generate/timeAdjuster.ts';
import { cal2020 } from './helpers.ts';

// The inventory's 262-day Mon–Fri 2020 calendar (2020-01-01 is a Wednesday, index 0).
const ta = new TimeAdjuster(cal2020);

function calErr(f: () => unknown, code: string): void {
  assert.throws(f, (e: unknown) => e instanceof CalendarError && e.code === code);
}

describe('TimeAdjuster (qlib semantics)', () => {
  it('get: null past the end, typed error before the start (no wrap)', () => {
    assert.equal(ta.get(0), '2020-01-01');
    assert.equal(ta.get(261), '2020-12-31');
    assert.equal(ta.get(262), null);
    assert.equal(ta.get(null), null);
    calErr(() => ta.get(-1), 'INDEX_BEFORE_CALENDAR');
    assert.equal(ta.max(), '2020-12-31');
  });

  it('alignIdx / alignTime', () => {
    assert.equal(ta.alignIdx('2020-01-04', 'start'), 3, 'Saturday → Monday');
    assert.equal(ta.alignIdx('2020-01-04', 'end'), 2, 'Saturday → Friday');
    assert.equal(ta.alignIdx('2021-02-01', 'start'), 262, 'after the end: length');
    assert.equal(ta.alignIdx('2019-06-01', 'start'), 0);
    assert.equal(ta.alignIdx(null), null);
    assert.equal(ta.alignTime('2020-01-04'), '2020-01-06');
    assert.equal(ta.alignTime('2020-01-04T00:00:00', 'end'), '2020-01-03');
    assert.equal(ta.alignTime('2021-06-01', 'end'), '2020-12-31');
    assert.equal(ta.alignTime(null, 'end'), null);
    // qlib: align_time('2019-06-01', 'end') silently returns 2020-12-31
    calErr(() => ta.alignTime('2019-06-01', 'end'), 'DATE_BEFORE_CALENDAR');
    // qlib: IndexError
    calErr(() => ta.alignTime('2021-02-01', 'start'), 'DATE_AFTER_CALENDAR');
    calErr(() => ta.alignIdx('2020-02-30'), 'INVALID_DATE');
    calErr(() => ta.alignIdx('2020-01-01', 'middle' as never), 'BAD_ALIGN_TYPE');
  });

  it('alignSeg: pairs and nested objects; the path is in errors', () => {
    assert.deepEqual(ta.alignSeg(['2020-01-04', '2020-02-29']), ['2020-01-06', '2020-02-28']);
    assert.deepEqual(ta.alignSeg({ train: ['2019-01-01', '2020-01-05'], test: ['2020-12-05', null], more: { x: ['2020-02-01', '2020-02-02'] } }), {
      train: ['2020-01-01', '2020-01-03'],
      test: ['2020-12-07', null],
      more: { x: ['2020-02-03', '2020-01-31'] },
    });
    assert.throws(
      () => ta.alignSeg({ test: ['2021-01-04', null] }, 'dataset.kwargs.segments'),
      (e: unknown) => e instanceof CalendarError && e.code === 'DATE_AFTER_CALENDAR' && e.path === 'dataset.kwargs.segments.test[0]',
    );
    assert.throws(() => ta.alignSeg(['2020-01-01'] as never), ValidationError);
  });

  it('calInterval counts trading days with start alignment', () => {
    assert.equal(ta.calInterval('2020-01-10', '2020-01-03'), 5);
    assert.equal(ta.calInterval('2020-01-03', '2020-01-10'), -5);
    assert.equal(ta.calInterval('2020-01-04', '2020-01-06'), 0, 'Saturday aligns to Monday');
    calErr(() => ta.calInterval(null as never, '2020-01-01'), 'OPEN_BOUND');
  });

  it('truncate: each end ≤ trading day (test_idx − days); index 0 and null bounds work', () => {
    assert.deepEqual(ta.truncate(['2020-04-01', '2020-04-30'], '2020-05-01', 2), ['2020-04-01', '2020-04-29']);
    assert.deepEqual(ta.truncate(['2020-01-02', '2020-03-31'], '2020-05-01', 2), ['2020-01-02', '2020-03-31']);
    // qlib: AssertionError (tp_idx > 0 fails at index 0)
    assert.deepEqual(ta.truncate(['2020-01-01', '2020-01-10'], '2020-01-03', 2), ['2020-01-01', '2020-01-01']);
    // qlib: TypeError on None
    assert.deepEqual(ta.truncate([null, null], '2020-05-01', 2), [null, '2020-04-29']);
    assert.deepEqual(ta.truncate(['2020-06-01', '2020-07-01'], '2020-05-01', 0), ['2020-05-01', '2020-05-01']);
    calErr(() => ta.truncate(['2020-01-01', '2020-01-10'], '2020-01-03', 3), 'TRUNCATE_BEFORE_CALENDAR');
    assert.throws(() => ta.truncate(['2020-01-01', '2020-01-10'], '2020-05-01', -1), ValidationError);
  });

  it('shift: sliding/expanding, open ends past the calendar, clean end of rolling', () => {
    const d = (i: number) => cal2020.day(i);
    assert.equal(TimeAdjuster.SHIFT_SD, 'sliding');
    assert.equal(TimeAdjuster.SHIFT_EX, 'expanding');
    assert.deepEqual(ta.shift([d(10), d(20)], 40), [d(50), d(60)]);
    assert.deepEqual(ta.shift([d(10), d(20)], 40, 'expanding'), [d(10), d(60)]);
    assert.deepEqual(ta.shift([null, d(20)], 5, 'sliding'), [null, d(25)]);
    assert.deepEqual(ta.shift([d(200), d(230)], 40), ['2020-12-02', null], 'as in qlib');
    // qlib returns (None, None) here (W25) and then crashes comparing None > test_end
    assert.equal(ta.shift([d(222), d(261)], 40), null);
    assert.equal(ta.shift([d(223), null], 40), null);
    assert.deepEqual(ta.shift([d(222), d(261)], 39), [d(261), null]);
    assert.throws(() => ta.shift([d(1), d(2)], 1.5), ValidationError);
    assert.throws(() => ta.shift([d(1), d(2)], 1, 'rolling' as never), ValidationError);
    calErr(() => ta.shift([d(1), d(2)], -3), 'INDEX_BEFORE_CALENDAR');
  });

  it('setCalendar and refresh replace the snapshot (qlib W24)', () => {
    let days = Calendar.weekdays('2020-01-01', '2020-06-30');
    const adj = new TimeAdjuster(() => days);
    assert.equal(adj.max(), '2020-06-30');
    days = cal2020;
    assert.equal(adj.max(), '2020-06-30', 'snapshot until refreshed');
    adj.refresh();
    assert.equal(adj.max(), '2020-12-31');
    adj.setCalendar(Calendar.weekdays('2020-01-01', '2021-03-31'));
    assert.equal(adj.max(), '2021-03-31');
    const fixed = new TimeAdjuster(cal2020);
    assert.equal(fixed.refresh().max(), '2020-12-31');
  });
});
