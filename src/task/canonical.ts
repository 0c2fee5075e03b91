import { createHash } from 'node:crypto';
import type { JsonValue, TaskDef } from './types.ts';

const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?$/;

/**
 * Canonical form of a JSON value: object keys sorted, midnight timestamps (`2020-01-02T00:00:00`,
 * `2020-01-02 00:00:00Z`) normalised to `2020-01-02`, `-0` to `0`. Arrays keep their order.
 * Two definitions that differ only in key order or date spelling have the same canonical form.
 */
export function canonicalize(value: JsonValue): JsonValue {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (typeof value === 'string') {
    const m = DATE_PREFIX.exec(value);
    return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
  }
  if (Array.isArray(value)) return value.map(canonicalize);
  const out: { [k: string]: JsonValue } = {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v === undefined) continue;
    out[key] = canonicalize(v);
  }
  return out;
}

/** Canonical JSON text: the canonical form serialised with no whitespace. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(canonicalize(value));
}

/** SHA-256 (hex) of the canonical JSON: a task's identity within a pool. */
export function taskHash(def: TaskDef): string {
  return createHash('sha256').update(canonicalJson(def)).digest('hex');
}
