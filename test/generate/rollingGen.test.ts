import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CalendarError, ValidationError } from '../../src/errors.ts';
import { Calendar } from '../../src/generate/calendar.ts';
import { RollingGen } from '../../src/generate/rollingGen.ts';
import { TimeAdjuster } from '../../src/generate/timeAdjuster.ts';
import { aaplCalendar, cal2020, exampleTemplate, handlerEnd, segs } from './helpers.ts';

type Row = { train: [string, string]; valid: [string, string]; test: [string, string | null]; handlerEnd: string | null };

// qlib-task-inventory.md §1.2, worked example (ROLL_EX train column).
const EXPANDING: Row[] = [
  { train: ['2020-01-02', '2020-03-31'], valid: ['2020-04-01', '2020-04-30'], test: ['2020-05-01', '2020-06-25'], handlerEnd: '2020-11-30' },
  { train: ['2020-01-02', '2020-05-26'], valid: ['2020-05-27', '2020-06-25'], test: ['2020-06-26', '2020-08-20'], handlerEnd: '2020-11-30' },
  { train: ['2020-01-02', '2020-07-21'], valid: ['2020-07-22', '2020-08-20'], test: ['2020-08-21', '2020-10-15'], handlerEnd: '2020-11-30' },
  { train: ['2020-01-02', '2020-09-15'], valid: ['2020-09-16', '2020-10-15'], test: ['2020-10-16', '2020-12-10'], handlerEnd: '2020-12-10' },
  { train: ['2020-01-02', '2020-11-10'], valid: ['2020-11-11', '2020-12-10'], test: ['2020-12-11', null], handlerEnd: null },
];
// ROLL_SD train column; valid/test/handler identical.
const SLIDING_TRAIN: [string, string][] = [
  ['2020-01-02', '2020-03-31'],
  ['2020-02-27', '2020-05-26'],
  ['2020-04-23', '2020-07-21'],
  ['2020-06-18', '2020-09-15'],
  ['2020-08-13', '2020-11-10'],
];

function assertRows(tasks: ReturnType<RollingGen['generate']>, rows: Row[]): void {
  assert.equal(tasks.length, rows.length);
  tasks.forEach((t, i) => {
    assert.deepEqual(segs(t), { train: rows[i].train, valid: rows[i].valid, test: rows[i].test }, `task #${i}`);
    assert.equal(handlerEnd(t), rows[i].handlerEnd, `task #${i} handler end`);
  });
}

