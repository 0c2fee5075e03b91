/**
 * A task function that blocks the event loop (synchronous work in the worker's own process) past the
 * safe part of its lease: no heartbeat could be sent and the deadline timer could not fire, yet the
 * next look at `ctx.signal.aborted` must say the lease is gone, and the result must not be stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTask } from '../../src/run/runTask.ts';
import type { TaskContext } from '../../src/run/types.ts';
import type { JsonValue } from '../../src/task/types.ts';
import { tempStore } from './helpers.ts';

function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('a synchronous stretch longer than the safe part of the lease: ctx.signal.aborted is true right after it, and the result is not committed', async () => {
  const t = await tempStore();
  try {
    await t.store.createTasks('p', [{ n: 1 }]);
    const seen: { before: boolean; after: boolean } = { before: true, after: false };
    await runTask((_def: JsonValue, ctx: TaskContext) => {
      seen.before = ctx.signal.aborted;
      blockFor(1_800); // lease 2000 ms: safe part 1500 ms
      seen.after = ctx.signal.aborted;
      return 'finished anyway';
    }, { store: t.store, pool: 'p', leaseMs: 2_000, maxAttempts: 1, logger: { info: () => {}, warn: () => {} } });
    assert.equal(seen.before, false, 'the lease is fine before the stretch');
    assert.equal(seen.after, true, 'the lease is known lost right after it, with no timer having run');
    const [doc] = await t.store.find('p', {});
    assert.notEqual(doc!.status, 'done', 'the late result was not stored');
    assert.notEqual(doc!.res, 'finished anyway');
  } finally {
    await t.cleanup();
  }
});
