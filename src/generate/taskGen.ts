/**
 * qlib's `TaskGen` and its helpers (`qlib/workflow/task/gen.py`): `taskGenerator`, `handlerMod`,
 * `truncSegments`.
 */
import { ValidationError } from '../errors.ts';
import { getHandlerKwargs, getSegments, joinPath } from '../task/definition.ts';
import type { Segments } from '../task/definition.ts';
import type { TaskDef } from '../task/types.ts';
import type { TimeAdjuster } from './timeAdjuster.ts';

/** Turns one task template into a list of tasks. Must not modify its input. */
export interface TaskGen {
  generate(task: TaskDef): TaskDef[];
}

/** A generator object or a plain function. */
export type TaskGenLike = TaskGen | ((task: TaskDef) => TaskDef[]);

function runGen(gen: TaskGenLike, task: TaskDef): TaskDef[] {
  return typeof gen === 'function' ? gen(task) : gen.generate(task);
}

/**
 * qlib's `task_generator`: applies the generators one after the other, each to every task the
 * previous one produced. Order is generator-major: for 3 templates and generators A (2 outputs
 * each) then B (3 each), the result is 18 tasks `[B(A(t1)[0])…, B(A(t1)[1])…, B(A(t2)[0])…, …]`.
 * One template or one generator may be passed without an array.
 */
export function taskGenerator(templates: TaskDef | TaskDef[], gens: TaskGenLike | TaskGenLike[]): TaskDef[] {
  let tasks = Array.isArray(templates) ? templates : [templates];
  const list = Array.isArray(gens) ? gens : [gens];
  for (const gen of list) {
    const next: TaskDef[] = [];
    for (const task of tasks) next.push(...runGen(gen, task));
    tasks = next;
  }
  return tasks;
}

/** What `handlerMod` needs from the generator calling it. */
export interface RollingContext {
  readonly ta: TimeAdjuster;
  readonly testKey: string;
}

/**
 * qlib's default `ds_extra_mod_func`: extends the handler's `end_time` to the test end so the
 * handler loads enough data. With `te` the test segment's end and `he` the handler's `end_time`:
 * when `te` is null (open-ended test) the handler end becomes null; when `he` is a day before
 * `te` it becomes `te`. It never trims. Like qlib, a handler that is not a component with
 * kwargs (e.g. a `"file://…"` string) or has no `end_time` is left alone (qlib swallows the
 * KeyError/TypeError; an absent or null `end_time` already means "up to the data's end").
 */
export function handlerMod(task: TaskDef, gen: RollingContext): void {
  const hk = getHandlerKwargs(task);
  const test = getSegments(task)?.[gen.testKey];
  if (hk === undefined || test === undefined) return;
  const te = test[1];
  const he = hk.end_time;
  if (te === null) {
    hk.end_time = null;
    return;
  }
  if (he === undefined || he === null) return;
  if (typeof he !== 'string') {
    throw new ValidationError([{ path: 'dataset.kwargs.handler.kwargs.end_time', message: `${JSON.stringify(he)} is not a date` }], { hint: 'use YYYY-MM-DD or null' });
  }
  if (gen.ta.calInterval(he, te) < 0) hk.end_time = te;
}

/**
 * qlib's `trunc_segments`: in place, cuts every non-test segment so it ends at or before trading
 * day `testStartIdx - days` (see `TimeAdjuster.truncate`), where the test start is the earliest
 * non-null bound of the test segment. Train is not truncated against valid (as in qlib).
 */
export function truncSegments(ta: TimeAdjuster, segments: Segments, days: number, testKey = 'test'): void {
  const test = segments[testKey];
  if (test === undefined) {
    throw new ValidationError([{ path: joinPath('dataset.kwargs.segments', testKey), message: 'is required to truncate against' }], { hint: 'add the test segment' });
  }
  const bounds = test.filter((t): t is string => t !== null);
  if (bounds.length === 0) {
    throw new ValidationError([{ path: joinPath('dataset.kwargs.segments', testKey), message: 'needs at least one non-null bound to truncate against' }], { hint: 'give the test segment a start day' });
  }
  const testStart = bounds.reduce((a, b) => (b < a ? b : a));
  for (const key of Object.keys(segments)) {
    if (key !== testKey) segments[key] = ta.truncate(segments[key], testStart, days);
  }
}
