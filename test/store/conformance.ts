/**
 * The TaskStore conformance suite: written once, run unchanged against every backend
 * (`sqlite.test.ts` on a temp file and on `:memory:`; the MongoDB backend's test).
 * Each test works in a fresh pool, so the suite can share one store (and one database).
 * Lease tests use 200 ms leases and poll with deadlines: they never assume exact timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonValue, TaskDef, TaskDocument } from '../../src/task/types.ts';
import type { ClaimedTask, TaskFilter, TaskStore } from '../../src/store/types.ts';

const SHORT_LEASE_MS = 200;
const POLL_DEADLINE_MS = 15_000;

/** Polls `fn` until it returns something other than null/false, or fails after the deadline. */
async function pollUntil<T>(what: string, fn: () => Promise<T | null | false>, deadlineMs = POLL_DEADLINE_MS): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function expectCode(code: string, extra: (e: { code?: string; path?: string; hint?: string; name?: string }) => void = () => {}) {
  return (e: unknown): boolean => {
    const err = e as { code?: string; path?: string; hint?: string; name?: string };
    assert.equal(err.code, code, `expected code ${code}, got ${String(err.code)}: ${(e as Error).message}`);
    extra(err);
    return true;
  };
}

/** The data set of the query-operator table: each definition has a `name` to identify it. */
const QUERY_DEFS: TaskDef[] = [
  { name: 'a', model: { class: 'LinearModel', kwargs: { alpha: 0.1 } }, tags: ['x', 'y'], n: 1, seg: { test: ['2020-01-01', '2020-06-30'] } },
  { name: 'b', model: { class: 'LGBModel', kwargs: { alpha: 0.5, depth: 4 } }, tags: ['y'], n: 2.5, flag: true },
  { name: 'c', model: { class: 'LinearModel' }, tags: [], n: '3', opt: null },
  {
    name: 'd',
    model: { class: 'MLP', kwargs: {} },
    n: 10,
    record: [
      { class: 'SignalRecord', kwargs: {} },
      { class: 'SigAnaRecord', kwargs: { ana_long_short: false } },
    ],
    matrix: [
      [1, 2],
      [3, 4],
    ],
  },
  { name: 'e', record: [{ class: 'PortAnaRecord' }], n: -1, flag: false, nested: { a: { b: { c: 5 } } } },
  { name: 'f', tags: 'x', n: null, objs: { k: [1, 2, 3] } },
];
const ALL = 'abcdef';

