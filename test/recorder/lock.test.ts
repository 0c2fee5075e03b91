import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ExperimentStore, RecorderError } from '../../src/index.ts';
import { withLockFile } from '../../src/recorder/fsAtomic.ts';
import { tempRoot } from './helpers.ts';

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('experiment lock: a lock left by a dead process on this host is taken over at once', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const lock = join(store.root, '.qtask-experiments.lock');
  writeFileSync(lock, `${deadPid()}@${hostname()}`);
  const t0 = Date.now();
  store.createExperiment('after-crash');
  assert.ok(Date.now() - t0 < 10_000);
  assert.ok(!existsSync(lock), 'the lock is released');
  assert.deepEqual(readdirSync(store.root).filter((f) => f.includes('.stale-')), []);
});

test('experiment lock: a live holder makes others wait, then time out with MLRUNS_LOCK; an old lock from another host is taken over', () => {
  const dir = dirname(tempRoot());
  const lock = join(dir, 'x.lock');
  writeFileSync(lock, `${process.pid}@${hostname()}`);
  assert.throws(
    () => withLockFile(lock, () => 1, { timeoutMs: 300 }),
    (e: unknown) => e instanceof RecorderError && e.code === 'MLRUNS_LOCK' && e.path === lock && !!e.hint,
  );
  writeFileSync(lock, '999999@another-host');
  assert.throws(() => withLockFile(lock, () => 1, { timeoutMs: 200, staleMs: 60_000 }), (e: unknown) => (e as RecorderError).code === 'MLRUNS_LOCK');
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock, old, old);
  assert.equal(withLockFile(lock, () => 42, { timeoutMs: 5_000, staleMs: 60_000 }), 42);
  assert.ok(!existsSync(lock));
});
