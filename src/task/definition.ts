/**
 * Task definitions: accessors for the parts the generators rely on, and `validateTaskDef`, which
 * checks qlib's shape where it is present and reports every problem with its path.
 */
import { ValidationError } from '../errors.ts';
import type { ValidationIssue } from '../errors.ts';
import { normalizeDay } from '../generate/dates.ts';
import type { DateBound, JsonObject, JsonValue, Segment, TaskDef } from './types.ts';

/** `{train: [start, end], valid: …, test: …}`: `dataset.kwargs.segments`. */
export type Segments = Record<string, Segment>;

/** Handler kwargs that hold days; validated and normalised like segment bounds. */
export const HANDLER_DATE_KWARGS = ['start_time', 'end_time', 'fit_start_time', 'fit_end_time'] as const;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `base.key`, `base[3]`, or `base["odd key"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (IDENTIFIER.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy (definitions are plain JSON). */
export function cloneTaskDef<T extends JsonValue>(def: T): T {
  return structuredClone(def);
}

function child(obj: JsonValue | undefined, key: string): JsonValue | undefined {
  return isJsonObject(obj) ? obj[key] : undefined;
}

/** `dataset.kwargs`, or undefined when absent. */
export function getDatasetKwargs(def: TaskDef): JsonObject | undefined {
  const kw = child(child(def, 'dataset'), 'kwargs');
  return isJsonObject(kw) ? kw : undefined;
}

/**
 * `dataset.kwargs.segments` as stored (not aligned), or undefined when absent. Call
 * `validateTaskDef` first if the definition is untrusted: this trusts the shape.
 */
export function getSegments(def: TaskDef): Segments | undefined {
  const segs = getDatasetKwargs(def)?.segments;
  return isJsonObject(segs) ? (segs as unknown as Segments) : undefined;
}

/** One segment, or undefined. */
export function getSegment(def: TaskDef, key: string): Segment | undefined {
  return getSegments(def)?.[key];
}

function objectAt(parent: JsonObject, key: string, path: string): JsonObject {
  const existing = parent[key];
  if (existing === undefined) {
    const created: JsonObject = {};
    parent[key] = created;
    return created;
  }
  if (!isJsonObject(existing)) {
    throw new ValidationError([{ path, message: 'must be an object to hold segments' }], { hint: 'dataset is a component {class, kwargs: {segments}}' });
  }
  return existing;
}

/**
 * Sets `dataset.kwargs.segments` to a copy of `segments` (in place, like qlib's
 * `_update_task_segs`), creating `dataset` / `dataset.kwargs` when missing.
 */
export function setSegments(def: TaskDef, segments: Segments): void {
  const kwargs = objectAt(objectAt(def, 'dataset', 'dataset'), 'kwargs', 'dataset.kwargs');
  const copy: JsonObject = {};
  for (const [k, [s, e]] of Object.entries(segments)) copy[k] = [s, e];
  kwargs.segments = copy;
}

/** `dataset.kwargs.handler` (a component object, or a string such as `"file://…pkl"`), or undefined. */
export function getHandler(def: TaskDef): JsonValue | undefined {
  return getDatasetKwargs(def)?.handler;
}

/** `dataset.kwargs.handler.kwargs` when the handler is a component with kwargs; undefined otherwise. */
export function getHandlerKwargs(def: TaskDef): JsonObject | undefined {
  const kw = child(getHandler(def), 'kwargs');
  return isJsonObject(kw) ? kw : undefined;
}

/** The model component, or undefined. */
export function getModel(def: TaskDef): JsonObject | undefined {
  const m = def.model;
  return isJsonObject(m) ? m : undefined;
}

/** `record` as a list (qlib accepts one component or a list). */
export function getRecords(def: TaskDef): JsonObject[] {
  const r = def.record;
  if (r === undefined || r === null) return [];
  const list = Array.isArray(r) ? r : [r];
  return list.filter(isJsonObject);
}

// ---------------------------------------------------------------------------------------------
// Validation

export interface ValidateOptions {
  /** Prefix for every reported path, e.g. `[2]` for the third task of a file. Default: none. */
  path?: string;
  /** Named in the error message, e.g. a file name. Default: none. */
  source?: string;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `BigInt ${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === undefined) return 'undefined';
  const proto: unknown = Object.getPrototypeOf(value);
  const ctor = (proto as { constructor?: { name?: string } } | null)?.constructor?.name;
  return ctor ? `a ${ctor}` : 'an object';
}

