/**
 * qlib's `TimeAdjuster` (`qlib/workflow/task/utils.py`): date arithmetic over a trading calendar.
 * Segments are `[start, end]` pairs of `YYYY-MM-DD` days, inclusive; `null` is an open end.
 *
 * Same semantics as qlib, except for these bug fixes:
 * - **No negative-index wrap** (qlib W26). qlib's `align_idx(tp, "end")` for a day before the
 *   calendar gives -1, and `cals[-1]` silently becomes the *last* day. Here it is a
 *   `CalendarError` `DATE_BEFORE_CALENDAR`; `get(-k)` is `INDEX_BEFORE_CALENDAR`.
 * - **Clean end of rolling** (qlib W25). qlib's `shift` raises `KeyError` only when the shifted
 *   start is *past* `len(cals)` and returns `(None, …)` when it lands exactly on it, which later
 *   crashes with a TypeError. Here `shift` returns `null` whenever the shifted start has no
 *   trading day.
 * - **`truncate` at index 0 and with open bounds** (qlib W27). qlib asserts `tp_idx > 0` (so a
 *   segment starting on the first calendar day fails) and raises TypeError on `None`. Here index 0
 *   is fine, a `null` start stays `null` (unbounded before) and a `null` end is cut like any end;
 *   only a limit before the calendar (`testIdx - days < 0`) is an error, `TRUNCATE_BEFORE_CALENDAR`.
 * - **Refreshable calendar** (qlib W24). qlib snapshots the calendar at construction and nothing
 *   refreshes it; here `setCalendar(cal)` replaces it and `refresh()` re-reads it from the loader
 *   given to the constructor.
 * - A start day after the calendar end is `DATE_AFTER_CALENDAR` (qlib: a bare IndexError).
 */
import { CalendarError, ValidationError } from '../errors.ts';
import { joinPath } from '../task/definition.ts';
import type { DateBound, Segment } from '../task/types.ts';
import { Calendar } from './calendar.ts';
import { normalizeDay } from './dates.ts';

export type AlignType = 'start' | 'end';
export type ShiftType = 'sliding' | 'expanding';
/** A segment, or an object of them (nested), as `alignSeg` accepts. */
export type SegmentTree = Segment | { [key: string]: SegmentTree };
/** Produces the current calendar; called again by `refresh()`. */
export type CalendarLoader = () => Calendar;

export class TimeAdjuster {
  static readonly SHIFT_SD: ShiftType = 'sliding';
  static readonly SHIFT_EX: ShiftType = 'expanding';

  private cal: Calendar;
  private readonly loader: CalendarLoader | undefined;

  /** `calendar` is a fixed calendar, or a loader that `refresh()` calls again. */
  constructor(calendar: Calendar | CalendarLoader) {
    if (calendar instanceof Calendar) {
      this.cal = calendar;
      this.loader = undefined;
    } else {
      this.loader = calendar;
      this.cal = calendar();
    }
  }

  get calendar(): Calendar {
    return this.cal;
  }

  /** Use a fresh calendar from now on (e.g. after new trading days were published). */
  setCalendar(calendar: Calendar): this {
    this.cal = calendar;
    return this;
  }

  /** Re-reads the calendar from the loader given to the constructor; a no-op for a fixed calendar. */
  refresh(): this {
    if (this.loader) this.cal = this.loader();
    return this;
  }

  /** The day at `idx`; `null` for `null` or an index at/after the calendar end (qlib's "unknown future"). */
  get(idx: number | null): string | null {
    if (idx === null) return null;
    if (idx < 0) {
      throw new CalendarError('INDEX_BEFORE_CALENDAR', `calendar index ${idx} is before the calendar start ${this.cal.first}`, {
        hint: 'qlib would silently wrap to the end of the calendar; use a calendar that starts earlier',
      });
    }
    return idx >= this.cal.length ? null : this.cal.day(idx);
  }

  /** The last trading day. */
  max(): string {
    return this.cal.last;
  }

  private parse(tp: string, path?: string): string {
    const day = typeof tp === 'string' ? normalizeDay(tp) : null;
    if (day === null) {
      throw new CalendarError('INVALID_DATE', `${JSON.stringify(tp)} is not a date`, {
        ...(path ? { path } : {}),
        hint: 'use a real YYYY-MM-DD day',
      });
    }
    return day;
  }

  /**
   * Calendar index of `tp`. `start`: the first trading day ≥ tp (may be `length` when tp is after
   * the last day). `end`: the last trading day ≤ tp; `DATE_BEFORE_CALENDAR` when there is none.
   * `null` stays `null` (unbounded).
   */
  alignIdx(tp: DateBound, tpType: AlignType = 'start', path?: string): number | null {
    if (tp === null) return null;
    const day = this.parse(tp, path);
    if (tpType === 'start') return this.cal.firstIndexOnOrAfter(day);
    if (tpType === 'end') {
      const idx = this.cal.lastIndexOnOrBefore(day);
      if (idx < 0) {
        throw new CalendarError('DATE_BEFORE_CALENDAR', `${day} is before the calendar's first day ${this.cal.first}`, {
          ...(path ? { path } : {}),
          hint: 'use a calendar that covers the segment, or move the segment end into the calendar',
        });
      }
      return idx;
    }
    throw new CalendarError('BAD_ALIGN_TYPE', `unknown alignment ${JSON.stringify(tpType)}`, { hint: 'use "start" or "end"' });
  }

