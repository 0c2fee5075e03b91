import type { TaskFilter } from '../types.ts';
import { matchesCondition } from './match.ts';
import { parseFilter } from './parse.ts';

export { parseFilter, SUPPORTED_OPERATORS } from './parse.ts';
export type { Condition, FieldOp, CompareOp } from './parse.ts';
export { matchesCondition, valueEquals } from './match.ts';
export { compileFilter } from './sql.ts';
export type { CompiledFilter } from './sql.ts';

/** Validates `filter` (throwing `QueryError`) and tests one task document against it with MongoDB's rules. */
export function matchesFilter(doc: unknown, filter: TaskFilter): boolean {
  return matchesCondition(doc, parseFilter(filter));
}

/**
 * Returns a predicate for many documents (validation and parsing done once). Backends without a
 * query engine of their own, and tests, use it.
 */
export function compileMatcher(filter: TaskFilter): (doc: unknown) => boolean {
  const cond = parseFilter(filter);
  return (doc) => matchesCondition(doc, cond);
}

const regexCache = new Map<string, RegExp>();

/** Implementation of the `qtask_regexp(source, flags, value)` SQL function the compiler emits. */
export function sqlRegexp(source: unknown, flags: unknown, value: unknown): number {
  if (typeof value !== 'string' || typeof source !== 'string' || typeof flags !== 'string') return 0;
  const key = `${flags}/${source}`;
  let re = regexCache.get(key);
  if (re === undefined) {
    if (regexCache.size > 256) regexCache.clear();
    re = new RegExp(source, flags);
    regexCache.set(key, re);
  }
  return re.test(value) ? 1 : 0;
}
