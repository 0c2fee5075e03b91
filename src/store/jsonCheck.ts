import { TaskFunctionError } from '../errors.ts';
import type { JsonValue } from '../task/types.ts';

/**
 * Throws `TaskFunctionError` code `RESULT_NOT_JSON` (with the path of the first bad value) unless
 * `value` survives a JSON round trip unchanged: no BigInt, cycles, NaN/Infinity, undefined,
 * functions, symbols or class instances (Date, Map, typed arrays…), which JSON.stringify would
 * silently drop or reshape.
 */
export function assertJsonValue(value: unknown, root = 'res'): asserts value is JsonValue {
  const seen = new Set<object>();
  const fail = (path: string, what: string, hint: string): never => {
    throw new TaskFunctionError('RESULT_NOT_JSON', `result is not JSON: ${what} at ${path}`, { path, hint });
  };
  const walk = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) fail(path, String(v), 'replace NaN/Infinity with null or a string');
        return;
      case 'bigint':
        return fail(path, 'a BigInt', 'convert BigInt to a number or a string');
      case 'undefined':
        return fail(path, 'undefined', 'use null, or leave the key out');
      case 'function':
      case 'symbol':
        return fail(path, `a ${typeof v}`, 'results must be plain JSON data');
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) fail(path, 'a cycle', 'results must be trees, not graphs');
        if (Array.isArray(v)) {
          seen.add(v);
          for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`);
          seen.delete(v);
          return;
        }
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          fail(path, `a ${name} instance`, 'convert it to plain objects/arrays (dates to ISO strings)');
        }
        seen.add(v);
        for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`);
        seen.delete(v);
        return;
      }
    }
  };
  walk(value, root);
}
