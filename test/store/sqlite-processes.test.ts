/**
 * Two real processes against one SQLite file: concurrent creators must not duplicate definitions
 * and must agree on ids; concurrent claimers must never get the same task.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';

const CHILD = fileURLToPath(new URL('./fixtures/storeProcess.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qtask-procs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runChild(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

/** Children start ~3 s from now: enough for both to load tsx on a busy 2-core machine. */
const startAt = (): string => String(Date.now() + 3000);

describe('SQLite store across processes', () => {
  it('a SIGKILLed worker\'s task is reclaimed after its lease and the dead worker is fenced out', async () => {
    const db = join(dir, 'kill.db');
    const setup = new SqliteTaskStore(db);
    const { ids } = await setup.createTasks('p', [{ job: 'long' }]);
    await setup.close();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hang', db, 'p', '0', 'doomed', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('error', reject);
    });
    const { lease } = JSON.parse(line) as { lease: { taskId: string; token: string; worker: string } };
    assert.equal(lease.taskId, ids[0]);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const store = new SqliteTaskStore(db);
    try {
      assert.equal((await store.get('p', ids[0]!))?.status, 'running', 'the killed worker left it running');
      const deadline = Date.now() + 15_000;
      let retaken = await store.claim('p', { worker: 'rescuer', leaseMs: 60_000 });
      while (retaken === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        retaken = await store.claim('p', { worker: 'rescuer', leaseMs: 60_000 });
      }
      assert.ok(retaken, 'reclaimed after the lease ran out');
      assert.equal(retaken.task._id, ids[0]);
      assert.equal(retaken.lease.attempt, 2);
      assert.equal(retaken.task.lastError?.code, 'LEASE_EXPIRED');
      assert.equal(retaken.task.lastError?.worker, 'doomed');
      await assert.rejects(store.commit('p', { ...retaken.lease, token: lease.token, worker: 'doomed', attempt: 1, expiresAt: '' }, 'zombie'), (e: { code?: string }) => e.code === 'LEASE_LOST');
      await store.commit('p', retaken.lease, 'rescued');
      assert.equal((await store.get('p', ids[0]!))?.res, 'rescued');
    } finally {
      await store.close();
    }
  });

  it('concurrent creators with overlapping batches: no duplicates, same ids', async () => {
    const db = join(dir, 'create.db');
    new SqliteTaskStore(db).close();
    const at = startAt();
    const [a, b] = (await Promise.all([
      runChild(['create', db, 'p', at, '0', '1500', '50']),
      runChild(['create', db, 'p', at, '500', '2000', '50']),
    ])) as { created: number; ids: Record<string, string> }[];
    const store = new SqliteTaskStore(db);
    try {
      const all = await store.find('p');
      assert.equal(all.length, 2000, 'one task per distinct definition');
      assert.equal(a!.created + b!.created, 2000, 'each definition created exactly once');
      for (let k = 500; k < 1500; k++) assert.equal(a!.ids[k], b!.ids[k], `both processes got the same id for key ${k}`);
      const byKey = new Map(all.map((d) => [String((d.def['model'] as { kwargs: { k: number } }).kwargs.k), d._id]));
      for (const [k, id] of [...Object.entries(a!.ids), ...Object.entries(b!.ids)]) assert.equal(byKey.get(k), id);
    } finally {
      await store.close();
    }
  });

  it('concurrent claimers: every task claimed exactly once', async () => {
    const db = join(dir, 'claim.db');
    const setup = new SqliteTaskStore(db);
    await setup.createTasks('p', Array.from({ length: 600 }, (_, i) => ({ i })));
    await setup.close();
    const at = startAt();
    const [a, b] = (await Promise.all([runChild(['claim', db, 'p', at, 'wa']), runChild(['claim', db, 'p', at, 'wb'])])) as {
      claimed: string[];
    }[];
    const both = [...a!.claimed, ...b!.claimed];
    assert.equal(both.length, 600);
    assert.equal(new Set(both).size, 600, 'no task claimed twice');
    const store = new SqliteTaskStore(db);
    try {
      assert.deepEqual(await store.stat('p'), { done: 600 });
      assert.deepEqual(await store.stat('p', { attempts: { $ne: 1 } }), {});
      const byA = new Set(a!.claimed);
      for (const doc of await store.find('p')) assert.deepEqual(doc.res, { by: byA.has(doc._id) ? 'wa' : 'wb' });
    } finally {
      await store.close();
    }
  });
});