/** Every non-JSON value under `value`, with its path: undefined, functions, symbols, NaN/±Infinity, BigInt, cycles, class instances. */
export function findNonJson(value: unknown, path = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const ancestors = new Set<object>();
  const walk = (v: unknown, p: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) issues.push({ path: p, message: `${describe(v)} is not a JSON number` });
      return;
    }
    if (typeof v !== 'object') {
      issues.push({ path: p, message: `${describe(v)} is not a JSON value` });
      return;
    }
    if (ancestors.has(v)) {
      issues.push({ path: p, message: 'is a reference cycle, which JSON cannot represent' });
      return;
    }
    if (Array.isArray(v)) {
      ancestors.add(v);
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) issues.push({ path: joinPath(p, i), message: 'is a hole in a sparse array, which JSON cannot represent' });
        else walk(v[i], joinPath(p, i));
      }
      ancestors.delete(v);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const hint = v instanceof Date ? ' (write days as "YYYY-MM-DD" strings)' : '';
      issues.push({ path: p, message: `${describe(v)} is not a JSON value${hint}` });
      return;
    }
    ancestors.add(v);
    for (const [k, child] of Object.entries(v)) walk(child, joinPath(p, k));
    ancestors.delete(v);
  };
  walk(value, path);
  return issues;
}

class Checker {
  readonly issues: ValidationIssue[] = [];
  constructor(private readonly badPaths: Set<string>) {}

  add(path: string, message: string): void {
    if (!this.badPaths.has(path)) this.issues.push({ path, message });
  }

  /** `{class: string, module_path?: string, kwargs?: object}`; returns whether it is an object. */
  component(value: JsonValue, path: string): value is JsonObject {
    if (!isJsonObject(value)) {
      this.add(path, 'must be a component object {class, module_path?, kwargs?}');
      return false;
    }
    const cls = value.class;
    if (cls === undefined) this.add(joinPath(path, 'class'), 'is required (the class name)');
    else if (typeof cls !== 'string' || cls.trim() === '') this.add(joinPath(path, 'class'), 'must be a non-empty string');
    if (value.module_path !== undefined && typeof value.module_path !== 'string') {
      this.add(joinPath(path, 'module_path'), 'must be a string');
    }
    if (value.kwargs !== undefined && !isJsonObject(value.kwargs)) this.add(joinPath(path, 'kwargs'), 'must be an object');
    return true;
  }

  /** A day bound: a real date or null. Returns the normalised day, null, or undefined when invalid. */
  dateBound(value: JsonValue, path: string): DateBound | undefined {
    if (value === null) return null;
    if (typeof value === 'string') {
      const day = normalizeDay(value);
      if (day !== null) return day;
    }
    this.add(path, `${JSON.stringify(value)} is not a date`);
    return undefined;
  }

  segments(value: JsonValue, path: string): void {
    if (!isJsonObject(value)) {
      this.add(path, 'must be an object of [start, end] pairs, e.g. {"train": ["2008-01-01", "2014-12-31"]}');
      return;
    }
    for (const [key, seg] of Object.entries(value)) {
      const segPath = joinPath(path, key);
      if (!Array.isArray(seg) || seg.length !== 2) {
        this.add(segPath, 'must be a [start, end] pair of dates (null for an open end)');
        continue;
      }
      const start = this.dateBound(seg[0], joinPath(segPath, 0));
      const end = this.dateBound(seg[1], joinPath(segPath, 1));
      if (typeof start === 'string' && typeof end === 'string' && start > end) {
        this.add(segPath, `start ${start} is after end ${end}`);
      }
    }
  }
}

const DEFAULT_HINT = 'dates are real YYYY-MM-DD days (or null for an open end); components are {class, module_path?, kwargs?}';

/**
 * Checks a task definition and returns a normalised copy (segment bounds and handler date kwargs
 * written as `YYYY-MM-DD`; midnight timestamps such as `2020-01-02T00:00:00` are accepted).
 * Checks, where present: the whole value is JSON; `model`/`dataset` are components;
 * `dataset.kwargs.segments` is an object of `[start, end]` day pairs with start ≤ end;
 * `dataset.kwargs.handler` is a component or a string; its `start_time`/`end_time`/`fit_*_time`
 * are days or null; `record` is a component or a list of them. Every problem is collected and one
 * `ValidationError` is thrown; the input is never modified.
 */
