/** runWorker embedded in-process, and runTask when the store itself goes away mid-task. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError } from '../../src/errors.ts';
import { runTask } from '../../src/run/runTask.ts';
import type { RunEvent } from '../../src/run/types.ts';
import { runWorker } from '../../src/run/worker.ts';
import { tempStore, type TempStore } from './helpers.ts';

let t: TempStore;
before(async () => {
  t = await tempStore('qtask-loop-');
});
after(async () => {
  await t.cleanup();
});

describe('runWorker (in-process)', () => {
  it('drains the pool, returns stats and the summary line, leaves a given store open', async () => {
    await t.store.createTasks('emb', [{ a: 1 }, { a: 2 }, { a: 3 }]);
    const lines: string[] = [];
    const result = await runWorker({
      store: t.store,
      pool: 'emb',
      taskFn: 'qtask:echo',
      worker: 'w1',
      handleSignals: false,
      logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    assert.equal(result.exitCode, 0);
    assert.deepEqual(result.stats, { ran: 3, succeeded: 3, failed: 0, released: 0, returned: 0, leaseLost: 0 });
    assert.match(result.summary, /^worker w1: 3 done, 0 failed, 0 returned in \d+\.\ds$/);
    assert.equal(lines.at(-1), result.summary);
    assert.equal(lines.filter((l) => / done \(attempt 1, /.test(l)).length, 3, 'one progress line per task');
    assert.deepEqual(await t.store.stat('emb'), { done: 3 }, 'store still usable (not closed by the worker)');
  });

  it('signal stops an idle worker that waits for tasks held elsewhere', async () => {
    await t.store.createTasks('held', [{ h: 1 }]);
    assert.ok(await t.store.claim('held', { worker: 'other', leaseMs: 60_000 }));
    const stop = new AbortController();
    const pending = runWorker({ store: t.store, pool: 'held', taskFn: 'qtask:echo', handleSignals: false, pollMs: 50, signal: stop.signal, logger: { info: () => {}, warn: () => {} } });
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const result = await pending;
    assert.equal(result.stats.ran, 0);
    assert.deepEqual(await t.store.stat('held'), { running: 1 });
  });
});

describe('runTask when heartbeats fail', () => {
  it('keeps trying, then fences itself once its lease deadline passed (ctx.signal fires), and surfaces the store error', async () => {
    const { openStore } = await import('../../src/store/url.ts');
    const own = await openStore(t.url);
    await own.createTasks('hb', [{ x: 1 }]);
    const events: RunEvent[] = [];
    let reason: unknown;
    const run = runTask(
      async (_def, ctx) => {
        // The store goes away under the running task.
        await own.close();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        reason = ctx.signal.reason;
        return 'never stored';
      },
      { store: own, pool: 'hb', leaseMs: 400, heartbeatMs: 100, onEvent: (e) => events.push(e) },
    );
    await assert.rejects(run, 'the next claim fails on the closed store');
    assert.ok(reason instanceof LeaseLostError, String(reason));
    assert.match((reason as Error).message, /expired while heartbeats failed/);
    assert.ok(events.some((e) => e.type === 'heartbeat_error'));
    const finished = events.find((e) => e.type === 'finished');
    assert.equal(finished?.type === 'finished' && finished.outcome, 'lease_lost');
    const doc = (await t.store.find('hb', {}))[0];
    assert.equal(doc?.status, 'running', 'nothing was written after the store went away');
    assert.equal(doc?.res, undefined);
  });
});
