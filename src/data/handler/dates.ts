import { HandlerConfigError } from './errors.ts';

const DAY = /^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * A config date as `YYYY-MM-DD`: accepts `YYYY-MM-DD` (optionally with a time of day, which daily
 * data ignores), a JS `Date` (YAML 1.1 timestamps), or null/undefined (→ null = open end).
 */
export function configDate(value: unknown, path: string): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw badDate(String(value), path);
    return value.toISOString().slice(0, 10);
  }
  if (typeof value !== 'string') throw badDate(JSON.stringify(value), path);
  const m = DAY.exec(value.trim());
  if (!m) throw badDate(JSON.stringify(value), path);
  const day = `${m[1]}-${m[2]}-${m[3]}`;
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== day) throw badDate(JSON.stringify(value), path);
  return day;
}

function badDate(shown: string, path: string): HandlerConfigError {
  return new HandlerConfigError('HANDLER_CONFIG', `${shown} is not a date`, { path, hint: 'use YYYY-MM-DD, or null for an open end' });
}