export function validateTaskDef(def: unknown, options: ValidateOptions = {}): TaskDef {
  const base = options.path ?? '';
  const jsonIssues = findNonJson(def, base);
  const check = new Checker(new Set(jsonIssues.map((i) => i.path)));
  const fail = (issues: ValidationIssue[]): never => {
    throw new ValidationError(issues, { hint: DEFAULT_HINT, ...(options.source ? { source: options.source } : {}) });
  };
  if (!isJsonObject(def as JsonValue)) {
    fail([...jsonIssues, { path: base, message: `a task definition must be an object, got ${Array.isArray(def) ? 'an array' : describe(def === null ? 'null' : def)}` }]);
  }
  const task = def as JsonObject;
  if (task.model !== undefined) check.component(task.model, joinPath(base, 'model'));
  if (task.dataset !== undefined && check.component(task.dataset, joinPath(base, 'dataset'))) {
    const kwargs = task.dataset.kwargs;
    const kwPath = joinPath(joinPath(base, 'dataset'), 'kwargs');
    if (isJsonObject(kwargs)) {
      if (kwargs.segments !== undefined) check.segments(kwargs.segments, joinPath(kwPath, 'segments'));
      const handler = kwargs.handler;
      const hPath = joinPath(kwPath, 'handler');
      if (handler !== undefined && typeof handler !== 'string' && check.component(handler, hPath) && isJsonObject(handler.kwargs)) {
        for (const key of HANDLER_DATE_KWARGS) {
          const v = handler.kwargs[key];
          if (v !== undefined) check.dateBound(v, joinPath(joinPath(hPath, 'kwargs'), key));
        }
      }
    }
  }
  if (task.record !== undefined && task.record !== null) {
    const rPath = joinPath(base, 'record');
    if (Array.isArray(task.record)) task.record.forEach((r, i) => check.component(r, joinPath(rPath, i)));
    else check.component(task.record, rPath);
  }
  const issues = [...jsonIssues, ...check.issues];
  if (issues.length > 0) fail(issues);
  return normalizeTaskDef(task);
}

/** A copy with segment bounds and handler date kwargs as `YYYY-MM-DD` (assumes a validated definition). */
function normalizeTaskDef(def: JsonObject): TaskDef {
  const out = JSON.parse(JSON.stringify(def)) as TaskDef;
  const kwargs = getDatasetKwargs(out);
  const segs = kwargs?.segments;
  if (isJsonObject(segs)) {
    for (const seg of Object.values(segs)) {
      if (!Array.isArray(seg)) continue;
      for (let i = 0; i < seg.length; i++) {
        const b = seg[i];
        if (typeof b === 'string') seg[i] = normalizeDay(b) ?? b;
      }
    }
  }
  const hk = getHandlerKwargs(out);
  if (hk) {
    for (const key of HANDLER_DATE_KWARGS) {
      const v = hk[key];
      if (typeof v === 'string') hk[key] = normalizeDay(v) ?? v;
    }
  }
  return out;
}

/**
 * The segments a generator needs, with the test segment required: throws a `ValidationError`
 * at `dataset.kwargs.segments[.testKey]` when missing, and requires a test start.
 */
export function requireSegments(def: TaskDef, testKey: string, path = ''): Segments {
  const segsPath = joinPath(joinPath(joinPath(path, 'dataset'), 'kwargs'), 'segments');
  const segs = getSegments(def);
  if (segs === undefined) {
    throw new ValidationError([{ path: segsPath, message: 'is required to generate tasks' }], {
      hint: `give the template dataset.kwargs.segments with a "${testKey}" [start, end] pair`,
    });
  }
  const test = segs[testKey];
  if (test === undefined) {
    throw new ValidationError([{ path: joinPath(segsPath, testKey), message: 'is required to generate tasks' }], {
      hint: `add a "${testKey}" segment, or set the generator's testKey to the segment to roll`,
    });
  }
  if (test[0] === null) {
    throw new ValidationError([{ path: joinPath(joinPath(segsPath, testKey), 0), message: 'the test segment needs a start day' }], {
      hint: 'rolling starts at the test start; null is only allowed for the end',
    });
  }
  return segs;
}

// Loading lives in load.ts; re-exported so callers have one module for task definitions.
export { loadTaskDefs, loadTaskDefsFile, TaskFileError } from './load.ts';
export type { LoadOptions, TaskFileFormat } from './load.ts';
