import { TaskFunctionError } from '../errors.ts';
import type { JsonValue } from '../task/types.ts';

/**
 * Why `value` is not a JSON value, with the path of the first offending part, or null when it is
 * one. Stricter than `JSON.stringify`, which silently turns NaN into null and drops undefined:
 * a stored result must read back exactly as it was returned.
 */
export function findNonJson(value: unknown, path = 'res'): { path: string; problem: string } | null {
  const seen = new Set<object>();
  const walk = (v: unknown, p: string): { path: string; problem: string } | null => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : { path: p, problem: `${v} is not a JSON number` };
    if (typeof v === 'bigint') return { path: p, problem: 'a BigInt is not JSON (convert it to a string or number)' };
    if (v === undefined) return { path: p, problem: 'undefined is not JSON (use null)' };
    if (typeof v === 'function') return { path: p, problem: 'a function is not JSON' };
    if (typeof v === 'symbol') return { path: p, problem: 'a symbol is not JSON' };
    const obj = v as object;
    if (seen.has(obj)) return { path: p, problem: 'cyclic reference' };
    if (Array.isArray(obj)) {
      seen.add(obj);
      for (let i = 0; i < obj.length; i++) {
        const bad = walk(obj[i], `${p}[${i}]`);
        if (bad) return bad;
      }
      seen.delete(obj);
      return null;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return { path: p, problem: `a ${kind} is not a plain JSON object` };
    }
    seen.add(obj);
    for (const [k, child] of Object.entries(obj)) {
      const bad = walk(child, `${p}.${k}`);
      if (bad) return bad;
    }
    seen.delete(obj);
    return null;
  };
  return walk(value, path);
}

/** Returns `value` typed as JSON, or throws `TaskFunctionError` code `RESULT_NOT_JSON` with the path. */
export function assertJsonResult(value: unknown, path = 'res'): JsonValue {
  const bad = findNonJson(value, path);
  if (bad) {
    throw new TaskFunctionError('RESULT_NOT_JSON', `task result is not JSON: ${bad.problem}`, {
      path: bad.path,
      hint: 'return plain objects, arrays, strings, finite numbers, booleans and null',
    });
  }
  return value as JsonValue;
}