describe('RollingGen: the worked example (qlib-identical)', () => {
  it('ROLL_EX reproduces the table', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, rtype: RollingGen.ROLL_EX });
    assertRows(gen.generate(exampleTemplate()), EXPANDING);
  });

  it('ROLL_SD reproduces the table (train slides, valid/test as in ROLL_EX)', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, rtype: RollingGen.ROLL_SD });
    assertRows(
      gen.generate(exampleTemplate()),
      EXPANDING.map((r, i) => ({ ...r, train: SLIDING_TRAIN[i] })),
    );
  });

  it('defaults are step 40, expanding, test/train keys, handlerMod', () => {
    const gen = new RollingGen({ calendar: cal2020 });
    assert.equal(gen.step, 40);
    assert.equal(gen.rtype, 'expanding');
    assertRows(gen.generate(exampleTemplate()), EXPANDING);
  });

  it('trunc_days=2 under ROLL_SD cuts valid ends to test_idx-2 and the offset carries over', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, rtype: 'sliding', truncDays: 2 });
    const tasks = gen.generate(exampleTemplate());
    assert.deepEqual(
      tasks.map((t) => segs(t).valid),
      [
        ['2020-04-01', '2020-04-29'],
        ['2020-05-27', '2020-06-24'],
        ['2020-07-22', '2020-08-19'],
        ['2020-09-16', '2020-10-14'],
        ['2020-11-11', '2020-12-09'],
      ],
    );
    assert.deepEqual(tasks.map((t) => segs(t).train), SLIDING_TRAIN, 'train already ends before test_idx-2');
    assert.deepEqual(tasks.map((t) => segs(t).test), EXPANDING.map((r) => r.test));
  });

  it('template test end 2020-09-30 gives #0..#2, the last running 11 trading days past it', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40 });
    const tasks = gen.generate(exampleTemplate({ test: ['2020-05-01', '2020-09-30'] }));
    assert.equal(tasks.length, 3);
    assert.deepEqual(segs(tasks[2]).test, ['2020-08-21', '2020-10-15']);
    const ta = new TimeAdjuster(cal2020);
    assert.equal(ta.calInterval('2020-10-15', '2020-09-30'), 11);
  });

  it('genFollowingTasks(#2, 2020-12-31) yields #3 and #4', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40 });
    const tasks = gen.generate(exampleTemplate());
    const following = gen.genFollowingTasks(tasks[2], '2020-12-31');
    assertRows(following, EXPANDING.slice(3));
  });

  it('edge: test start at index 62 stops cleanly where qlib raises TypeError', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40 });
    const start = cal2020.day(62);
    const tasks = gen.generate(exampleTemplate({ test: [start, '2020-12-31'] }));
    assert.deepEqual(
      tasks.map((t) => segs(t).test[0]),
      [62, 102, 142, 182, 222].map((i) => cal2020.day(i)),
    );
    assert.deepEqual(segs(tasks[4]).test, [cal2020.day(222), '2020-12-31'], 'the last window ends exactly on the last day');
    const from63 = gen.generate(exampleTemplate({ test: [cal2020.day(63), '2020-12-31'] }));
    assert.equal(from63.length, 5);
    assert.equal(segs(from63[4]).test[1], null);
  });

  it('edge: train starting on calendar day 0 with truncDays works (qlib AssertionError)', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, truncDays: 2 });
    const tpl = exampleTemplate();
    (tpl.dataset as { kwargs: { segments: Record<string, unknown> } }).kwargs.segments.train = ['2020-01-01', '2020-03-31'];
    const tasks = gen.generate(tpl);
    assert.equal(tasks.length, 5);
    assert.deepEqual(segs(tasks[0]).train, ['2020-01-01', '2020-03-31']);
  });

  it('does not modify the template and returns independent copies', () => {
    const tpl = exampleTemplate();
    const before = JSON.stringify(tpl);
    const tasks = new RollingGen({ calendar: cal2020 }).generate(tpl);
    assert.equal(JSON.stringify(tpl), before);
    (tasks[1].model as { kwargs: { loss: string } }).kwargs.loss = 'changed';
    assert.equal((tasks[2].model as { kwargs: { loss: string } }).kwargs.loss, 'mse');
  });

  it('a string handler ("file://…") and a missing handler end are left alone, as qlib does', () => {
    const tpl = exampleTemplate();
    (tpl.dataset as { kwargs: { handler: unknown } }).kwargs.handler = 'file:///tmp/h.pkl';
    const tasks = new RollingGen({ calendar: cal2020 }).generate(tpl);
    assert.equal((tasks[4].dataset as { kwargs: { handler: unknown } }).kwargs.handler, 'file:///tmp/h.pkl');
    const noEnd = exampleTemplate();
    delete (noEnd.dataset as { kwargs: { handler: { kwargs: Record<string, unknown> } } }).kwargs.handler.kwargs.end_time;
    const t2 = new RollingGen({ calendar: cal2020 }).generate(noEnd);
    assert.equal(handlerEnd(t2[3]), undefined);
    assert.equal(handlerEnd(t2[4]), null, 'an open test end makes the handler open-ended (qlib PR #2068)');
  });

  it('dsExtraModFunc: null disables handlerMod; a custom function runs per task', () => {
    const off = new RollingGen({ calendar: cal2020, dsExtraModFunc: null }).generate(exampleTemplate());
    assert.deepEqual(off.map(handlerEnd), Array(5).fill('2020-11-30'));
    const seen: string[] = [];
    new RollingGen({ calendar: cal2020, dsExtraModFunc: (t) => seen.push(String(segs(t).test[0])) }).generate(exampleTemplate());
    assert.deepEqual(seen, EXPANDING.map((r) => r.test[0]));
  });
});

describe('RollingGen: clip', () => {
  it('clips the last window to the template test end; earlier windows unchanged', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, clip: true });
    const tasks = gen.generate(exampleTemplate({ test: ['2020-05-01', '2020-09-30'] }));
    assert.deepEqual(
      tasks.map((t) => segs(t).test),
      [
        ['2020-05-01', '2020-06-25'],
        ['2020-06-26', '2020-08-20'],
        ['2020-08-21', '2020-09-30'],
      ],
    );
  });

  it('an open last window (past the calendar) is clipped to the calendar-aligned test end', () => {
    const tasks = new RollingGen({ calendar: cal2020, clip: true }).generate(exampleTemplate());
    assert.deepEqual(segs(tasks[4]).test, ['2020-12-11', '2020-12-31']);
    assert.equal(handlerEnd(tasks[4]), '2020-12-31');
  });

  it('genFollowingTasks continues correctly from a clipped task with a later end', () => {
    const gen = new RollingGen({ calendar: cal2020, step: 40, clip: true });
    const tasks = gen.generate(exampleTemplate({ test: ['2020-05-01', '2020-09-30'] }));
    const more = gen.genFollowingTasks(tasks[2], '2020-12-31');
    assert.deepEqual(
      more.map((t) => segs(t).test),
      [
        ['2020-10-16', '2020-12-10'],
        ['2020-12-11', '2020-12-31'],
      ],
    );
  });
});

