/**
 * The trading calendar: sorted, unique trading days as `YYYY-MM-DD` strings. Everything the
 * generators do with dates is index arithmetic on one of these.
 */
import { readFileSync } from 'node:fs';
import { CalendarError } from '../errors.ts';
import { addDays, normalizeDay, weekdayOf } from './dates.ts';

/** Where a bad calendar entry came from, for error messages: `[5]` or `day.txt:6`. */
type Locate = (index: number) => string;

export class Calendar {
  readonly days: readonly string[];

  private constructor(days: readonly string[]) {
    this.days = days;
  }

  /**
   * A calendar from a list of days. Entries may be midnight timestamps (`2020-01-02 00:00:00`),
   * which are stored as days. Throws `CalendarError` naming the offending index:
   * `CALENDAR_EMPTY`, `CALENDAR_INVALID_DAY`, `CALENDAR_UNSORTED`, `CALENDAR_DUPLICATE_DAY`.
   */
  static fromDays(days: readonly string[]): Calendar {
    return Calendar.build(days, (i) => `[${i}]`, 'the day list');
  }

  /**
   * qlib's `calendars/day.txt`: one day per line, optionally with a ` 00:00:00` suffix. Blank lines
   * are ignored. Errors name `FILE:LINE`. A missing file is `CalendarError` `FILE_NOT_FOUND`.
   */
  static fromFile(path: string): Calendar {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new CalendarError('FILE_NOT_FOUND', `calendar file ${JSON.stringify(path)} does not exist`, {
          hint: 'pass a qlib calendars/day.txt (one YYYY-MM-DD per line)',
          cause: e,
        });
      }
      throw new CalendarError('FILE_READ', `cannot read calendar file ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
    }
    const lines = text.split(/\r?\n/);
    const days: string[] = [];
    const lineOf: number[] = [];
    lines.forEach((line, i) => {
      const trimmed = line.trim();
      if (trimmed === '') return;
      days.push(trimmed);
      lineOf.push(i + 1);
    });
    return Calendar.build(days, (i) => `${path}:${lineOf[i]}`, path);
  }

  /** Every Monday–Friday from `start` through `end` (inclusive), no holidays: the demo's built-in calendar. */
  static weekdays(start: string, end: string): Calendar {
    const s = normalizeDay(start);
    const e = normalizeDay(end);
    if (s === null || e === null) {
      const bad = s === null ? start : end;
      throw new CalendarError('CALENDAR_INVALID_DAY', `${JSON.stringify(bad)} is not a date`, {
        path: s === null ? 'start' : 'end',
        hint: 'use YYYY-MM-DD',
      });
    }
    if (s > e) {
      throw new CalendarError('CALENDAR_EMPTY', `weekday calendar start ${s} is after its end ${e}`, { hint: 'swap start and end' });
    }
    const days: string[] = [];
    for (let d = s; d <= e; d = addDays(d, 1)) {
      const wd = weekdayOf(d);
      if (wd !== 0 && wd !== 6) days.push(d);
    }
    return Calendar.build(days, (i) => `[${i}]`, `weekdays ${s}..${e}`);
  }

  private static build(raw: readonly string[], locate: Locate, what: string): Calendar {
    if (raw.length === 0) {
      throw new CalendarError('CALENDAR_EMPTY', `${what} has no trading days`, { hint: 'a calendar needs at least one day' });
    }
    const days: string[] = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const entry = raw[i];
      const day = typeof entry === 'string' ? normalizeDay(entry.trim()) : null;
      if (day === null) {
        throw new CalendarError('CALENDAR_INVALID_DAY', `${JSON.stringify(entry)} is not a date`, {
          path: locate(i),
          hint: 'each entry must be a real YYYY-MM-DD day (optionally followed by 00:00:00)',
        });
      }
      if (i > 0) {
        const prev = days[i - 1];
        if (day === prev) {
          throw new CalendarError('CALENDAR_DUPLICATE_DAY', `${day} repeats the previous entry (${locate(i - 1)})`, {
            path: locate(i),
            hint: 'remove the duplicated day',
          });
        }
        if (day < prev) {
          throw new CalendarError('CALENDAR_UNSORTED', `${day} comes after ${prev} (${locate(i - 1)}); days must be ascending`, {
            path: locate(i),
            hint: 'sort the calendar ascending',
          });
        }
      }
      days[i] = day;
    }
    return new Calendar(Object.freeze(days));
  }

  get length(): number {
    return this.days.length;
  }

  get first(): string {
    return this.days[0];
  }

  get last(): string {
    return this.days[this.days.length - 1];
  }

  /** The trading day at `index`; `CalendarError` `INDEX_OUT_OF_CALENDAR` outside `[0, length)`. */
  day(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.days.length) {
      throw new CalendarError('INDEX_OUT_OF_CALENDAR', `calendar index ${index} is outside [0, ${this.days.length})`, {
        hint: `the calendar runs ${this.first}..${this.last}`,
      });
    }
    return this.days[index];
  }

  /** Index of `day` if it is a trading day, else -1. */
  indexOf(day: string): number {
    const i = this.firstIndexOnOrAfter(day);
    return i < this.days.length && this.days[i] === day ? i : -1;
  }

  /** Index of the first trading day ≥ `day` (Python's `bisect_left`); `length` when `day` is after the last day. */
  firstIndexOnOrAfter(day: string): number {
    let lo = 0;
    let hi = this.days.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.days[mid] < day) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the last trading day ≤ `day` (`bisect_right - 1`); -1 when `day` is before the first day. */
  lastIndexOnOrBefore(day: string): number {
    let lo = 0;
    let hi = this.days.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.days[mid] <= day) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
