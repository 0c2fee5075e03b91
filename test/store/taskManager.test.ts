import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager, WaitTimeoutError } from '../../src/store/taskManager.ts';
import type { FetchedTask } from '../../src/store/taskManager.ts';
import type { TaskStore } from '../../src/store/types.ts';

const code = (c: string, check: (e: { path?: string; message: string }) => void = () => {}) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  check(e as { path?: string; message: string });
  return true;
};

describe('TaskManager', () => {
  let store: TaskStore;
  let n = 0;
  const lines: string[] = [];
  const manager = (): TaskManager => new TaskManager(store, `tm${n++}`, { log: (l) => lines.push(l), worker: 'tester', leaseMs: 60_000 });
  before(() => {
    store = new SqliteTaskStore(':memory:');
  });
  after(() => store.close());

  it('createTask dedupes, logs and returns the qlib summary line; dryRun writes nothing', async () => {
    const tm = manager();
    lines.length = 0;
    const r = await tm.createTask([{ a: 1 }, { a: 2 }]);
    assert.equal(r.summary, 'Total Tasks: 2, New Tasks: 2');
    const again = await tm.createTask([{ a: 2 }, { a: 3 }, { a: 1 }]);
    assert.equal(again.summary, 'Total Tasks: 3, New Tasks: 1');
    assert.deepEqual([again.ids[0], again.ids[2]], [r.ids[1], r.ids[0]]);
    const dry = await tm.createTask([{ a: 4 }, { a: 1 }], { dryRun: true });
    assert.equal(dry.summary, 'Total Tasks: 2, New Tasks: 1 (dry run)');
    assert.deepEqual(dry.ids, [null, r.ids[0]]);
    assert.deepEqual(lines, ['Total Tasks: 2, New Tasks: 2', 'Total Tasks: 3, New Tasks: 1', 'Total Tasks: 2, New Tasks: 1 (dry run)']);
    assert.deepEqual(await tm.taskStat(), { waiting: 3 });
    assert.equal(await tm.insertTaskDef({ a: 3 }), again.ids[1]);
  });

  it('fetchTask returns the document with its lease; commitTaskRes and returnTask are fenced', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }]);
    const task = await tm.fetchTask();
    assert.ok(task);
    assert.equal(task.status, 'running');
    assert.equal(task.worker, 'tester');
    assert.equal(task.lease.taskId, task._id);
    assert.equal(await tm.fetchTask(), null);
    assert.equal(await tm.resetWaiting(), 1, 'operator resets the running task');
    const again = await tm.fetchTask();
    assert.ok(again);
    await assert.rejects(tm.commitTaskRes(task, { stale: 1 }), code('LEASE_LOST'));
    await assert.rejects(tm.returnTask(task), code('LEASE_LOST'));
    await tm.commitTaskRes(again, { ok: 1 });
    const doc = await tm.reQuery(task._id);
    assert.equal(doc.status, 'done');
    assert.deepEqual(doc.res, { ok: 1 });
    await assert.rejects(tm.commitTaskRes(doc as FetchedTask, 1), code('VALIDATION', (e) => assert.equal(e.path, 'task.lease')));
  });

  it('returnTask and part_done round trip', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }]);
    const t1 = (await tm.fetchTask())!;
    await tm.returnTask(t1);
    const t2 = (await tm.fetchTask())!;
    assert.equal(t2._id, t1._id);
    await tm.commitTaskRes(t2, { model: 'm' }, 'part_done');
    const t3 = (await tm.fetchTask({ status: 'part_done' }))!;
    assert.deepEqual(t3.res, { model: 'm' });
    await tm.commitTaskRes(t3, { pred: 'p' });
    assert.deepEqual(await tm.taskStat(), { done: 1 });
  });

  it('safeFetchTask gives the task back to its previous status when the callback throws, and re-throws', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }, { k: 2 }]);
    await assert.rejects(
      tm.safeFetchTask(async (task) => {
        assert.ok(task);
        throw new Error('training blew up');
      }),
      /training blew up/,
    );
    assert.deepEqual(await tm.taskStat(), { waiting: 2 });
    const value = await tm.safeFetchTask(async (task) => {
      await tm.commitTaskRes(task!, 1, 'part_done');
      return 'committed';
    });
    assert.equal(value, 'committed');
    await assert.rejects(
      tm.safeFetchTask(
        async () => {
          throw new Error('second stage failed');
        },
        { status: 'part_done' },
      ),
      /second stage failed/,
    );
    assert.deepEqual(await tm.taskStat(), { waiting: 1, part_done: 1 }, 'back to part_done, not waiting');
    await assert.rejects(
      tm.safeFetchTask(async (task) => {
        await tm.commitTaskRes(task!, 2);
        throw new Error('after commit');
      }),
      /after commit/,
    );
    assert.deepEqual(await tm.taskStat(), { done: 1, part_done: 1 }, 'a committed task stays committed');
    assert.equal(await manager().safeFetchTask(async (task) => task), null, 'empty pool: callback gets null');
  });

  it('query, reQuery, remove (explicit filter only), prioritize, resetStatus', async () => {
    const tm = manager();
    const { ids } = await tm.createTask([{ m: 'A' }, { m: 'B' }, { m: 'A', v: 2 }]);
    assert.deepEqual((await tm.query({ 'filter.m': 'A' })).map((d) => d._id).sort(), [ids[0], ids[2]].sort());
    await assert.rejects(tm.reQuery('0123456789abcdef01234567'), code('TASK_NOT_FOUND'));
    await assert.rejects(tm.remove(undefined as unknown as {}), code('VALIDATION', (e) => assert.equal(e.path, 'filter')));
    assert.equal((await tm.query()).length, 3, 'nothing removed');
    await tm.prioritize(ids[2]!, 10);
    const fetched = (await tm.fetchTask())!;
    assert.equal(fetched._id, ids[2]);
    await tm.prioritize(await tm.reQuery(ids[1]!), 5);
    assert.equal((await tm.reQuery(ids[1]!)).priority, 5);
    assert.equal(await tm.resetStatus({ 'def.m': 'A' }, 'done'), 2);
    await assert.rejects(tm.resetStatus({}, 'foo' as 'done'), code('VALIDATION', (e) => {
      assert.equal(e.path, 'status');
      assert.match(e.message, /unknown status "foo"/);
    }));
    await assert.rejects(tm.fetchTask({ status: 'bar' as 'waiting' }), code('VALIDATION', (e) => assert.equal(e.path, 'status')));
    assert.equal(await tm.remove({ 'def.m': 'B' }), 1);
    assert.equal(await tm.remove({}), 2);
    assert.deepEqual(await tm.taskStat(), {});
  });

  it('cancel stops waiting/part_done/running tasks; a running worker loses its lease; done stays', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }, { k: 2 }, { k: 3 }, { k: 4 }]);
    const d = (await tm.fetchTask())!;
    await tm.commitTaskRes(d, 'r');
    const p = (await tm.fetchTask())!;
    await tm.commitTaskRes(p, 'half', 'part_done');
    const running = (await tm.fetchTask())!;
    assert.equal(await tm.cancel(), 3);
    assert.deepEqual(await tm.taskStat(), { done: 1, cancelled: 3 });
    await assert.rejects(tm.commitTaskRes(running, 'late'), code('LEASE_LOST'));
    assert.equal(await tm.fetchTask(), null);
  });

  it('wait resolves once nothing is waiting/running/part_done, reporting progress', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }, { k: 2 }, { k: 3 }]);
    const worker = (async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 30));
        const t = await tm.fetchTask();
        if (!t) return;
        await tm.commitTaskRes(t, 'ok');
      }
    })();
    const seen: number[] = [];
    const counts = await tm.wait({ pollMs: 10, timeoutMs: 20_000, onProgress: (_c, unfinished) => seen.push(unfinished) });
    await worker;
    assert.deepEqual(counts, { done: 3 });
    assert.equal(seen.at(-1), 0);
    assert.ok(seen.length >= 2, 'polled more than once');
  });

  it('wait rejects with WAIT_TIMEOUT on a stuck pool, and returns at once on an empty one', async () => {
    const tm = manager();
    assert.deepEqual(await tm.wait({ timeoutMs: 50 }), {});
    await tm.createTask([{ k: 1 }]);
    const started = Date.now();
    await assert.rejects(tm.wait({ timeoutMs: 300, pollMs: 20 }), (e: unknown) => {
      assert.ok(e instanceof WaitTimeoutError);
      assert.equal(e.code, 'WAIT_TIMEOUT');
      assert.deepEqual(e.counts, { waiting: 1 });
      return true;
    });
    assert.ok(Date.now() - started >= 250, 'waited about the timeout');
  });

  it('list shows pools; bad pool names are refused up front', async () => {
    const tm = manager();
    await tm.createTask([{ k: 1 }]);
    assert.ok((await TaskManager.list(store)).includes(tm.pool));
    assert.throws(() => new TaskManager(store, 'bad name'), code('POOL_NAME'));
    assert.match(String(tm), /^TaskManager\(sqlite::memory:, pool=tm\d+\)$/);
  });
});