  /** The trading day `tp` aligns to (see `alignIdx`); a start after the calendar is `DATE_AFTER_CALENDAR`. */
  alignTime(tp: DateBound, tpType: AlignType = 'start', path?: string): string | null {
    const idx = this.alignIdx(tp, tpType, path);
    if (idx === null) return null;
    if (idx >= this.cal.length) {
      throw new CalendarError('DATE_AFTER_CALENDAR', `${tp} is after the calendar's last day ${this.cal.last}`, {
        ...(path ? { path } : {}),
        hint: 'use a calendar that covers the segment (refresh it if new days were published)',
      });
    }
    return this.cal.day(idx);
  }

  /**
   * Aligns a segment (`[start→first trading day ≥ start, end→last trading day ≤ end]`) or an
   * object of segments, recursively. Returns new values; `path` is used in error messages.
   */
  alignSeg<T extends SegmentTree>(seg: T, path = ''): T {
    if (Array.isArray(seg)) {
      if (seg.length !== 2) {
        throw new ValidationError([{ path, message: 'must be a [start, end] pair' }], { hint: 'e.g. ["2020-01-02", null]' });
      }
      return [this.alignTime(seg[0], 'start', `${path}[0]`), this.alignTime(seg[1], 'end', `${path}[1]`)] as T;
    }
    if (typeof seg === 'object' && seg !== null) {
      const out: { [key: string]: SegmentTree } = {};
      for (const [k, v] of Object.entries(seg as { [key: string]: SegmentTree })) out[k] = this.alignSeg(v, joinPath(path, k));
      return out as T;
    }
    throw new ValidationError([{ path, message: 'must be a [start, end] pair or an object of them' }], { hint: 'e.g. {"test": ["2020-01-02", null]}' });
  }

  /** Trading-day distance `a − b`, both aligned as "start" (qlib's `cal_interval`). */
  calInterval(a: string, b: string): number {
    if (a === null || b === null) {
      throw new CalendarError('OPEN_BOUND', 'cal_interval needs two days, got null', { hint: 'null means an open end and has no position' });
    }
    return (this.alignIdx(a, 'start') as number) - (this.alignIdx(b, 'start') as number);
  }

  /**
   * Cuts `seg` so that no point of it is after trading day `testIdx - days`, where `testIdx` is
   * `testStart` aligned as "start" (qlib's `truncate`; both ends use "start" alignment as in qlib).
   * A `null` start stays `null`; a `null` end becomes the limit day.
   */
  truncate(seg: Segment, testStart: string, days: number): Segment {
    if (!Number.isInteger(days) || days < 0) {
      throw new ValidationError([{ path: 'truncDays', message: `must be a non-negative integer, got ${days}` }], { hint: 'trading days to leave between a segment end and the test start' });
    }
    const testIdx = this.alignIdx(testStart, 'start') as number;
    const limit = testIdx - days;
    if (limit < 0) {
      throw new CalendarError(
        'TRUNCATE_BEFORE_CALENDAR',
        `truncating ${days} trading days before the test start ${testStart} reaches before the calendar start ${this.cal.first}`,
        { hint: 'use a calendar that starts earlier, a later test start, or fewer trunc days' },
      );
    }
    const cut = (tp: DateBound, openValue: DateBound): DateBound => {
      if (tp === null) return openValue;
      return this.get(Math.min(this.alignIdx(tp, 'start') as number, limit));
    };
    return [cut(seg[0], null), cut(seg[1], this.get(limit))];
  }

  /**
   * Moves a segment by `step` trading days: `sliding` moves both ends, `expanding` only the end.
   * An end that runs past the calendar becomes `null`. Returns `null` when the shifted start has no
   * trading day: the end of rolling.
   */
  shift(seg: Segment, step: number, rtype: ShiftType = TimeAdjuster.SHIFT_SD): Segment | null {
    if (!Number.isInteger(step)) {
      throw new ValidationError([{ path: 'step', message: `must be an integer number of trading days, got ${step}` }], { hint: 'shift by whole trading days' });
    }
    let s = this.alignIdx(seg[0], 'start');
    let e = this.alignIdx(seg[1], 'end');
    if (rtype === TimeAdjuster.SHIFT_SD) {
      if (s !== null) s += step;
      if (e !== null) e += step;
    } else if (rtype === TimeAdjuster.SHIFT_EX) {
      if (e !== null) e += step;
    } else {
      throw new ValidationError([{ path: 'rtype', message: `unknown shift type ${JSON.stringify(rtype)}` }], {
        hint: 'use "sliding" or "expanding"',
      });
    }
    if (s !== null && s >= this.cal.length) return null;
    return [this.get(s), this.get(e)];
  }
}
