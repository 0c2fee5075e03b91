/**
 * Data worker threads are pooled between fetches (src/data/handler/parallel.ts): a second fetch
 * reuses the same worker and gives the same panel, a pooled worker that exited is replaced, one that
 * dies during a fetch still ends it with DATA_WORKER_DIED and empties the pool, and pooled workers
 * never keep the process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pooledWorkersForTests } from '../../src/data/handler/parallel.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { synthMarket } from '../../src/data/synth/synth.ts';
import { QtaskError } from '../../src/errors.ts';
import { assertSameColumns, fullGridFetch } from './parallel-helpers.ts';

const EXPRS = ['$close', 'Mean($close, 5)', 'Std($close, 20)', 'Corr($close, $volume, 10)'];
const CHILD_ENV = 'QTASK_TEST_WORKER_POOL_CHILD';

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

if (process.env[CHILD_ENV]) {
  // Child: one parallel fetch, then the script ends; pooled workers must not keep it alive.
  const p = new LocalProvider(process.env[CHILD_ENV] as string);
  fullGridFetch(p, EXPRS, 2);
  process.stdout.write(`pooled ${pooledWorkersForTests().length}\n`);
} else {
  test('pooled workers: reused by the next fetch, replaced after exiting, dropped when one dies mid-fetch; same panel every time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtask-pool-'));
    try {
      synthMarket({ targetDir: dir, instruments: 160, start: '2020-01-01', end: '2020-12-31', seed: 9 });
      const p = new LocalProvider(dir);
      const one = fullGridFetch(p, EXPRS, 1);

      assertSameColumns(one, fullGridFetch(p, EXPRS, 2), 'first pooled fetch');
      assert.equal(pooledWorkersForTests().length, 1);
      const first = pooledWorkersForTests()[0];
      assertSameColumns(one, fullGridFetch(p, EXPRS, 2), 'second fetch');
      assert.equal(pooledWorkersForTests()[0], first, 'the second fetch reused the pooled worker');

      // A pooled worker that exits between fetches leaves the pool and is replaced.
      await first?.terminate();
      assert.ok(await until(() => pooledWorkersForTests().length === 0, 30_000), 'an exited worker left the pool');
      assertSameColumns(one, fullGridFetch(p, EXPRS, 2), 'fetch after the pooled worker exited');
      assert.equal(pooledWorkersForTests().length, 1);
      assert.notEqual(pooledWorkersForTests()[0], first);

      // A pooled worker that dies mid-fetch (process.exit in the worker) is reported as today.
      let caught: unknown = null;
      try {
        fullGridFetch(p, EXPRS, 2, { faults: ['exit'] });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof QtaskError, `expected DATA_WORKER_DIED, got ${String(caught)}`);
      assert.equal(caught.code, 'DATA_WORKER_DIED');
      assert.equal(pooledWorkersForTests().length, 0, 'a failed fetch empties the pool');
      assertSameColumns(one, fullGridFetch(p, EXPRS, 2), 'fetch after the failure');

      // A worker that throws hands its block back and stays pooled.
      const before = pooledWorkersForTests()[0];
      assertSameColumns(one, fullGridFetch(p, EXPRS, 2, { faults: ['throw'] }), 'fetch with a throwing worker');
      assert.equal(pooledWorkersForTests()[0], before);
      assertSameColumns(one, fullGridFetch(p, EXPRS, 2), 'fetch after the throw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('pooled worker threads do not keep the process alive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtask-pool-exit-'));
    try {
      synthMarket({ targetDir: dir, instruments: 130, start: '2020-01-01', end: '2020-06-30', seed: 2 });
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, [CHILD_ENV]: dir, QTASK_DATA_THREADS: '' },
        encoding: 'utf8',
        timeout: 120_000,
        killSignal: 'SIGKILL',
      });
      assert.equal(r.signal, null, `the child was killed at the deadline (kept alive by a pooled worker?); stderr: ${r.stderr}`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^pooled 1$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