/** [filter, names expected to match]. Semantics are MongoDB's. */
const QUERY_TABLE: [TaskFilter, string][] = [
  [{}, ALL],
  [{ 'def.model.class': 'LinearModel' }, 'ac'],
  [{ 'filter.model.class': 'LinearModel' }, 'ac'],
  [{ 'def.model': { class: 'LinearModel' } }, 'c'],
  [{ 'def.model': { class: 'LinearModel', kwargs: { alpha: 0.1 } } }, 'a'],
  [{ 'def.model': { kwargs: { alpha: 0.1 }, class: 'LinearModel' } }, ''], // embedded documents compare key order
  [{ 'def.model.kwargs': {} }, 'd'],
  [{ 'def.tags': 'y' }, 'ab'],
  [{ 'def.tags': 'x' }, 'af'],
  [{ 'def.tags': ['y'] }, 'b'],
  [{ 'def.tags': { $size: 0 } }, 'c'],
  [{ 'def.tags': { $size: 2 } }, 'a'],
  [{ 'def.tags': { $all: ['x', 'y'] } }, 'a'],
  [{ 'def.tags': { $all: ['x'] } }, 'af'],
  [{ 'def.tags.0': 'x' }, 'a'],
  [{ 'def.seg.test.1': { $gte: '2020-06-01' } }, 'a'],
  [{ 'def.n': { $gt: 1 } }, 'bd'],
  [{ 'def.n': { $gte: '3' } }, 'c'],
  [{ 'def.n': { $lt: 0 } }, 'e'],
  [{ 'def.n': { $gte: 1, $lt: 10 } }, 'ab'],
  [{ 'def.n': null }, 'f'],
  [{ 'def.n': { $eq: null } }, 'f'],
  [{ 'def.opt': null }, ALL],
  [{ 'def.opt': { $exists: true } }, 'c'],
  [{ 'def.opt': { $ne: null } }, ''],
  [{ 'def.flag': { $exists: false } }, 'acdf'],
  [{ 'def.flag': true }, 'b'],
  [{ 'def.flag': { $ne: true } }, 'acdef'],
  [{ 'def.flag': { $gt: false } }, 'b'],
  [{ 'def.n': { $in: [1, 10, '3'] } }, 'acd'],
  [{ 'def.n': { $in: [null] } }, 'f'],
  [{ 'def.n': { $nin: [1, 10] } }, 'bcef'],
  [{ 'def.model.class': { $regex: '^l', $options: 'i' } }, 'abc'],
  [{ 'def.model.class': { $regex: 'Model$' } }, 'abc'],
  [{ 'def.model.class': { $not: { $regex: 'Model$' } } }, 'def'],
  [{ 'def.tags': { $regex: '^x' } }, 'af'],
  [{ 'def.record.class': 'SigAnaRecord' }, 'd'],
  [{ 'filter.record.class': { $in: ['PortAnaRecord', 'SignalRecord'] } }, 'de'],
  [{ 'def.record': { $elemMatch: { class: 'PortAnaRecord' } } }, 'e'],
  [{ 'def.record': { $elemMatch: { class: { $regex: '^Sig' }, 'kwargs.ana_long_short': false } } }, 'd'],
  [{ 'def.record': { $elemMatch: { class: 'SignalRecord', 'kwargs.ana_long_short': false } } }, ''],
  [{ 'def.record': { $size: 2 } }, 'd'],
  [{ 'def.matrix': [1, 2] }, 'd'],
  [{ 'def.matrix': [2, 1] }, ''],
  [{ 'def.matrix': { $elemMatch: { $elemMatch: { $gt: 3 } } } }, 'd'],
  [{ 'def.matrix.1': [3, 4] }, 'd'],
  [{ 'def.matrix.1': 3 }, ''], // an indexed array element is compared whole
  [{ 'def.matrix.1': { $size: 2 } }, 'd'],
  [{ 'def.objs.k': { $elemMatch: { $gt: 1, $lt: 3 } } }, 'f'],
  [{ 'def.objs.k': 2 }, 'f'],
  [{ 'def.nested.a.b.c': { $gte: 5 } }, 'e'],
  [{ 'def.nested.a': { b: { c: 5 } } }, 'e'],
  [{ 'def.missing.deep': { $exists: false } }, ALL],
  [{ $or: [{ 'def.n': 1 }, { 'def.flag': false }] }, 'ae'],
  [{ $nor: [{ 'def.n': 1 }, { 'def.flag': false }] }, 'bcdf'],
  [{ $and: [{ 'def.model.class': 'LinearModel' }, { 'def.tags': 'x' }] }, 'a'],
  [{ 'def.model.kwargs.alpha': { $gt: 0.2, $lte: 0.5 } }, 'b'],
  [{ 'def.name': { $not: { $in: ['a', 'b'] } } }, 'cdef'],
  [{ status: 'waiting', 'def.name': { $in: ['a', 'b'] } }, 'ab'],
  [{ status: { $ne: 'waiting' } }, ''],
  [{ priority: 0 }, ALL],
  [{ attempts: { $gte: 1 } }, ''],
  [{ lastError: null }, ALL],
  [{ res: { $exists: false } }, ALL],
  [{ worker: null }, ALL],
  [{ createdAt: { $gt: '2000-01-01' } }, ALL],
  [{ nosuchfield: { $exists: true } }, ''],
  // qlib's dedupe query: the whole definition as an embedded document (key order matters, as in BSON).
  [{ filter: { name: 'c', model: { class: 'LinearModel' }, tags: [], n: '3', opt: null } }, 'c'],
  [{ def: { name: 'c', model: { class: 'LinearModel' }, tags: [], opt: null, n: '3' } }, ''],
  [{ def: { $in: [{ name: 'z' }, { name: 'f', tags: 'x', n: null, objs: { k: [1, 2, 3] } }] } }, 'f'],
  [{ 'def.name': 'nul\u0000byte' }, ''],
];

/** Filters the stores must refuse, with the code and path of the error. */
const BAD_FILTERS: [unknown, string, string][] = [
  [{ def: { $foo: 1 } }, 'QUERY_OPERATOR', 'def.$foo'],
  [{ $where: 'this.a > 1' }, 'QUERY_OPERATOR', '$where'],
  [{ 'def.a': { $gt: 1, $bogus: 2 } }, 'QUERY_OPERATOR', 'def.a.$bogus'],
  [{ 'def.a': { $elemMatch: { $bogus: 1 } } }, 'QUERY_OPERATOR', 'def.a.$elemMatch.$bogus'],
  [{ $or: [{ 'def.a': 1 }, { 'def.b': { $expr: 1 } }] }, 'QUERY_OPERATOR', '$or[1].def.b.$expr'],
  [{ 'def.a': { $in: 5 } }, 'QUERY_SHAPE', 'def.a.$in'],
  [{ 'def.a': { $nin: 'x' } }, 'QUERY_SHAPE', 'def.a.$nin'],
  [{ $and: { a: 1 } }, 'QUERY_SHAPE', '$and'],
  [{ $or: [] }, 'QUERY_SHAPE', '$or'],
  [{ 'def.a': { $size: -1 } }, 'QUERY_SHAPE', 'def.a.$size'],
  [{ 'def.a': { $regex: '(' } }, 'QUERY_SHAPE', 'def.a.$regex'],
  [{ 'def.a': { $regex: 'x', $options: 'q' } }, 'QUERY_SHAPE', 'def.a.$options'],
  [{ 'def.a': { $exists: 'yes' } }, 'QUERY_SHAPE', 'def.a.$exists'],
  [{ 'def.a': { $not: 5 } }, 'QUERY_SHAPE', 'def.a.$not'],
  [{ def: { model: { $regex: 'x' } } }, 'QUERY_SHAPE', 'def.model.$regex'],
  [[1, 2], 'QUERY_SHAPE', ''],
];

