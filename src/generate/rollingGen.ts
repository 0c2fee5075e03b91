/**
 * qlib's `RollingGen`: turns one template into a series of tasks whose test windows roll forward
 * over the trading calendar. With a trading-day `step` and `clip: false` (the defaults) the
 * output is qlib's, task for task (see docs/generate.md for the worked example).
 *
 * Beyond qlib:
 * - `step` may be a calendar unit (`1W`, `2W`, `1M`, `3M`, `1Q`, `1Y`): every window starts on the
 *   first trading day of a period boundary; the first runs from the template's test start to the
 *   day before the next boundary. Train/valid move by as many trading days as the test start did.
 * - `clip: true` cuts the last window's end to the template's test end (qlib lets it run past it,
 *   or stay open as null).
 * - Running off the calendar ends the series cleanly (qlib crashes with a TypeError when a shifted
 *   start lands exactly one past the last day).
 * - The calendar can be replaced (`setCalendar`) or re-read (`refresh`), qlib W24.
 */
import { ValidationError } from '../errors.ts';
import type { ValidationIssue } from '../errors.ts';
import { cloneTaskDef, joinPath, requireSegments, setSegments, validateTaskDef } from '../task/definition.ts';
import type { Segments } from '../task/definition.ts';
import type { Segment, TaskDef } from '../task/types.ts';
import { Calendar } from './calendar.ts';
import { addDays, normalizeDay } from './dates.ts';
import { nextBoundary, parseStep } from './step.ts';
import type { Step } from './step.ts';
import { handlerMod, truncSegments } from './taskGen.ts';
import type { RollingContext, TaskGen } from './taskGen.ts';
import { TimeAdjuster } from './timeAdjuster.ts';
import type { CalendarLoader } from './timeAdjuster.ts';

export type RollType = 'expanding' | 'sliding';

/** Called on every generated task after its segments are set (qlib's `ds_extra_mod_func`). */
export type DsExtraModFunc = (task: TaskDef, gen: RollingGen) => void;

export interface RollingGenOptions {
  /** The trading calendar: a `Calendar`, a loader that `refresh()` calls again, or a `TimeAdjuster`. Required. */
  calendar: Calendar | CalendarLoader | TimeAdjuster;
  /** Trading days per window (positive integer), or a calendar unit `1W`/`2W`/`1M`/`3M`/`1Q`/`1Y`. Default 40. */
  step?: number | string;
  /** `expanding` (train keeps its start and grows) or `sliding` (train moves). Valid always slides. Default `expanding`. */
  rtype?: RollType;
  /** Segment that rolls. Default `test`. */
  testKey?: string;
  /** Segment that expands under `expanding`. Default `train`. */
  trainKey?: string;
  /** Cut every non-test segment to end at least this many trading days before the test start. Default: no cut. */
  truncDays?: number | null;
  /** Applied to every generated task. Default `handlerMod`; `null` disables it. */
  dsExtraModFunc?: DsExtraModFunc | null;
  /** Clip the last window's test end to the template's test end. Default false (qlib). */
  clip?: boolean;
}

export class RollingGen implements TaskGen, RollingContext {
  static readonly ROLL_EX: RollType = 'expanding';
  static readonly ROLL_SD: RollType = 'sliding';

  readonly ta: TimeAdjuster;
  readonly step: number | string;
  readonly rtype: RollType;
  readonly testKey: string;
  readonly trainKey: string;
  readonly truncDays: number | null;
  readonly dsExtraModFunc: DsExtraModFunc | null;
  readonly clip: boolean;
  private readonly parsedStep: Step;

