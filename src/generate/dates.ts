/**
 * Day arithmetic on `YYYY-MM-DD` strings. Days are compared as strings (the format sorts
 * lexicographically) and computed through UTC so no time zone can shift a day.
 */

const DAY_OR_MIDNIGHT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?$/;
const MS_PER_DAY = 86_400_000;

/**
 * The `YYYY-MM-DD` day a string names, or `null` when it does not name a real calendar day.
 * Accepts midnight timestamps (`2020-01-02T00:00:00`, `2020-01-02 00:00:00`, with `Z`/`+00:00`),
 * the same spellings `canonicalize` folds together. Rejects impossible days (`2017-13-01`,
 * `2017-02-30`) and any time of day other than midnight.
 */
export function normalizeDay(text: string): string | null {
  const m = DAY_OR_MIDNIGHT.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return null;
  if (day > daysInMonth(year, month)) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

export function isDay(text: string): boolean {
  return normalizeDay(text) === text;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function toUtcMs(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));
}

function fromUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return fromUtcMs(toUtcMs(day) + n * MS_PER_DAY);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(day: string): number {
  return new Date(toUtcMs(day)).getUTCDay();
}

/** The first day of the month `months` after the month containing `day` (may be negative). */
export function addMonthsToMonthStart(day: string, months: number): string {
  const total = Number(day.slice(0, 4)) * 12 + (Number(day.slice(5, 7)) - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01`;
}

/** Monday of the ISO week containing `day`. */
export function mondayOf(day: string): string {
  return addDays(day, -((weekdayOf(day) + 6) % 7));
}
