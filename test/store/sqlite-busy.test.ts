/**
 * Waiting for another process's write lock (src/store/sqlite/busy.ts): a real second process
 * holds a write transaction; the store waits for it within busyTimeoutMs, or gives up with
 * STORE_BUSY and changes nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { retryWhileBusy } from '../../src/store/sqlite/busy.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qtask-busy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Generous on a loaded 2-core machine: the parent must be inside its claim while this runs. */
const HOLD_MS = 2500;

/** A process that takes the write lock, says so, holds it for `holdMs`, then commits and exits. */
async function holdWriteLock(db: string, holdMs: number): Promise<{ child: ChildProcess; done: Promise<number | null> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 10000 });
    db.exec('BEGIN IMMEDIATE');
    db.prepare("UPDATE tasks SET priority = priority WHERE 0").run();
    process.stdout.write('locked\\n');
    const until = Date.now() + Number(process.argv[2]);
    while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    db.exec('COMMIT');
    db.close();`;
  const child = spawn(process.execPath, ['-e', script, db, String(holdMs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code} before locking`)));
  });
  return { child, done };
}

describe('SQLite store: waiting for another process\'s lock', () => {
  it('a claim waits for the holder to commit, then succeeds', async () => {
    const db = join(dir, 'wait.db');
    const store = new SqliteTaskStore(db);
    try {
      const { ids } = await store.createTasks('p', [{ k: 1 }]);
      const holder = await holdWriteLock(db, HOLD_MS);
      const t0 = performance.now();
      const claimed = await store.claim('p', { worker: 'w', leaseMs: 60_000 });
      const waited = performance.now() - t0;
      assert.equal(claimed?.task._id, ids[0]);
      assert.ok(store.busyStats.retries > 0, 'the claim found the database locked and retried');
      assert.ok(waited > 100, `the claim waited for the holder (${waited.toFixed(0)} ms)`);
      assert.equal(await holder.done, 0);
      await store.commit('p', claimed!.lease, { ok: true });
      assert.equal((await store.get('p', ids[0]!))?.status, 'done');
    } finally {
      await store.close();
    }
  });

  it('past busyTimeoutMs a write fails with STORE_BUSY and changes nothing', async () => {
    const db = join(dir, 'timeout.db');
    const setup = new SqliteTaskStore(db);
    const { ids } = await setup.createTasks('p', [{ k: 1 }]);
    await setup.close();
    const store = new SqliteTaskStore(db, { busyTimeoutMs: 200 });
    try {
      const holder = await holdWriteLock(db, HOLD_MS);
      const t0 = performance.now();
      await assert.rejects(store.claim('p', { worker: 'w', leaseMs: 60_000 }), (e: { code?: string; hint?: string }) => {
        assert.equal(e.code, 'STORE_BUSY');
        assert.match(e.hint ?? '', /busyTimeoutMs/);
        return true;
      });
      const gaveUpAfter = performance.now() - t0;
      assert.ok(gaveUpAfter >= 190 && gaveUpAfter < HOLD_MS, `gave up after the timeout, not after the holder (${gaveUpAfter.toFixed(0)} ms)`);
      await assert.rejects(store.createTasks('p', [{ k: 2 }]), (e: { code?: string }) => e.code === 'STORE_BUSY');
      assert.equal(await holder.done, 0);
      const tasks = await store.find('p', {});
      assert.deepEqual(
        tasks.map((t) => [t._id, t.status, t.attempts]),
        [[ids[0], 'waiting', 0]],
        'the failed claim and create left the pool as it was',
      );
    } finally {
      await store.close();
    }
  });

  it('retryWhileBusy retries only SQLITE_BUSY*, counts the retries, and gives up at the deadline', () => {
    let calls = 0;
    const stats = { retries: 0, waitedMs: 0 };
    const value = retryWhileBusy(
      () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('database is locked'), { code: calls === 1 ? 'SQLITE_BUSY' : 'SQLITE_BUSY_SNAPSHOT' });
        return 'ok';
      },
      1000,
      stats,
    );
    assert.equal(value, 'ok');
    assert.equal(calls, 3);
    assert.equal(stats.retries, 2);

    let other = 0;
    assert.throws(
      () =>
        retryWhileBusy(() => {
          other++;
          throw Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
        }, 1000),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_UNIQUE',
    );
    assert.equal(other, 1, 'other errors are not retried');

    const t0 = performance.now();
    assert.throws(
      () =>
        retryWhileBusy(() => {
          throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        }, 50),
      (e: { code?: string }) => e.code === 'STORE_BUSY',
    );
    assert.ok(performance.now() - t0 >= 49, 'kept trying until the deadline');
  });
});
