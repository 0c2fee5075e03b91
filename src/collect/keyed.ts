/**
 * Python dicts keyed by tuples, for TypeScript: qlib's collectors key predictions by tuples such as
 * `("LGBModel", ("2017-01-03", "2019-04-08"))`. A `KeyedDict` keeps insertion order (as a dict does)
 * and compares keys by value (their JSON text), so array keys behave like tuples.
 */
import { CollectError } from './errors.ts';

/** A key part: a string, number, boolean, null, or a tuple (array) of parts. */
export type KeyPart = string | number | boolean | null | readonly KeyPart[];
/** A dict key; an array is a tuple. */
export type Key = KeyPart;

export function isTupleKey(k: Key): k is readonly KeyPart[] {
  return Array.isArray(k);
}

/** The identity of a key: equal keys (by value) give equal strings. */
export function keyId(k: Key): string {
  return JSON.stringify(k);
}

export function assertKey(k: unknown, path: string): asserts k is Key {
  const ok = (v: unknown): boolean =>
    v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.every(ok));
  if (!ok(k)) {
    throw new CollectError('REC_KEY', `${path} is not a key: ${String(k)}`, { path, hint: 'keys are strings, finite numbers, booleans, null, or arrays of these (tuples)' });
  }
}

export class KeyedDict<V> {
  private readonly items = new Map<string, [Key, V]>();

  constructor(entries: Iterable<readonly [Key, V]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.items.size;
  }

  /** Sets the value; a new key goes last, an existing key keeps its place (dict semantics). */
  set(key: Key, value: V): this {
    this.items.set(keyId(key), [key, value]);
    return this;
  }

  get(key: Key): V | undefined {
    return this.items.get(keyId(key))?.[1];
  }

  has(key: Key): boolean {
    return this.items.has(keyId(key));
  }

  /** The value at `key`, created by `make` when missing (Python's `setdefault`). */
  setDefault(key: Key, make: () => V): V {
    const id = keyId(key);
    const hit = this.items.get(id);
    if (hit) return hit[1];
    const v = make();
    this.items.set(id, [key, v]);
    return v;
  }

  keys(): Key[] {
    return [...this.items.values()].map((e) => e[0]);
  }

  values(): V[] {
    return [...this.items.values()].map((e) => e[1]);
  }

  entries(): [Key, V][] {
    return [...this.items.values()].map(([k, v]) => [k, v]);
  }

  [Symbol.iterator](): IterableIterator<[Key, V]> {
    return this.entries()[Symbol.iterator]();
  }
}

export function isKeyedDict(v: unknown): v is KeyedDict<unknown> {
  return v instanceof KeyedDict;
}
