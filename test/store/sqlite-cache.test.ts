/** The SQLite store's page cache: small for claims, raised for one large createTasks and restored after. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'qtask-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite store page cache', () => {
  it('defaults to 2 MiB, honours cacheSizeKiB, ignores a non-number', async () => {
    const a = new SqliteTaskStore(join(dir, 'a.db'));
    const b = new SqliteTaskStore(join(dir, 'b.db'), { cacheSizeKiB: 8192 });
    const c = new SqliteTaskStore(join(dir, 'c.db'), { cacheSizeKiB: Number.NaN });
    try {
      assert.equal(a.database.pragma('cache_size', { simple: true }), -2048);
      assert.equal(b.database.pragma('cache_size', { simple: true }), -8192);
      assert.equal(c.database.pragma('cache_size', { simple: true }), -2048);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('a large createTasks runs with a larger cache, restores it, and creates every task', async () => {
    const store = new SqliteTaskStore(join(dir, 'batch.db'));
    try {
      const defs = Array.from({ length: 5000 }, (_, i) => ({ model: { class: 'M' }, i }));
      const r = await store.createTasks('p', defs);
      assert.equal(r.created, 5000);
      assert.equal(new Set(r.ids).size, 5000);
      assert.equal(store.database.pragma('cache_size', { simple: true }), -2048, 'restored after the batch');
      await assert.rejects(store.createTasks('p', [{ ok: 1 }, { bad: 1n } as never]), (e: { code?: string }) => e.code === 'VALIDATION');
      assert.equal(store.database.pragma('cache_size', { simple: true }), -2048, 'restored after a failed batch');
      assert.equal((await store.stat('p')).waiting, 5000);
    } finally {
      await store.close();
    }
  });
});
