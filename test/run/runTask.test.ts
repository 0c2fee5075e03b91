import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError, NonRetryableError, ValidationError } from '../../src/errors.ts';
import { runTask } from '../../src/run/runTask.ts';
import { emptyStats, type RunEvent, type TaskContext } from '../../src/run/types.ts';
import type { JsonValue } from '../../src/task/types.ts';
import { TASKS, tempStore, waitUntil, type TempStore } from './helpers.ts';

let t: TempStore;
let poolSeq = 0;
const newPool = () => `p${++poolSeq}`;

before(async () => {
  t = await tempStore();
});
after(async () => {
  await t.cleanup();
});

async function seed(pool: string, n: number, extra: Record<string, JsonValue> = {}): Promise<string[]> {
  const defs = Array.from({ length: n }, (_, i) => ({ x: i, ...extra }));
  const { ids } = await t.store.createTasks(pool, defs);
  return ids as string[];
}

const xOf = (v: JsonValue | undefined): number => (v && typeof v === 'object' && !Array.isArray(v) && typeof v.x === 'number' ? v.x : NaN);

describe('runTask: the four (before → after) combinations', () => {
  it('waiting → done: the fn gets def, the result is committed', async () => {
    const pool = newPool();
    const ids = await seed(pool, 3);
    const stats = emptyStats();
    const ran = await runTask((def) => ({ x: xOf(def) * 10 }), { store: t.store, pool, stats });
    assert.equal(ran, true);
    for (const [i, id] of ids.entries()) {
      const doc = await t.store.get(pool, id);
      assert.equal(doc?.status, 'done');
      assert.deepEqual(doc?.res, { x: i * 10 });
      assert.equal(doc?.attempts, 1);
      assert.equal(doc?.leaseToken, null);
    }
    assert.deepEqual(stats, { ran: 3, succeeded: 3, failed: 0, released: 0, returned: 0, leaseLost: 0 });
    assert.equal(await runTask(() => null, { store: t.store, pool }), false, 'nothing left to run');
  });

  it('waiting → part_done, then part_done → done: the second fn gets the stored res', async () => {
    const pool = newPool();
    const ids = await seed(pool, 2);
    await runTask((def) => ({ x: xOf(def) + 100 }), { store: t.store, pool, afterStatus: 'part_done' });
    for (const id of ids) assert.equal((await t.store.get(pool, id))?.status, 'part_done');
    const seen: JsonValue[] = [];
    await runTask(
      (res) => {
        seen.push(res);
        return { x: xOf(res) * 2 };
      },
      { store: t.store, pool, beforeStatus: 'part_done' },
    );
    assert.deepEqual(seen.map(xOf).sort(), [100, 101]);
    for (const [i, id] of ids.entries()) {
      const doc = await t.store.get(pool, id);
      assert.equal(doc?.status, 'done');
      assert.deepEqual(doc?.res, { x: (i + 100) * 2 });
    }
  });

  it('part_done → part_done terminates and runs each task exactly once (qlib loops forever)', async () => {
    const pool = newPool();
    const ids = await seed(pool, 4);
    await runTask((def) => ({ x: xOf(def) }), { store: t.store, pool, afterStatus: 'part_done' });
    const calls = new Map<string, number>();
    const ran = await runTask(
      (res, ctx) => {
        calls.set(ctx.taskId, (calls.get(ctx.taskId) ?? 0) + 1);
        return { x: xOf(res) + 1 };
      },
      { store: t.store, pool, beforeStatus: 'part_done', afterStatus: 'part_done' },
    );
    assert.equal(ran, true);
    assert.deepEqual([...calls.keys()].sort(), [...ids].sort());
    assert.ok([...calls.values()].every((n) => n === 1), `each once: ${JSON.stringify([...calls])}`);
    for (const [i, id] of ids.entries()) assert.deepEqual((await t.store.get(pool, id))?.res, { x: i + 1 });
  });
});