describe('RollingGen: calendar-unit steps', () => {
  const cal = Calendar.weekdays('2015-01-01', '2020-12-31');

  it('1M: windows start on the first trading day of each month; the first runs from the test start', () => {
    const gen = new RollingGen({ calendar: cal, step: '1M' });
    const tasks = gen.generate(exampleTemplate({ test: ['2020-05-13', '2020-09-30'] }));
    assert.deepEqual(
      tasks.map((t) => segs(t).test),
      [
        ['2020-05-13', '2020-05-29'],
        ['2020-06-01', '2020-06-30'],
        ['2020-07-01', '2020-07-31'],
        ['2020-08-03', '2020-08-31'],
        ['2020-09-01', '2020-09-30'],
      ],
    );
    // valid keeps its trading-day distance to the test start (9 trading days in the template)
    for (const t of tasks) {
      const s = segs(t);
      assert.equal(cal.indexOf(s.test[0] as string) - cal.indexOf(s.valid[1] as string), 9);
      assert.equal(s.train[0], '2020-01-02', 'expanding keeps the train start');
    }
  });

  it('1W / 2W / 3M / 1Q / 1Y boundaries', () => {
    const starts = (step: string, test: [string, string]) => {
      const tpl = exampleTemplate({ test });
      (tpl.dataset as { kwargs: { segments: Record<string, unknown> } }).kwargs.segments = {
        train: ['2015-01-01', '2017-06-30'],
        valid: ['2017-07-01', '2017-12-31'],
        test,
      };
      return new RollingGen({ calendar: cal, step, rtype: 'sliding' }).generate(tpl).map((t) => segs(t).test);
    };
    assert.deepEqual(starts('1W', ['2020-05-13', '2020-05-29']), [
      ['2020-05-13', '2020-05-15'],
      ['2020-05-18', '2020-05-22'],
      ['2020-05-25', '2020-05-29'],
    ]);
    assert.deepEqual(starts('2W', ['2020-05-13', '2020-06-10']), [
      ['2020-05-13', '2020-05-22'],
      ['2020-05-25', '2020-06-05'],
      ['2020-06-08', '2020-06-19'],
    ]);
    assert.deepEqual(starts('3M', ['2020-05-13', '2020-12-31']), [
      ['2020-05-13', '2020-07-31'],
      ['2020-08-03', '2020-10-30'],
      ['2020-11-02', null],
    ]);
    assert.deepEqual(starts('1Q', ['2020-05-13', '2020-12-31']), [
      ['2020-05-13', '2020-06-30'],
      ['2020-07-01', '2020-09-30'],
      ['2020-10-01', '2020-12-31'],
    ]);
    assert.deepEqual(starts('1Y', ['2018-03-01', '2020-12-31']), [
      ['2018-03-01', '2018-12-31'],
      ['2019-01-01', '2019-12-31'],
      ['2020-01-01', '2020-12-31'],
    ]);
  });

  it('1M on the AAPL trading calendar (real holidays): every window starts on a month\'s first trading day', () => {
    const aapl = aaplCalendar();
    assert.equal(aapl.first, '2015-01-12');
    assert.equal(aapl.last, '2020-01-10');
    const tpl = exampleTemplate({ test: ['2017-01-01', '2019-12-31'], handlerEnd: '2019-12-31' });
    (tpl.dataset as { kwargs: { segments: Record<string, unknown> } }).kwargs.segments = {
      train: ['2015-02-01', '2016-06-30'],
      valid: ['2016-07-01', '2016-12-31'],
      test: ['2017-01-01', '2019-12-31'],
    };
    const tasks = new RollingGen({ calendar: aapl, step: '1M', rtype: 'sliding', truncDays: 2 }).generate(tpl);
    assert.equal(tasks.length, 36);
    assert.deepEqual(segs(tasks[0]).test, ['2017-01-03', '2017-01-31'], '2017-01-02 was a market holiday');
    assert.deepEqual(segs(tasks[35]).test, ['2019-12-02', '2019-12-31']);
    tasks.forEach((t, i) => {
      const [s, e] = segs(t).test as [string, string];
      const firstOfMonth = aapl.days.find((d) => d.slice(0, 7) === s.slice(0, 7));
      assert.equal(s, firstOfMonth, `task ${i} starts on the month's first trading day`);
      assert.equal(e, aapl.days.filter((d) => d.slice(0, 7) === s.slice(0, 7)).at(-1), `task ${i} ends on the month's last trading day`);
      assert.ok(aapl.indexOf(segs(t).valid[1] as string) <= aapl.indexOf(s) - 2, `task ${i} valid truncated`);
    });
    assert.deepEqual(segs(tasks[1]).test, ['2017-02-01', '2017-02-28']);
  });

  it('an open window is null only when the calendar does not cover the whole period', () => {
    const tasks = new RollingGen({ calendar: cal, step: '1M' }).generate(exampleTemplate({ test: ['2020-11-02', null] }));
    assert.deepEqual(segs(tasks.at(-1)!).test, ['2020-12-01', '2020-12-31'], 'December is fully inside the calendar');
    const shortCal = Calendar.weekdays('2020-01-01', '2020-12-15');
    const t2 = new RollingGen({ calendar: shortCal, step: '1M' }).generate(exampleTemplate({ test: ['2020-11-02', null], handlerEnd: null }));
    assert.deepEqual(segs(t2.at(-1)!).test, ['2020-12-01', null]);
  });
});

