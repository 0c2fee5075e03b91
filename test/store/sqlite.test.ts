import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { openStore, redactUrl } from '../../src/store/url.ts';
import { storeConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'qtask-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

storeConformance('sqlite file', async () => openStore(`sqlite:${join(dir, 'conformance.db')}`));
storeConformance('sqlite :memory:', async () => openStore('sqlite::memory:'));

describe('SQLite store specifics', () => {
  it('opens in WAL mode with synchronous=NORMAL and the claim index', async () => {
    const store = new SqliteTaskStore(join(dir, 'pragmas.db'));
    try {
      assert.equal(store.database.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.database.pragma('synchronous', { simple: true }), 1);
      const plan = store.database
        .prepare(`EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE pool = 'p' AND status = 'waiting' ORDER BY priority DESC, created_at ASC, id ASC LIMIT 1`)
        .all() as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join(' | '), /USING (COVERING )?INDEX tasks_claim/);
      assert.doesNotMatch(plan.map((p) => p.detail).join(' | '), /TEMP B-TREE/, 'the index serves the ORDER BY');
    } finally {
      await store.close();
    }
  });

  it('a closed store refuses work with STORE_CLOSED; closing twice is fine', async () => {
    const store = new SqliteTaskStore(':memory:');
    await store.close();
    await store.close();
    await assert.rejects(store.find('p'), (e: { code?: string }) => e.code === 'STORE_CLOSED');
    await assert.rejects(store.claim('p', { worker: 'w', leaseMs: 1000 }), (e: { code?: string }) => e.code === 'STORE_CLOSED');
  });

  it('persists across reopen', async () => {
    const file = join(dir, 'reopen.db');
    const s1 = await openStore(`sqlite:${file}`);
    const { ids } = await s1.createTasks('p', [{ k: 1 }]);
    await s1.close();
    const s2 = await openStore(`sqlite:${file}`);
    assert.deepEqual((await s2.get('p', ids[0]!))?.def, { k: 1 });
    await s2.close();
  });

  it('a missing directory is STORE_OPEN with path and hint, and creates nothing', async () => {
    const missing = join(dir, 'no-such-dir', 'x.db');
    await assert.rejects(openStore(`sqlite:${missing}`), (e: { code?: string; path?: string; hint?: string }) => {
      assert.equal(e.code, 'STORE_OPEN');
      assert.equal(e.path, missing);
      assert.match(e.hint ?? '', /mkdir/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'no-such-dir')), false);
  });

  it('a directory in place of the file is STORE_OPEN', async () => {
    await assert.rejects(openStore(`sqlite:${dir}`), (e: { code?: string }) => e.code === 'STORE_OPEN');
  });

  it('a file that is not a database is STORE_CORRUPT, and is left untouched', async () => {
    const sub = mkdtempSync(join(dir, 'corrupt-'));
    const file = join(sub, 'not-a-db.db');
    const junk = 'this is not a sqlite database, just text. '.repeat(100);
    writeFileSync(file, junk);
    await assert.rejects(openStore(`sqlite:${file}`), (e: { code?: string; path?: string; hint?: string }) => {
      assert.equal(e.code, 'STORE_CORRUPT');
      assert.equal(e.path, file);
      assert.ok(e.hint);
      return true;
    });
    assert.deepEqual(readdirSync(sub), ['not-a-db.db'], 'no -wal/-shm files left behind');
  });

  it('unknown URL schemes are STORE_URL with a hint listing the schemes; credentials are redacted', async () => {
    await assert.rejects(openStore('postgres://u:secret@h/db'), (e: { code?: string; message: string; hint?: string }) => {
      assert.equal(e.code, 'STORE_URL');
      assert.doesNotMatch(e.message, /secret/);
      assert.match(e.hint ?? '', /sqlite:PATH/);
      assert.match(e.hint ?? '', /mongodb:\/\//);
      return true;
    });
    await assert.rejects(openStore('sqlite:'), (e: { code?: string }) => e.code === 'STORE_URL');
    assert.equal(redactUrl('mongodb://alice:s3cret@db.example:27017/qtask?authSource=admin'), 'mongodb://alice:***@db.example:27017/qtask?authSource=admin');
    assert.equal(redactUrl('mongodb+srv://token@cluster.example/qtask'), 'mongodb+srv://***@cluster.example/qtask');
    assert.equal(redactUrl('sqlite:./qtask.db'), 'sqlite:./qtask.db');
  });

  it('uses QTASK_STORE when no URL is given', async () => {
    const file = join(dir, 'env.db');
    const saved = process.env.QTASK_STORE;
    process.env.QTASK_STORE = `sqlite:${file}`;
    try {
      const store = await openStore();
      assert.equal(store.url, `sqlite:${file}`);
      await store.close();
      assert.ok(existsSync(file));
    } finally {
      if (saved === undefined) delete process.env.QTASK_STORE;
      else process.env.QTASK_STORE = saved;
    }
  });
});