describe('runTask: bad options change nothing', () => {
  for (const bad of ['running', 'done', 'failed', 'nonsense'] as const) {
    it(`beforeStatus "${bad}" is a ValidationError before anything is claimed`, async () => {
      const pool = newPool();
      const [id] = await seed(pool, 1);
      let called = false;
      await assert.rejects(
        runTask(
          () => {
            called = true;
            return null;
          },
          { store: t.store, pool, beforeStatus: bad as never },
        ),
        (e: unknown) => e instanceof ValidationError && e.path === 'beforeStatus' && e.code === 'VALIDATION',
      );
      assert.equal(called, false);
      const doc = await t.store.get(pool, id);
      assert.equal(doc?.status, 'waiting');
      assert.equal(doc?.attempts, 0);
    });
  }
  it('reports every bad option at once; forceRelease with a closure is rejected', async () => {
    const pool = newPool();
    await seed(pool, 1);
    await assert.rejects(
      runTask(() => null, { store: t.store, pool, afterStatus: 'running', leaseMs: -1, maxAttempts: 0, forceRelease: true }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.issues.map((i) => i.path).sort(), ['afterStatus', 'leaseMs', 'maxAttempts', 'taskFn']);
        return true;
      },
    );
    assert.deepEqual(await t.store.stat(pool), { waiting: 1 });
  });
});

describe('runTask: failures', () => {
  it('NonRetryableError (or nonRetryable: true) fails the task at once', async () => {
    const pool = newPool();
    const ids = await seed(pool, 2);
    let calls = 0;
    const stats = emptyStats();
    await runTask(
      (def) => {
        calls++;
        if (xOf(def) === 0) throw new NonRetryableError('bad input', { code: 'BAD_INPUT' });
        throw Object.assign(new Error('flagged'), { nonRetryable: true });
      },
      { store: t.store, pool, maxAttempts: 5, stats },
    );
    assert.equal(calls, 2);
    const [a, b] = await Promise.all(ids.map((id) => t.store.get(pool, id)));
    assert.equal(a?.status, 'failed');
    assert.equal(a?.attempts, 1);
    assert.equal(a?.lastError?.code, 'BAD_INPUT');
    assert.equal(a?.lastError?.message, 'bad input');
    assert.equal(b?.status, 'failed');
    assert.equal(b?.lastError?.code, 'TASK_THREW');
    assert.equal(stats.failed, 2);
  });

  it('a fn that always throws is retried, then failed after maxAttempts with lastError kept; other tasks still run', async () => {
    const pool = newPool();
    const ids = await seed(pool, 3);
    const calls = new Map<string, number>();
    const events: RunEvent[] = [];
    const stats = emptyStats();
    await runTask(
      (def, ctx) => {
        calls.set(ctx.taskId, (calls.get(ctx.taskId) ?? 0) + 1);
        if (xOf(def) === 1) throw new Error(`boom on attempt ${ctx.attempt}`);
        return 'ok';
      },
      { store: t.store, pool, maxAttempts: 3, stats, onEvent: (e) => events.push(e) },
    );
    const poison = await t.store.get(pool, ids[1]);
    assert.equal(poison?.status, 'failed');
    assert.equal(poison?.attempts, 3);
    assert.equal(poison?.lastError?.code, 'TASK_THREW');
    assert.match(poison?.lastError?.message ?? '', /boom on attempt 3 \(attempt 3 of 3\)/);
    assert.equal(calls.get(ids[1]), 3);
    for (const id of [ids[0], ids[2]]) assert.equal((await t.store.get(pool, id))?.status, 'done');
    const outcomes = events.filter((e) => e.type === 'finished' && e.taskId === ids[1]).map((e) => (e as { outcome: string }).outcome);
    assert.deepEqual(outcomes, ['released', 'released', 'failed']);
    assert.deepEqual(stats, { ran: 5, succeeded: 2, failed: 1, released: 2, returned: 0, leaseLost: 0 });
  });

  it('a released task records lastError and goes back to beforeStatus', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    let seenAttempt2 = false;
    await runTask(
      async (_def, ctx) => {
        if (ctx.attempt === 1) throw new Error('transient');
        const doc = await t.store.get(pool, ctx.taskId);
        seenAttempt2 = doc?.lastError?.message === 'transient' && doc.lastError.code === 'TASK_THREW';
        return 1;
      },
      { store: t.store, pool },
    );
    assert.equal(seenAttempt2, true, 'attempt 2 saw the error of attempt 1');
    assert.equal((await t.store.get(pool, id))?.status, 'done');
  });

  it('a non-Error throw is normalised (TASK_THREW_NON_ERROR)', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    await runTask(`${TASKS}#throwsString`, { store: t.store, pool, maxAttempts: 1 });
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'failed');
    assert.equal(doc?.lastError?.code, 'TASK_THREW_NON_ERROR');
    assert.match(doc?.lastError?.message ?? '', /just a string/);
  });

  for (const fn of ['returnsBigInt', 'returnsCycle', 'returnsNaN', 'returnsUndefined']) {
    it(`${fn}: result not JSON → failed with RESULT_NOT_JSON, no retry`, async () => {
      const pool = newPool();
      const [id] = await seed(pool, 1);
      await runTask(`${TASKS}#${fn}`, { store: t.store, pool, maxAttempts: 3 });
      const doc = await t.store.get(pool, id);
      assert.equal(doc?.status, 'failed');
      assert.equal(doc?.attempts, 1);
      assert.equal(doc?.lastError?.code, 'RESULT_NOT_JSON');
      assert.equal(doc?.res, undefined);
    });
  }
});