  constructor(options: RollingGenOptions) {
    const issues: ValidationIssue[] = [];
    const attempt = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        if (e instanceof ValidationError) issues.push(...e.issues);
        else throw e;
      }
    };
    let parsed: Step = { kind: 'days', days: 40 };
    const step = options.step ?? 40;
    attempt(() => {
      parsed = parseStep(step);
    });
    const rtype = options.rtype ?? RollingGen.ROLL_EX;
    if (rtype !== RollingGen.ROLL_EX && rtype !== RollingGen.ROLL_SD) {
      issues.push({ path: 'rtype', message: `unknown rtype ${JSON.stringify(rtype)}; use "expanding" or "sliding"` });
    }
    const truncDays = options.truncDays ?? null;
    if (truncDays !== null && (!Number.isInteger(truncDays) || truncDays < 0)) {
      issues.push({ path: 'truncDays', message: `must be a non-negative integer, got ${truncDays}` });
    }
    const testKey = options.testKey ?? 'test';
    const trainKey = options.trainKey ?? 'train';
    if (typeof testKey !== 'string' || testKey === '') issues.push({ path: 'testKey', message: 'must be a non-empty string' });
    if (typeof trainKey !== 'string' || trainKey === '') issues.push({ path: 'trainKey', message: 'must be a non-empty string' });
    if (options.calendar === undefined || options.calendar === null) {
      issues.push({ path: 'calendar', message: 'is required (a Calendar, e.g. Calendar.fromFile("calendars/day.txt"))' });
    }
    if (issues.length > 0) throw new ValidationError(issues, { hint: 'check the RollingGen options' });
    this.ta = options.calendar instanceof TimeAdjuster ? options.calendar : new TimeAdjuster(options.calendar);
    this.step = step;
    this.parsedStep = parsed;
    this.rtype = rtype;
    this.testKey = testKey;
    this.trainKey = trainKey;
    this.truncDays = truncDays;
    this.dsExtraModFunc = options.dsExtraModFunc === undefined ? handlerMod : options.dsExtraModFunc;
    this.clip = options.clip ?? false;
  }

  /** Use a fresh calendar from now on (qlib W24). */
  setCalendar(calendar: Calendar): this {
    this.ta.setCalendar(calendar);
    return this;
  }

  /** Re-read the calendar from the loader given as `calendar`. */
  refresh(): this {
    this.ta.refresh();
    return this;
  }

  private updateTaskSegs(task: TaskDef, segments: Segments): void {
    setSegments(task, segments);
    if (this.dsExtraModFunc) this.dsExtraModFunc(task, this);
  }

  /** Index of the last trading day of the window starting at `startIdx`, or null when it runs past the calendar. */
  private windowEndIdx(startIdx: number): number | null {
    const cal = this.ta.calendar;
    const step = this.parsedStep;
    if (step.kind === 'days') {
      const end = startIdx + step.days - 1;
      return end >= cal.length ? null : end;
    }
    const boundary = nextBoundary(cal.day(startIdx), step.count, step.unit);
    // The window's last trading day is only known when the calendar covers the whole period.
    if (addDays(boundary, -1) > cal.last) return null;
    return cal.firstIndexOnOrAfter(boundary) - 1;
  }

  /** Index of the next window's start, `length` or more when there is none. */
  private nextStartIdx(startIdx: number): number {
    const cal = this.ta.calendar;
    const step = this.parsedStep;
    if (step.kind === 'days') return startIdx + step.days;
    return cal.firstIndexOnOrAfter(nextBoundary(cal.day(startIdx), step.count, step.unit));
  }

  private window(startIdx: number, testEnd: string): Segment {
    const endIdx = this.windowEndIdx(startIdx);
    let end = endIdx === null ? null : this.ta.get(endIdx);
    if (this.clip && testEnd <= this.ta.max() && (end === null || end > testEnd)) end = this.ta.alignTime(testEnd, 'end');
    return [this.ta.get(startIdx), end];
  }

  /**
   * All tasks for one template: the first window, then `genFollowingTasks` up to the template's
   * test end (its aligned end, or the calendar's last day when null). The template is not modified.
   */
  generate(task: TaskDef): TaskDef[] {
    const t = validateTaskDef(task);
    const segsPath = 'dataset.kwargs.segments';
    const segments = this.ta.alignSeg(requireSegments(t, this.testKey), segsPath);
    const test = segments[this.testKey];
    // qlib's transform_end_date: an open or too-late end means "up to the last known day".
    const testEnd = test[1] ?? this.ta.max();
    const startIdx = this.ta.alignIdx(test[0], 'start') as number;
    if (test[1] !== null && (test[0] as string) > test[1]) {
      throw new ValidationError([{ path: joinPath(segsPath, this.testKey), message: `contains no trading day (${test[0]}..${test[1]} after alignment)` }], {
        hint: 'widen the test segment or check the calendar',
      });
    }
    segments[this.testKey] = this.window(startIdx, testEnd);
    if (this.truncDays !== null) truncSegments(this.ta, segments, this.truncDays, this.testKey);
    this.updateTaskSegs(t, segments);
    return [t, ...this.genFollowingTasks(t, testEnd)];
  }

  /**
   * The tasks after `task` (excluded), each rolled one step further, while the test start is at
   * or before `testEnd` (null: the calendar's last day) and on the calendar. `task` must carry
   * aligned segments (any task this generator produced does). This is what an online strategy
   * calls later with a newer `testEnd` and a refreshed calendar.
   */
  genFollowingTasks(task: TaskDef, testEnd: string | null): TaskDef[] {
    let end: string;
    if (testEnd === null) end = this.ta.max();
    else {
      const day = typeof testEnd === 'string' ? normalizeDay(testEnd) : null;
      if (day === null) throw new ValidationError([{ path: 'testEnd', message: `${JSON.stringify(testEnd)} is not a date` }], { hint: 'use YYYY-MM-DD, or null for the calendar\'s last day' });
      end = day;
    }
    const first = requireSegments(task, this.testKey);
    const out: TaskDef[] = [];
    let prev: Segments = first;
    for (;;) {
      const next = this.shiftSegments(prev, end);
      if (next === null || (next[this.testKey][0] as string) > end) break;
      prev = next;
      const t = cloneTaskDef(task);
      this.updateTaskSegs(t, next);
      out.push(t);
    }
    return out;
  }

  /** The segments one step after `prev`, in `prev`'s key order; null at the end of rolling. */
  private shiftSegments(prev: Segments, testEnd: string): Segments | null {
    const prevTest = prev[this.testKey];
    let test: Segment | null;
    let delta: number;
    if (this.parsedStep.kind === 'days' && !this.clip) {
      // qlib's exact rule: the test segment shifts like any other.
      delta = this.parsedStep.days;
      test = this.ta.shift(prevTest, delta, TimeAdjuster.SHIFT_SD);
    } else {
      // Windows derive from their start, so a clipped or uneven window does not skew the next one.
      const startIdx = this.ta.alignIdx(prevTest[0], 'start') as number;
      const nextIdx = this.nextStartIdx(startIdx);
      delta = nextIdx - startIdx;
      test = nextIdx >= this.ta.calendar.length ? null : this.window(nextIdx, testEnd);
    }
    if (test === null) return null;
    const next: Segments = {};
    for (const [key, seg] of Object.entries(prev)) {
      if (key === this.testKey) {
        next[key] = test;
        continue;
      }
      const rule = key === this.trainKey && this.rtype === RollingGen.ROLL_EX ? TimeAdjuster.SHIFT_EX : TimeAdjuster.SHIFT_SD;
      const shifted = this.ta.shift(seg, delta, rule);
      if (shifted === null) return null;
      next[key] = shifted;
    }
    return next;
  }
}
