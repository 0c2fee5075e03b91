/**
 * Rolling steps: a number of trading days (qlib), or a calendar unit (`1W`, `2W`, `1M`, `3M`,
 * `1Q`, `1Y`; qlib issue #1288). A unit step's windows start on the first trading day of each
 * period boundary.
 */
import { ValidationError } from '../errors.ts';
import { addDays, addMonthsToMonthStart, mondayOf } from './dates.ts';

export type StepUnit = 'W' | 'M' | 'Q' | 'Y';
export type Step = { kind: 'days'; days: number } | { kind: 'unit'; count: number; unit: StepUnit };

const UNIT_STEP = /^([1-9]\d*)?([WMQY])$/;
const STEP_HINT = 'use a positive whole number of trading days (e.g. 40) or a calendar unit: 1W, 2W, 1M, 3M, 1Q, 1Y';

/**
 * Parses a step: a positive integer (or its decimal string, as the CLI passes it) counts trading
 * days; `nW`/`nM`/`nQ`/`nY` (n ≥ 1, default 1) are calendar units. Anything else is a
 * `ValidationError` at `path` (default `step`).
 */
export function parseStep(step: number | string, path = 'step'): Step {
  if (typeof step === 'number') {
    if (!Number.isInteger(step) || step <= 0) {
      throw new ValidationError([{ path, message: `must be a positive integer number of trading days, got ${step}` }], { hint: STEP_HINT });
    }
    return { kind: 'days', days: step };
  }
  if (typeof step === 'string') {
    const text = step.trim();
    if (/^[+-]?\d+(\.\d+)?$/.test(text)) return parseStep(Number(text), path);
    const m = UNIT_STEP.exec(text);
    if (m) return { kind: 'unit', count: m[1] === undefined ? 1 : Number(m[1]), unit: m[2] as StepUnit };
    throw new ValidationError([{ path, message: `unknown step ${JSON.stringify(step)}` }], { hint: STEP_HINT });
  }
  throw new ValidationError([{ path, message: `must be a number or a unit string, got ${typeof step}` }], { hint: STEP_HINT });
}

/** `40`, or `1M`. */
export function formatStep(step: Step): string {
  return step.kind === 'days' ? String(step.days) : `${step.count}${step.unit}`;
}

/**
 * The first calendar day of the period `count` units after the period containing `day`. Weeks
 * start on Monday, quarters in January/April/July/October, years on January 1.
 */
export function nextBoundary(day: string, count: number, unit: StepUnit): string {
  const month = Number(day.slice(5, 7));
  switch (unit) {
    case 'W':
      return addDays(mondayOf(day), 7 * count);
    case 'M':
      return addMonthsToMonthStart(day, count);
    case 'Q':
      return addMonthsToMonthStart(day, -((month - 1) % 3) + 3 * count);
    case 'Y':
      return addMonthsToMonthStart(day, -(month - 1) + 12 * count);
  }
}