describe('runTask: leases', () => {
  it('heartbeats keep a task that outlives its lease', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    await runTask(
      async () => {
        await new Promise((r) => setTimeout(r, 900));
        return 'survived';
      },
      { store: t.store, pool, leaseMs: 300, heartbeatMs: 60 },
    );
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'done');
    assert.equal(doc?.attempts, 1);
    assert.equal(doc?.res, 'survived');
  });

  it('a lost lease (task cancelled under it) aborts ctx.signal with LeaseLostError and writes nothing', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    let reason: unknown;
    const stats = emptyStats();
    const run = runTask(
      async (_def, ctx: TaskContext) => {
        started();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        reason = ctx.signal.reason;
        return 'late';
      },
      { store: t.store, pool, leaseMs: 2000, heartbeatMs: 50, stats },
    );
    await startedP;
    assert.equal(await t.store.setStatus(pool, { _id: id }, 'cancelled'), 1);
    await run;
    assert.ok(reason instanceof LeaseLostError, `signal reason: ${String(reason)}`);
    assert.equal(stats.leaseLost, 1);
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'cancelled');
    assert.equal(doc?.res, undefined);
  });

  it('a late commit after the lease was taken over is rejected and does not overwrite the new holder', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    let go!: () => void;
    const goP = new Promise<void>((r) => (go = r));
    const events: RunEvent[] = [];
    // Heartbeats far apart: the stalled worker does not notice, so its commit reaches the store.
    const run = runTask(
      async () => {
        started();
        await goP;
        return { by: 'A' };
      },
      { store: t.store, pool, leaseMs: 250, heartbeatMs: 600_000, worker: 'A', onEvent: (e) => events.push(e) },
    );
    await startedP;
    const claimedByA = await t.store.get(pool, id);
    await waitUntil(() => Date.now() > Date.parse(claimedByA!.leaseExpiresAt!) + 20, 5000, 'lease A to expire');
    const b = await t.store.claim(pool, { worker: 'B', leaseMs: 60_000 });
    assert.equal(b?.task._id, id, 'B took over the expired task');
    await t.store.commit(pool, b!.lease, { by: 'B' });
    go();
    await run;
    const finished = events.find((e) => e.type === 'finished');
    assert.equal(finished?.type === 'finished' && finished.outcome, 'lease_lost');
    const doc = await t.store.get(pool, id);
    assert.deepEqual(doc?.res, { by: 'B' });
    assert.equal(doc?.worker, 'B');
    assert.equal(doc?.status, 'done');
  });
});