describe('RollingGen: validation and calendar errors', () => {
  const bad = (opts: Record<string, unknown>): ValidationError => {
    try {
      new RollingGen({ calendar: cal2020, ...opts } as never);
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      return e;
    }
    assert.fail('expected a ValidationError');
  };

  it('rejects bad steps with path "step"', () => {
    for (const step of [0, -5, 1.5, '2X', '0M', 'M1', '', Number.NaN]) {
      const e = bad({ step });
      assert.equal(e.code, 'VALIDATION');
      assert.equal(e.issues[0].path, 'step', String(step));
    }
  });

  it('reports every bad option at once', () => {
    const e = bad({ step: 0, rtype: 'rolling', truncDays: -1 });
    assert.deepEqual(e.issues.map((i) => i.path), ['step', 'rtype', 'truncDays']);
  });

  it('missing test segment → path dataset.kwargs.segments.test', () => {
    const tpl = exampleTemplate();
    delete (tpl.dataset as { kwargs: { segments: Record<string, unknown> } }).kwargs.segments.test;
    assert.throws(
      () => new RollingGen({ calendar: cal2020 }).generate(tpl),
      (e: unknown) => e instanceof ValidationError && e.path === 'dataset.kwargs.segments.test',
    );
    const custom = new RollingGen({ calendar: cal2020, testKey: 'oos' });
    assert.throws(() => custom.generate(exampleTemplate()), (e: unknown) => e instanceof ValidationError && e.path === 'dataset.kwargs.segments.oos');
  });

  it('invalid template dates are reported by validation before anything is generated', () => {
    const tpl = exampleTemplate({ test: ['2020-02-30', '2020-13-01'] });
    assert.throws(
      () => new RollingGen({ calendar: cal2020 }).generate(tpl),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.issues.map((i) => i.path).join() === 'dataset.kwargs.segments.test[0],dataset.kwargs.segments.test[1]',
    );
  });

  it('a segment entirely before the calendar is DATE_BEFORE_CALENDAR (no silent wrap)', () => {
    const later = Calendar.weekdays('2020-04-15', '2020-12-31');
    assert.throws(
      () => new RollingGen({ calendar: later }).generate(exampleTemplate()),
      (e: unknown) => e instanceof CalendarError && e.code === 'DATE_BEFORE_CALENDAR' && e.path === 'dataset.kwargs.segments.train[1]',
    );
  });

  it('a test segment with no trading day in it is rejected', () => {
    assert.throws(
      () => new RollingGen({ calendar: cal2020 }).generate(exampleTemplate({ test: ['2020-05-02', '2020-05-03'] })),
      (e: unknown) => e instanceof ValidationError && e.path === 'dataset.kwargs.segments.test',
    );
  });
});

describe('RollingGen: refreshing the calendar (qlib W24)', () => {
  it('genFollowingTasks sees new days after setCalendar / refresh', () => {
    let current = Calendar.weekdays('2020-01-01', '2020-09-30');
    const gen = new RollingGen({ calendar: () => current, step: 40 });
    const tasks = gen.generate(exampleTemplate());
    assert.equal(tasks.length, 3);
    assert.deepEqual(segs(tasks[2]).test, ['2020-08-21', null]);
    assert.deepEqual(gen.genFollowingTasks(tasks[1], '2020-12-31').length, 1, 'stale calendar: only #2');
    current = cal2020;
    gen.refresh();
    const more = gen.genFollowingTasks(tasks[1], '2020-12-31');
    assert.deepEqual(more.map((t) => segs(t).test), EXPANDING.slice(2).map((r) => r.test));
    gen.setCalendar(Calendar.weekdays('2020-01-01', '2020-10-30'));
    assert.deepEqual(
      gen.genFollowingTasks(tasks[1], '2020-12-31').map((t) => segs(t).test),
      [
        ['2020-08-21', '2020-10-15'],
        ['2020-10-16', null],
      ],
    );
  });
});
