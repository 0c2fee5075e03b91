import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Calendar } from '../../src/generate/calendar.ts';
import { addDays } from '../../src/generate/dates.ts';
import { RollingGen } from '../../src/generate/rollingGen.ts';
import type { TaskDef } from '../../src/task/types.ts';
import { rng } from '../support/rng.ts';
import { segs } from './helpers.ts';

const BASE = Calendar.weekdays('2018-01-01', '2021-06-30');

/** A random subset of the base weekdays: each kept with probability `density` (seeded, so a counterexample prints as a seed). */
function randomCalendar(seed: number, density: number): Calendar {
  const rnd = rng(seed);
  return Calendar.fromDays(BASE.days.filter(() => rnd() < density));
}

const calendarArb = fc
  .record({ seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }), density: fc.double({ min: 0.5, max: 1, noNaN: true }) })
  .map(({ seed, density }) => ({ seed, density, cal: randomCalendar(seed, density) }));

const scenarioArb = calendarArb.chain(({ seed, density, cal }) =>
  fc.record({
    calendar: fc.constant({ seed, density }),
    testStartIdx: fc.integer({ min: 60, max: cal.length - 1 }),
    testLen: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
    // calendar days added to a bound, so bounds also fall on non-trading days
    jitter: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
    validLen: fc.integer({ min: 1, max: 40 }),
    gap: fc.integer({ min: 1, max: 5 }),
    trainLen: fc.integer({ min: 5, max: 200 }),
    step: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.constantFrom('1W', '2W', '1M', '3M', '1Q', '1Y')),
    rtype: fc.constantFrom('expanding' as const, 'sliding' as const),
    truncDays: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
    clip: fc.boolean(),
  }),
);

function template(s: {
  cal: Calendar;
  testStartIdx: number;
  testLen: number | null;
  jitter: [number, number];
  validLen: number;
  gap: number;
  trainLen: number;
}): TaskDef {
  const { cal } = s;
  const testStart = addDays(cal.day(s.testStartIdx), -s.jitter[0]);
  const testEnd = s.testLen === null ? null : addDays(cal.day(Math.min(cal.length - 1, s.testStartIdx + s.testLen)), s.jitter[1]);
  // valid ends before the *aligned* test start (the jitter may move it earlier)
  const validEndIdx = Math.max(0, cal.firstIndexOnOrAfter(testStart) - s.gap);
  const validStartIdx = Math.max(0, validEndIdx - s.validLen);
  const trainEndIdx = Math.max(0, validStartIdx - 1);
  const trainStartIdx = Math.max(0, trainEndIdx - s.trainLen);
  return {
    model: { class: 'M' },
    dataset: {
      class: 'DatasetH',
      kwargs: {
        handler: { class: 'H', kwargs: { end_time: cal.day(s.testStartIdx) } },
        segments: {
          train: [cal.day(trainStartIdx), cal.day(trainEndIdx)],
          valid: [cal.day(validStartIdx), cal.day(validEndIdx)],
          test: [testStart, testEnd],
        },
      },
    },
  };
}

describe('RollingGen properties (random calendars, templates, steps)', () => {
  it('test windows are contiguous, disjoint, cover the template test range; train/valid stay truncated', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const cal = randomCalendar(scenario.calendar.seed, scenario.calendar.density);
        const s = { ...scenario, cal };
        const tpl = template(s);
        const rawTest = segs(tpl).test;
        const alignedStart = cal.firstIndexOnOrAfter(rawTest[0] as string);
        const alignedEnd = rawTest[1] === null ? cal.length - 1 : cal.lastIndexOnOrBefore(rawTest[1]);
        fc.pre(alignedStart <= alignedEnd && alignedStart < cal.length);
        const gen = new RollingGen({ calendar: cal, step: s.step, rtype: s.rtype, truncDays: s.truncDays, clip: s.clip });
        const tasks = gen.generate(tpl);
        assert.ok(tasks.length >= 1);
        const idx = (d: string | null) => (d === null ? null : cal.indexOf(d));
        const windows = tasks.map((t) => segs(t).test.map(idx) as [number, number | null]);
        for (const [ws] of windows) assert.notEqual(ws, -1, 'window starts are trading days');
        assert.equal(windows[0][0], alignedStart, 'first window starts at the aligned test start');
        for (let i = 0; i < windows.length; i++) {
          const [ws, we] = windows[i];
          if (we !== null) assert.ok(we >= ws, `window ${i} is not empty`);
          if (i + 1 < windows.length) {
            assert.notEqual(we, null, 'only the last window may be open');
            assert.equal(windows[i + 1][0], (we as number) + 1, `window ${i + 1} starts the trading day after window ${i} ends`);
          }
        }
        const [lastStart, lastEnd] = windows[windows.length - 1];
        assert.ok(lastStart <= alignedEnd, 'the last window starts within the test range');
        if (s.clip) assert.equal(lastEnd, alignedEnd, 'clip ends exactly at the aligned test end');
        else assert.ok(lastEnd === null || lastEnd >= alignedEnd, 'windows cover through the aligned test end');
        if (typeof s.step === 'number') {
          for (const [i, [ws, we]] of windows.entries()) {
            const full = i < windows.length - 1 || !s.clip;
            if (we !== null && full) assert.equal(we - ws + 1, s.step, 'fixed steps are exactly `step` trading days');
          }
        } else {
          for (const [ws] of windows.slice(1)) {
            const prev = cal.day(ws - 1);
            const day = cal.day(ws);
            const unit = (s.step as string).slice(-1);
            if (unit === 'M' || unit === 'Q' || unit === 'Y') assert.notEqual(prev.slice(0, 7), day.slice(0, 7), 'unit windows start a new month');
          }
        }
        // Every task keeps the first task's trading-day offsets to its test start (qlib's shift
        // semantics): both ends for sliding segments, the end only for an expanding train.
        const offsets = (t: (typeof tasks)[number]) => {
          const all = segs(t);
          const ts = cal.indexOf(all.test[0] as string);
          return ['train', 'valid'].map((key) => {
            const [a, b] = all[key];
            const fixedStart = key === 'train' && s.rtype === 'expanding';
            return [fixedStart ? a : a === null ? null : ts - cal.indexOf(a), ts - cal.indexOf(b as string)];
          });
        };
        const firstOffsets = offsets(tasks[0]);
        for (const [i, t] of tasks.entries()) assert.deepEqual(offsets(t), firstOffsets, `task ${i} keeps the segment offsets`);
        for (const t of tasks) {
          const all = segs(t);
          const testStart = cal.indexOf(all.test[0] as string);
          for (const key of ['train', 'valid']) {
            const [a, b] = all[key];
            assert.notEqual(b, null);
            const endIdx = cal.indexOf(b as string);
            assert.ok(endIdx >= 0 && endIdx < testStart, `${key} ends before the test start`);
            if (s.truncDays !== null) assert.ok(endIdx <= testStart - s.truncDays, `${key} ends ≥ truncDays before the test start`);
            if (a !== null) assert.ok(cal.indexOf(a) <= endIdx, `${key} is not inverted`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