describe('runTask: forceRelease (one child process per task)', () => {
  it('runs the task in a different process', async () => {
    const pool = newPool();
    const ids = await seed(pool, 2);
    await runTask({ module: TASKS, export: 'pid' }, { store: t.store, pool, forceRelease: true });
    const pids = new Set<number>();
    for (const id of ids) {
      const doc = await t.store.get(pool, id);
      assert.equal(doc?.status, 'done');
      const pid = (doc?.res as { pid: number }).pid;
      assert.notEqual(pid, process.pid);
      pids.add(pid);
    }
    assert.equal(pids.size, 2, 'a fresh process per task');
  });

  it('a crashed child releases the task with CHILD_CRASHED (then fails after maxAttempts)', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    const events: RunEvent[] = [];
    await runTask(`${TASKS}#crashes`, { store: t.store, pool, forceRelease: true, maxAttempts: 2, onEvent: (e) => events.push(e) });
    const finished = events.filter((e): e is Extract<RunEvent, { type: 'finished' }> => e.type === 'finished');
    assert.deepEqual(finished.map((e) => [e.outcome, e.error?.code]), [
      ['released', 'CHILD_CRASHED'],
      ['failed', 'CHILD_CRASHED'],
    ]);
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'failed');
    assert.equal(doc?.lastError?.code, 'CHILD_CRASHED');
  });

  it('a non-JSON result in the child fails the task without retry (RESULT_NOT_JSON)', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    await runTask(`${TASKS}#returnsCycle`, { store: t.store, pool, forceRelease: true, maxAttempts: 3 });
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'failed');
    assert.equal(doc?.attempts, 1);
    assert.equal(doc?.lastError?.code, 'RESULT_NOT_JSON');
  });

  it('a missing export stops the run (TASK_FN_EXPORT_NOT_FOUND) and returns the task to waiting', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    await assert.rejects(runTask(`${TASKS}#nope`, { store: t.store, pool, forceRelease: true }), { code: 'TASK_FN_EXPORT_NOT_FOUND' });
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'waiting');
  });

  it('a missing module is an error before anything is claimed', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    await assert.rejects(runTask('test/run/fixtures/missing.ts#x', { store: t.store, pool, forceRelease: true }), { code: 'TASK_FN_MODULE_NOT_FOUND' });
    assert.equal((await t.store.get(pool, id))?.attempts, 0);
  });
});

describe('runTask: stopping', () => {
  it('signal: the running task finishes, nothing new is claimed', async () => {
    const pool = newPool();
    await seed(pool, 3);
    const stop = new AbortController();
    await runTask(
      async () => {
        stop.abort();
        await new Promise((r) => setTimeout(r, 100));
        return 'finished';
      },
      { store: t.store, pool, signal: stop.signal },
    );
    assert.deepEqual(await t.store.stat(pool), { done: 1, waiting: 2 });
  });

  it('signal + graceMs: a task still running after the grace is returned with WORKER_SHUTDOWN', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    const stop = new AbortController();
    let aborted = false;
    const t0 = Date.now();
    await runTask(
      async (_def, ctx) => {
        stop.abort();
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 20_000);
          ctx.signal.addEventListener('abort', () => ((aborted = true), clearTimeout(timer), r()), { once: true });
        });
        return 'too late';
      },
      { store: t.store, pool, signal: stop.signal, graceMs: 200 },
    );
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(aborted, true, 'ctx.signal fired');
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'waiting');
    assert.equal(doc?.lastError?.code, 'WORKER_SHUTDOWN');
    assert.equal(doc?.res, undefined);
  });

  it('forceSignal returns the running task at once', async () => {
    const pool = newPool();
    const [id] = await seed(pool, 1);
    const force = new AbortController();
    const stats = emptyStats();
    await runTask(
      async () => {
        force.abort();
        await new Promise((r) => setTimeout(r, 3000));
        return 'ignored';
      },
      { store: t.store, pool, forceSignal: force.signal, stats },
    );
    assert.equal(stats.returned, 1);
    assert.equal((await t.store.get(pool, id))?.status, 'waiting');
  });
});