export function storeConformance(name: string, open: () => Promise<TaskStore>): void {
  describe(`TaskStore conformance: ${name}`, () => {
    let store: TaskStore;
    let poolCounter = 0;
    const newPool = (): string => `conf_${process.pid}_${Date.now().toString(36)}_${poolCounter++}`;
    const claim = (pool: string, extra: Partial<Parameters<TaskStore['claim']>[1]> = {}): Promise<ClaimedTask | null> =>
      store.claim(pool, { worker: 'w1', leaseMs: 60_000, ...extra });
    const mustClaim = async (pool: string, extra: Partial<Parameters<TaskStore['claim']>[1]> = {}): Promise<ClaimedTask> => {
      const c = await claim(pool, extra);
      assert.ok(c, 'expected a task to claim');
      return c;
    };
    const snapshot = async (pool: string): Promise<TaskDocument[]> => store.find(pool, {}, { sort: 'created' });

    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    describe('createTasks', () => {
      it('returns 24-hex ids in input order and counts new vs existing', async () => {
        const pool = newPool();
        const r = await store.createTasks(pool, [{ k: 1 }, { k: 2 }, { k: 3 }]);
        assert.equal(r.created, 3);
        assert.equal(r.existing, 0);
        assert.equal(new Set(r.ids).size, 3);
        for (const id of r.ids) assert.match(String(id), /^[0-9a-f]{24}$/);
        const docs = await Promise.all(r.ids.map((id) => store.get(pool, id!)));
        assert.deepEqual(docs.map((d) => d?.def), [{ k: 1 }, { k: 2 }, { k: 3 }]);
        const again = await store.createTasks(pool, [{ k: 3 }, { k: 4 }, { k: 1 }]);
        assert.equal(again.created, 1);
        assert.equal(again.existing, 2);
        assert.equal(again.ids[0], r.ids[2]);
        assert.equal(again.ids[2], r.ids[0]);
        assert.equal((await store.find(pool)).length, 4);
      });

      it('dedupes reordered keys and midnight-timestamp spellings', async () => {
        const pool = newPool();
        const base = { model: { class: 'M', kwargs: { a: 1, b: 2 } }, seg: { test: ['2020-01-02', '2020-06-30'] } };
        const respelled = { seg: { test: ['2020-01-02T00:00:00', '2020-06-30 00:00:00Z'] }, model: { kwargs: { b: 2, a: 1 }, class: 'M' } };
        const r = await store.createTasks(pool, [base, respelled]);
        assert.equal(r.created, 1);
        assert.equal(r.existing, 1);
        assert.equal(r.ids[0], r.ids[1]);
        const other = await store.createTasks(pool, [{ ...base, seg: { test: ['2020-01-02T09:30:00', '2020-06-30'] } }]);
        assert.equal(other.created, 1, 'a non-midnight time is a different definition');
      });

      it('returns the existing id whatever the status, without requeueing', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ job: 'x' }]);
        const c = await mustClaim(pool);
        await store.commit(pool, c.lease, { score: 1 });
        const again = await store.createTasks(pool, [{ job: 'x' }]);
        assert.deepEqual(again.ids, ids);
        assert.equal(again.created, 0);
        const doc = await store.get(pool, ids[0]!);
        assert.equal(doc?.status, 'done');
        assert.deepEqual(doc?.res, { score: 1 });
      });

      it('dryRun reports new definitions without writing', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ k: 1 }]);
        const dry = await store.createTasks(pool, [{ k: 1 }, { k: 2 }, { k: 3 }], { dryRun: true });
        assert.deepEqual(dry.ids, [ids[0], null, null]);
        assert.equal(dry.created, 2);
        assert.equal(dry.existing, 1);
        assert.deepEqual(await store.stat(pool), { waiting: 1 });
      });

      it('applies the priority option to new tasks', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ k: 1 }], { priority: 7 });
        assert.equal((await store.get(pool, ids[0]!))?.priority, 7);
      });

      it('refuses non-object definitions and writes nothing', async () => {
        const pool = newPool();
        await assert.rejects(store.createTasks(pool, [{ ok: 1 }, 5 as unknown as TaskDef]), expectCode('VALIDATION', (e) => assert.equal(e.path, 'defs[1]')));
        assert.deepEqual(await store.stat(pool), {});
      });

      it('stores a new task with every document field', async () => {
        const pool = newPool();
        const before = Date.now();
        const { ids } = await store.createTasks(pool, [{ model: { class: 'M' } }]);
        const doc = await store.get(pool, ids[0]!);
        assert.ok(doc);
        assert.equal(doc._id, ids[0]);
        assert.deepEqual(doc.def, { model: { class: 'M' } });
        assert.deepEqual(doc.filter, doc.def);
        assert.match(doc.hash, /^[0-9a-f]{64}$/);
        assert.equal(doc.status, 'waiting');
        assert.equal(doc.priority, 0);
        assert.equal(doc.attempts, 0);
        assert.equal(doc.lastError, null);
        assert.equal(doc.startedAt, null);
        assert.equal(doc.finishedAt, null);
        assert.equal(doc.worker, null);
        assert.equal(doc.leaseToken, null);
        assert.equal(doc.leaseExpiresAt, null);
        assert.equal('res' in doc, false);
        assert.ok(Date.parse(doc.createdAt) >= before - 1000 && Date.parse(doc.createdAt) <= Date.now() + 1000);
        assert.equal(await store.get(pool, '000000000000000000000000'), null);
      });
    });

    describe('claim', () => {
      it('takes priority desc, then FIFO', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ n: 0 }, { n: 1 }, { n: 2 }]);
        await store.createTasks(pool, [{ n: 3 }], { priority: 5 });
        await store.createTasks(pool, [{ n: 4 }], { priority: -1 });
        await store.createTasks(pool, [{ n: 5 }], { priority: 5 });
        const order: JsonValue[] = [];
        for (;;) {
          const c = await claim(pool);
          if (!c) break;
          order.push(c.task.def['n']!);
        }
        assert.deepEqual(order, [3, 5, 0, 1, 2, 4]);
        assert.equal(ids.length, 3);
      });

      it('sets running, attempts, lease, worker and startedAt', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const before = Date.now();
        const c = await mustClaim(pool, { worker: 'host:1', leaseMs: 30_000 });
        assert.equal(c.task.status, 'running');
        assert.equal(c.task.attempts, 1);
        assert.equal(c.task.worker, 'host:1');
        assert.equal(c.task.leaseToken, c.lease.token);
        assert.equal(c.lease.taskId, c.task._id);
        assert.equal(c.lease.worker, 'host:1');
        assert.equal(c.lease.attempt, 1);
        assert.ok(c.lease.token.length >= 16);
        const expires = Date.parse(c.lease.expiresAt);
        assert.ok(expires >= before + 29_000 && expires <= Date.now() + 31_000, `lease expiry ${c.lease.expiresAt}`);
        assert.ok(c.task.startedAt !== null && Date.parse(c.task.startedAt) >= before - 1000);
        assert.deepEqual(await store.get(pool, c.task._id), c.task);
        assert.equal(await claim(pool), null, 'nothing else to claim');
      });

      it('respects excludeIds and query (with filter.* paths; query status is overridden)', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ model: { class: 'A' } }, { model: { class: 'B' } }, { model: { class: 'A', v: 2 } }]);
        const c1 = await mustClaim(pool, { excludeIds: [ids[0]!] });
        assert.equal(c1.task._id, ids[1]);
        const c2 = await mustClaim(pool, { query: { 'filter.model.class': 'A', status: 'done' } });
        assert.equal(c2.task._id, ids[0]);
        assert.equal(await claim(pool, { query: { 'def.model.class': 'B' } }), null);
        const c3 = await mustClaim(pool, { query: { 'def.model.v': { $exists: true } } });
        assert.equal(c3.task._id, ids[2]);
      });

      it('excludeIds longer than any claim batch still reaches the first task not excluded', async () => {
        const pool = newPool();
        const ids = (await store.createTasks(pool, Array.from({ length: 150 }, (_, i) => ({ i })))).ids.filter((x): x is string => x !== null);
        assert.equal(ids.length, 150);
        const c = await mustClaim(pool, { excludeIds: ids.slice(0, 140) });
        assert.equal(c.task._id, ids[140], 'the first task (creation order) not excluded');
        assert.equal(await claim(pool, { excludeIds: ids.filter((id) => id !== c.task._id) }), null, 'everything else excluded');
      });

      it('claims from part_done when asked and never returns an empty pool task', async () => {
        const pool = newPool();
        assert.equal(await claim(pool), null);
        await store.createTasks(pool, [{ k: 1 }]);
        assert.equal(await claim(pool, { status: 'part_done' }), null);
      });

      it('never hands the same task to two concurrent claimers', async () => {
        const pool = newPool();
        await store.createTasks(pool, Array.from({ length: 20 }, (_, i) => ({ i })));
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => claim(pool, { worker: `w${i}` })));
        const got = results.filter((r): r is ClaimedTask => r !== null).map((r) => r.task._id);
        assert.equal(got.length, 20);
        assert.equal(new Set(got).size, 20);
      });
    });

    describe('status paths', () => {
      it('waiting → running → done stores the result and clears the lease', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c = await mustClaim(pool);
        await store.commit(pool, c.lease, { ic: 0.05, list: [1, 'a', null, { x: true }] });
        const doc = await store.get(pool, c.task._id);
        assert.equal(doc?.status, 'done');
        assert.deepEqual(doc?.res, { ic: 0.05, list: [1, 'a', null, { x: true }] });
        assert.equal(doc?.leaseToken, null);
        assert.equal(doc?.leaseExpiresAt, null);
        assert.ok(doc?.finishedAt !== null);
        assert.deepEqual(await store.stat(pool), { done: 1 });
      });

      it('waiting → running → part_done → running → done', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c1 = await mustClaim(pool);
        await store.commit(pool, c1.lease, { stage: 1 }, 'part_done');
        let doc = await store.get(pool, c1.task._id);
        assert.equal(doc?.status, 'part_done');
        assert.equal(doc?.finishedAt, null);
        assert.equal(await claim(pool), null, 'part_done is not claimable from waiting');
        const c2 = await mustClaim(pool, { status: 'part_done' });
        assert.equal(c2.task._id, c1.task._id);
        assert.deepEqual(c2.task.res, { stage: 1 });
        assert.equal(c2.lease.attempt, 2);
        await store.commit(pool, c2.lease, { stage: 2 });
        doc = await store.get(pool, c1.task._id);
        assert.equal(doc?.status, 'done');
        assert.deepEqual(doc?.res, { stage: 2 });
      });

      it('release returns the task (default waiting), recording an error when given', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c1 = await mustClaim(pool, { worker: 'wr' });
        await store.release(pool, c1.lease);
        let doc = await store.get(pool, c1.task._id);
        assert.equal(doc?.status, 'waiting');
        assert.equal(doc?.lastError, null);
        assert.equal(doc?.leaseToken, null);
        const c2 = await mustClaim(pool, { worker: 'wr' });
        await store.release(pool, c2.lease, { status: 'part_done', error: { message: 'boom', code: 'TASK_THREW' } });
        doc = await store.get(pool, c1.task._id);
        assert.equal(doc?.status, 'part_done');
        assert.equal(doc?.attempts, 2);
        assert.equal(doc?.lastError?.message, 'boom');
        assert.equal(doc?.lastError?.code, 'TASK_THREW');
        assert.equal(doc?.lastError?.worker, 'wr');
        assert.ok(doc?.lastError && !Number.isNaN(Date.parse(doc.lastError.at)));
      });

      it('fail moves the task to failed with lastError', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c = await mustClaim(pool, { worker: 'wf' });
        await store.fail(pool, c.lease, { message: 'bad input', code: 'NON_RETRYABLE' });
        const doc = await store.get(pool, c.task._id);
        assert.equal(doc?.status, 'failed');
        assert.deepEqual({ ...doc?.lastError, at: undefined }, { message: 'bad input', code: 'NON_RETRYABLE', worker: 'wf', at: undefined });
        assert.ok(doc?.finishedAt !== null);
        assert.equal(await claim(pool), null, 'failed tasks are not claimed');
      });

      it('cancel (setStatus cancelled) takes the lease from a running worker', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }, { k: 2 }]);
        const c = await mustClaim(pool);
        assert.equal(await store.setStatus(pool, { status: { $in: ['waiting', 'running', 'part_done'] } }, 'cancelled'), 2);
        await assert.rejects(store.commit(pool, c.lease, 1), expectCode('LEASE_LOST'));
        await assert.rejects(store.heartbeat(pool, c.lease, 1000), expectCode('LEASE_LOST'));
        assert.deepEqual(await store.stat(pool), { cancelled: 2 });
        assert.equal(await claim(pool), null);
      });

      it('reset (setStatus waiting) makes done/failed tasks claimable again and returns the count', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }, { k: 2 }, { k: 3 }]);
        const c = await mustClaim(pool);
        await store.commit(pool, c.lease, 1);
        const c2 = await mustClaim(pool);
        await store.fail(pool, c2.lease, { message: 'x', code: 'X' });
        assert.equal(await store.setStatus(pool, { status: { $in: ['done', 'failed'] } }, 'waiting'), 2);
        assert.deepEqual(await store.stat(pool), { waiting: 3 });
        assert.equal(await store.setStatus(pool, { 'def.k': 99 }, 'done'), 0);
      });

      it('refuses unknown statuses and setting running directly', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        await assert.rejects(store.setStatus(pool, {}, 'foo' as 'done'), expectCode('VALIDATION', (e) => assert.equal(e.path, 'status')));
        await assert.rejects(store.setStatus(pool, {}, 'running'), expectCode('VALIDATION'));
        await assert.rejects(claim(pool, { status: 'bogus' as 'waiting' }), expectCode('VALIDATION', (e) => assert.equal(e.path, 'status')));
        const c = await mustClaim(pool);
        await assert.rejects(store.commit(pool, c.lease, 1, 'nope' as 'done'), expectCode('VALIDATION'));
        assert.equal((await store.get(pool, c.task._id))?.status, 'running');
      });
    });

    describe('leases and fencing', () => {
      it('heartbeat extends the lease', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c = await mustClaim(pool, { leaseMs: 1000 });
        const extended = await store.heartbeat(pool, c.lease, 60_000);
        assert.equal(extended.token, c.lease.token);
        assert.ok(Date.parse(extended.expiresAt) > Date.parse(c.lease.expiresAt) + 50_000);
        assert.equal((await store.get(pool, c.task._id))?.leaseExpiresAt, extended.expiresAt);
      });

      it('a stale token cannot commit, heartbeat, release or fail, and changes nothing', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const old = await mustClaim(pool, { worker: 'old' });
        assert.equal(await store.setStatus(pool, {}, 'waiting'), 1);
        const fresh = await mustClaim(pool, { worker: 'new' });
        assert.equal(fresh.task._id, old.task._id);
        assert.notEqual(fresh.lease.token, old.lease.token);
        const before = await snapshot(pool);
        await assert.rejects(store.commit(pool, old.lease, { stale: true }), expectCode('LEASE_LOST'));
        await assert.rejects(store.heartbeat(pool, old.lease, 60_000), expectCode('LEASE_LOST'));
        await assert.rejects(store.release(pool, old.lease), expectCode('LEASE_LOST'));
        await assert.rejects(store.fail(pool, old.lease, { message: 'x', code: 'X' }), expectCode('LEASE_LOST'));
        await assert.rejects(store.commit(pool, { ...fresh.lease, token: 'f'.repeat(32) }, 1), expectCode('LEASE_LOST'));
        assert.deepEqual(await snapshot(pool), before);
        await store.commit(pool, fresh.lease, { fresh: true });
        assert.deepEqual((await store.get(pool, fresh.task._id))?.res, { fresh: true });
        await assert.rejects(store.commit(pool, fresh.lease, { twice: true }), expectCode('LEASE_LOST'));
      });

      it('an expired lease is reclaimed by the next claim; the old worker is fenced out', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const first = await mustClaim(pool, { worker: 'dead', leaseMs: SHORT_LEASE_MS });
        const second = await pollUntil('the expired task to be claimable', () => claim(pool, { worker: 'alive' }));
        assert.equal(second.task._id, first.task._id);
        assert.equal(second.lease.attempt, 2);
        assert.equal(second.task.worker, 'alive');
        assert.equal(second.task.lastError?.code, 'LEASE_EXPIRED');
        assert.equal(second.task.lastError?.worker, 'dead');
        await assert.rejects(store.commit(pool, first.lease, 'late'), expectCode('LEASE_LOST'));
        await store.commit(pool, second.lease, 'ok');
        assert.equal((await store.get(pool, first.task._id))?.res, 'ok');
      });

      it('an expired part_done run goes back to part_done, not waiting', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c = await mustClaim(pool);
        await store.commit(pool, c.lease, { stage: 1 }, 'part_done');
        await mustClaim(pool, { status: 'part_done', leaseMs: SHORT_LEASE_MS });
        await pollUntil('reclaim', async () => (await store.reclaimExpired(pool)) === 1);
        const doc = await store.get(pool, c.task._id);
        assert.equal(doc?.status, 'part_done');
        assert.deepEqual(doc?.res, { stage: 1 });
        assert.equal(await claim(pool), null, 'not claimable from waiting');
      });

      it('attempts exhausted on lease expiry → failed with LEASE_EXPIRED', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }]);
        const c1 = await mustClaim(pool, { leaseMs: SHORT_LEASE_MS, maxAttempts: 2 });
        const c2 = await pollUntil('second attempt', () => claim(pool, { leaseMs: SHORT_LEASE_MS, maxAttempts: 2 }));
        assert.equal(c2.lease.attempt, 2);
        const failed = await pollUntil('the task to fail', async () => {
          assert.equal(await claim(pool, { maxAttempts: 2 }), null);
          const doc = await store.get(pool, c1.task._id);
          return doc?.status === 'failed' ? doc : null;
        });
        assert.equal(failed.lastError?.code, 'LEASE_EXPIRED');
        assert.equal(failed.attempts, 2);
        assert.equal(failed.leaseToken, null);
        await assert.rejects(store.commit(pool, c2.lease, 1), expectCode('LEASE_LOST'));
      });

      it('reclaimExpired returns expired running tasks and counts them; live leases stay', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ k: 1 }, { k: 2 }, { k: 3 }]);
        await mustClaim(pool, { leaseMs: SHORT_LEASE_MS });
        await mustClaim(pool, { leaseMs: SHORT_LEASE_MS, maxAttempts: 1 });
        const live = await mustClaim(pool, { leaseMs: 120_000 });
        await pollUntil('leases to expire', async () => Date.now() > Date.parse(live.task.startedAt!) + SHORT_LEASE_MS + 50);
        assert.equal(await store.reclaimExpired(pool, { maxAttempts: 1 }), 2);
        assert.deepEqual(await store.stat(pool), { failed: 2, running: 1 });
        assert.equal(await store.reclaimExpired(pool), 0);
        await store.commit(pool, live.lease, 'still mine');
      });
    });

    describe('results must be JSON', () => {
      const cyclic: { self?: unknown } = {};
      cyclic.self = cyclic;
      const bad: [string, unknown, string][] = [
        ['BigInt', { n: 10n }, 'res.n'],
        ['cycle', { a: [cyclic] }, 'res.a[0].self'],
        ['NaN', { m: [1, NaN] }, 'res.m[1]'],
        ['Infinity', Infinity, 'res'],
        ['undefined', { u: undefined }, 'res.u'],
        ['function', { f: () => 1 }, 'res.f'],
        ['Date', { d: new Date(0) }, 'res.d'],
      ];
      for (const [label, value, path] of bad) {
        it(`refuses ${label} with RESULT_NOT_JSON at ${path}, leaving the task running`, async () => {
          const pool = newPool();
          await store.createTasks(pool, [{ k: 1 }]);
          const c = await mustClaim(pool);
          const before = await snapshot(pool);
          await assert.rejects(store.commit(pool, c.lease, value as JsonValue), expectCode('RESULT_NOT_JSON', (e) => assert.equal(e.path, path)));
          assert.deepEqual(await snapshot(pool), before);
          await store.commit(pool, c.lease, 'fine');
        });
      }
    });

    describe('queries', () => {
      let pool: string;
      let idByName: Map<string, string>;
      before(async () => {
        pool = newPool();
        const { ids } = await store.createTasks(pool, QUERY_DEFS);
        idByName = new Map(QUERY_DEFS.map((d, i) => [String(d['name']), ids[i]!]));
      });
      const namesOf = (docs: TaskDocument[]): string => docs.map((d) => String(d.def['name'])).sort().join('');

      for (const [filter, expected] of QUERY_TABLE) {
        it(`${JSON.stringify(filter)} → [${expected}]`, async () => {
          assert.equal(namesOf(await store.find(pool, filter)), expected, 'find');
          const counts = await store.stat(pool, filter);
          assert.equal(Object.values(counts).reduce((a, b) => a + (b ?? 0), 0), expected.length, 'stat');
        });
      }

      it('matches _id as a string', async () => {
        const a = idByName.get('a')!;
        const c = idByName.get('c')!;
        assert.equal(namesOf(await store.find(pool, { _id: a })), 'a');
        assert.equal(namesOf(await store.find(pool, { _id: { $in: [a, c] } })), 'ac');
        assert.equal(namesOf(await store.find(pool, { _id: { $ne: a } })), 'bcdef');
      });

      it('find honours limit and sort', async () => {
        const byCreated = await store.find(pool, {}, { sort: 'created', limit: 3 });
        assert.deepEqual(byCreated.map((d) => d.def['name']), ['a', 'b', 'c']);
        assert.equal((await store.find(pool, { 'def.record.class': { $exists: true } }, { limit: 1 })).length, 1);
      });

      for (const [filter, code, path] of BAD_FILTERS) {
        it(`refuses ${JSON.stringify(filter)} with ${code} at "${path}" in every operation`, async () => {
          const before = await snapshot(pool);
          const check = expectCode(code, (e) => {
            assert.equal(e.path, path);
            assert.ok(e.hint && e.hint.length > 0, 'has a hint');
          });
          const f = filter as TaskFilter;
          await assert.rejects(store.find(pool, f), check);
          await assert.rejects(store.stat(pool, f), check);
          await assert.rejects(store.setStatus(pool, f, 'done'), check);
          await assert.rejects(store.remove(pool, f), check);
          if (!Array.isArray(filter)) await assert.rejects(claim(pool, { query: f }), check);
          assert.deepEqual(await snapshot(pool), before);
        });
      }
    });

    describe('stat, remove, priority, replace', () => {
      it('stat counts per status, with a filter', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ g: 'a' }, { g: 'a', i: 2 }, { g: 'b' }, { g: 'b', i: 2 }]);
        const c = await mustClaim(pool, { query: { 'def.g': 'a' } });
        await store.commit(pool, c.lease, 1);
        await mustClaim(pool, { query: { 'def.g': 'b' } });
        assert.deepEqual(await store.stat(pool), { waiting: 2, done: 1, running: 1 });
        assert.deepEqual(await store.stat(pool, { 'def.g': 'a' }), { waiting: 1, done: 1 });
        assert.deepEqual(await store.stat(pool, { 'def.g': 'zzz' }), {});
      });

      it('remove deletes matching tasks and returns the count', async () => {
        const pool = newPool();
        await store.createTasks(pool, [{ g: 'a' }, { g: 'b' }, { g: 'b', i: 1 }, { g: 'c', l: [{ x: 1 }] }]);
        assert.equal(await store.remove(pool, { 'def.g': 'b' }), 2);
        assert.equal(await store.remove(pool, { 'def.l.x': 1 }), 1);
        assert.equal(await store.remove(pool, { 'def.g': 'nothing' }), 0);
        assert.deepEqual((await store.find(pool)).map((d) => d.def), [{ g: 'a' }]);
        assert.equal(await store.remove(pool, {}), 1);
        assert.deepEqual(await store.stat(pool), {});
      });

      it('setPriority reorders claims; unknown id is TASK_NOT_FOUND', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ k: 1 }, { k: 2 }]);
        await store.setPriority(pool, ids[1]!, 3);
        assert.equal((await mustClaim(pool)).task._id, ids[1]);
        await assert.rejects(store.setPriority(pool, '0123456789abcdef01234567', 1), expectCode('TASK_NOT_FOUND'));
        await assert.rejects(store.setPriority(pool, ids[0]!, NaN), expectCode('VALIDATION'));
      });

      it('replaceTask swaps the definition and hash, keeping status and result', async () => {
        const pool = newPool();
        const { ids } = await store.createTasks(pool, [{ v: 1 }, { v: 9 }]);
        const c = await mustClaim(pool);
        await store.commit(pool, c.lease, 'r');
        const oldHash = (await store.get(pool, ids[0]!))?.hash;
        await store.replaceTask(pool, ids[0]!, { v: 2 });
        const doc = await store.get(pool, ids[0]!);
        assert.deepEqual(doc?.def, { v: 2 });
        assert.deepEqual(doc?.filter, { v: 2 });
        assert.notEqual(doc?.hash, oldHash);
        assert.equal(doc?.status, 'done');
        assert.equal(doc?.res, 'r');
        assert.deepEqual((await store.createTasks(pool, [{ v: 2 }])).ids, [ids[0]]);
        assert.equal((await store.createTasks(pool, [{ v: 1 }])).created, 1, 'the old definition is free again');
        await assert.rejects(store.replaceTask(pool, '0123456789abcdef01234567', { v: 3 }), expectCode('TASK_NOT_FOUND'));
      });
    });

    describe('pools', () => {
      it('are isolated from each other and listed', async () => {
        const a = newPool();
        const b = newPool();
        const ra = await store.createTasks(a, [{ same: 1 }]);
        const rb = await store.createTasks(b, [{ same: 1 }, { only: 'b' }]);
        assert.equal(ra.created, 1);
        assert.equal(rb.created, 2, 'the same definition is new in another pool');
        assert.notEqual(ra.ids[0], rb.ids[0]);
        const c = await mustClaim(a);
        assert.equal(c.task._id, ra.ids[0]);
        assert.equal(await claim(a), null);
        assert.equal(await store.get(a, rb.ids[0]!), null, 'get is scoped to the pool');
        await assert.rejects(store.commit(b, c.lease, 1), expectCode('LEASE_LOST'), 'a lease is scoped to its pool');
        assert.equal(await store.remove(a, {}), 1);
        assert.deepEqual(await store.stat(b), { waiting: 2 });
        const pools = await store.listPools();
        assert.ok(pools.includes(b), `listPools has ${b}`);
        assert.deepEqual([...pools].sort(), pools, 'sorted');
      });

      it('refuses invalid pool names with POOL_NAME', async () => {
        for (const bad of ['', 'has space', 'a$b', 'system.x', '.hidden', 'x'.repeat(200)]) {
          await assert.rejects(store.createTasks(bad, [{ k: 1 }]), expectCode('POOL_NAME', (e) => assert.equal(e.path, 'pool')), bad);
        }
      });
    });
  });
}
