/** The provider's shared column store: columns carved from SharedArrayBuffer chunks never overlap, and a snapshot adopted elsewhere sees the same values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptColumns, SharedColumnStore } from '../../src/data/provider/sharedColumns.ts';
import type { StoredSeries } from '../../src/data/provider/binFile.ts';

test('columns longer than a chunk get their own; small ones after them never land inside one', () => {
  const store = new SharedColumnStore();
  const cache = new Map<string, StoredSeries | null>();
  const put = (key: string, n: number, fill: number): Float64Array => {
    const values = store.alloc(n).fill(fill);
    const series = { startIdx: 7, values };
    cache.set(key, series);
    store.record(key, series);
    return values;
  };
  const small1 = put('a', 1_000, 1);
  const long = put('long', 1_200_000, 2); // 9.6 MB: longer than a chunk
  const small2 = put('b', 1_000, 3);
  const small3 = put('c', 500_000, 4);
  const small4 = put('d', 700_000, 5); // does not fit in the first chunk's rest: a new chunk
  store.record('gone', null);
  for (const [arr, v] of [[small1, 1], [long, 2], [small2, 3], [small3, 4], [small4, 5]] as const) assert.ok(arr.every((x) => x === v), `value ${v} overwritten`);
  const adopted = new Map<string, StoredSeries | null>();
  adoptColumns(adopted, structuredClone(store.snapshot()));
  assert.equal(adopted.get('gone'), null);
  for (const key of ['a', 'long', 'b', 'c', 'd']) {
    const mine = cache.get(key) as StoredSeries;
    const theirs = adopted.get(key) as StoredSeries;
    assert.equal(theirs.startIdx, 7);
    assert.deepEqual(theirs.values, mine.values);
    mine.values[0] = -1; // shared memory: a write here shows there
    assert.equal(theirs.values[0], -1);
  }
});
