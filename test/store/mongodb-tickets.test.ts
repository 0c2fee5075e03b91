/**
 * The ticket path (FerretDB 1.x, whose updates are read-then-replace): task writes use `_id`-only
 * filters (the one filter FerretDB pushes down to SQLite), end tickets fence commits against
 * sweeps and operators in other processes, a claim that finds its task changed since the scan
 * puts it back, and lost document writes are rolled forward from their tickets.
 * Each "process" here is a separate store instance (its own connection and held-lease memory).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { openMongoStore } from '../../src/store/mongodb.ts';
import type { MongoTaskStore } from '../../src/store/mongodb.ts';
import { tcpProxy } from '../support/tcpProxy.ts';
import { freePort, freshDatabase, mongoTestServer, urlFor } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

let server: MongoTestServer;
let url: string;
let client: MongoClient;
const stores: MongoTaskStore[] = [];
before(async () => {
  server = await mongoTestServer();
  url = urlFor(server, freshDatabase('tickets'));
  client = new MongoClient(url);
  await client.connect();
});
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await client?.close();
  await server?.stop();
});

type Seen = { command: string; collection: string; filterKeys: string[] };

async function open(seen?: Seen[]): Promise<MongoTaskStore> {
  const s = await openMongoStore(url, { warn: () => {}, ...(seen ? { onCommand: (e) => seen.push(e) } : {}) });
  assert.equal(s.claimTickets, true, 'these tests need the ticket path (FerretDB)');
  stores.push(s);
  return s;
}

const leaseLost = (e: unknown): boolean => {
  assert.equal((e as { code?: string }).code, 'LEASE_LOST', String(e));
  return true;
};

async function pollUntil<T>(what: string, f: () => Promise<T | null | false>, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('ticket path (FerretDB)', () => {
  it('claim, heartbeat and commit write the task by _id alone (pushed down), tickets by insert', async () => {
    const seen: Seen[] = [];
    const s = await open(seen);
    await s.createTasks('pd', [{ k: 1 }, { k: 2 }]);
    seen.length = 0;
    const c = await s.claim('pd', { worker: 'w', leaseMs: 60_000 });
    assert.ok(c);
    await s.heartbeat('pd', c.lease, 60_000);
    await s.commit('pd', c.lease, { ok: 1 });
    const writes = seen.filter((e) => e.collection === 'pd' && ['update', 'findAndModify', 'delete'].includes(e.command));
    assert.ok(writes.length >= 2, JSON.stringify(seen));
    for (const w of writes) assert.deepEqual(w.filterKeys, ['_id'], `${w.command} filter ${JSON.stringify(w.filterKeys)}`);
    const scans = seen.filter((e) => e.collection === 'pd' && e.command === 'find' && e.filterKeys.join() !== '_id');
    // The only reads FerretDB evaluates in Go: one candidate scan (and an expiry sweep, if one was due).
    // The scan's filter is flat, so that its `status` equality is pushed down on the PostgreSQL handler.
    const candidateScan = 'status,hash,def,attempts';
    assert.equal(scans.filter((e) => e.filterKeys.join() === candidateScan).length, 1, JSON.stringify(scans));
    assert.deepEqual(scans.filter((e) => ![candidateScan, 'status'].includes(e.filterKeys.join())), [], JSON.stringify(scans));
    assert.equal(seen.filter((e) => e.collection === '_qtask_tickets' && e.command === 'insert').length, 2, 'a claim ticket and an end ticket');
    assert.equal((await s.get('pd', c.task._id))?.status, 'done');
  });

  it("another process's cancel fences the holder's commit, though the holder does not re-read the task", async () => {
    const holder = await open();
    const operator = await open();
    await holder.createTasks('cancel', [{ k: 1 }]);
    const c = await holder.claim('cancel', { worker: 'holder', leaseMs: 60_000 });
    assert.ok(c);
    assert.equal(await operator.setStatus('cancel', {}, 'cancelled'), 1);
    await assert.rejects(holder.commit('cancel', c.lease, 'late'), leaseLost);
    const doc = await holder.get('cancel', c.task._id);
    assert.equal(doc?.status, 'cancelled');
    assert.equal(doc?.res ?? null, null, 'no result was written');
  });

  it("another process's expiry sweep fences the holder's late commit", async () => {
    const holder = await open();
    const sweeper = await open();
    await holder.createTasks('late', [{ k: 1 }]);
    const c = await holder.claim('late', { worker: 'slow', leaseMs: 300 });
    assert.ok(c);
    await pollUntil('the sweep', async () => (await sweeper.reclaimExpired('late')) === 1);
    await assert.rejects(holder.commit('late', c.lease, 'late'), leaseLost);
    const doc = await sweeper.get('late', c.task._id);
    assert.equal(doc?.status, 'waiting');
    assert.equal(doc?.lastError?.code, 'LEASE_EXPIRED');
    const again = await sweeper.claim('late', { worker: 'next', leaseMs: 60_000 });
    assert.equal(again?.lease.attempt, 2);
    await sweeper.commit('late', again!.lease, 'ok');
    assert.equal((await holder.get('late', c.task._id))?.res, 'ok');
  });

  it('a commit from a process that did not claim reads the task: right token commits, a wrong one changes nothing', async () => {
    const claimer = await open();
    const other = await open();
    await claimer.createTasks('handoff', [{ k: 1 }, { k: 2 }]);
    const a = await claimer.claim('handoff', { worker: 'w', leaseMs: 60_000 });
    const b = await claimer.claim('handoff', { worker: 'w', leaseMs: 60_000 });
    assert.ok(a && b);
    const before = await other.get('handoff', b.task._id);
    await assert.rejects(other.commit('handoff', { ...b.lease, token: 'f'.repeat(32) }, 'forged'), leaseLost);
    assert.deepEqual(await other.get('handoff', b.task._id), before);
    await other.commit('handoff', a.lease, 'from another process');
    assert.equal((await claimer.get('handoff', a.task._id))?.res, 'from another process');
    await assert.rejects(claimer.commit('handoff', a.lease, 'twice'), leaseLost);
  });

  it('a claim that finds its candidate cancelled since the scan puts the task back and takes nothing', async () => {
    const claimer = await open();
    const operator = await open();
    await claimer.createTasks('stale', [{ k: 1 }, { k: 2 }]);
    const first = await claimer.claim('stale', { worker: 'w', leaseMs: 60_000 });
    assert.ok(first); // the scan also cached {k: 2} as the next candidate
    const second = (await operator.find('stale', { status: 'waiting' }))[0]!;
    assert.equal(await operator.setStatus('stale', { _id: second._id }, 'cancelled'), 1);
    const cancelled = await operator.get('stale', second._id);
    assert.equal(await claimer.claim('stale', { worker: 'w', leaseMs: 60_000 }), null);
    assert.deepEqual(await operator.get('stale', second._id), cancelled, 'the task is exactly as the operator left it');
    const tickets = await client.db().collection('_qtask_tickets').countDocuments({ _id: `stale:${second._id}:1` } as Document);
    assert.equal(tickets, 0, 'the attempt was given back');
  });

  it('a claim ticket whose task write was lost is rolled forward, expires, and the task runs again', { timeout: 90_000 }, async () => {
    const s = await open();
    const { ids } = await s.createTasks('lostclaim', [{ k: 1 }]);
    const id = new ObjectId(ids[0]!);
    const past = new Date(Date.now() - 60_000);
    // A claimer that died between its ticket and its task write.
    await client
      .db()
      .collection('_qtask_tickets')
      .insertOne({ _id: `lostclaim:${id.toHexString()}:1`, pool: 'lostclaim', task: id, attempt: 1, token: 'd'.repeat(32), worker: 'died', claimedFrom: 'waiting', startedAt: past, leaseExpiresAt: new Date(past.getTime() + 1000) } as Document);
    const c = await pollUntil('the task to be claimable again', () => s.claim('lostclaim', { worker: 'alive', leaseMs: 60_000 }));
    assert.equal(c.task._id, ids[0]);
    assert.equal(c.lease.attempt, 2, 'attempt 1 belongs to the dead claimer');
    assert.equal(c.task.lastError?.code, 'LEASE_EXPIRED');
    assert.equal(c.task.lastError?.worker, 'died');
    await s.commit('lostclaim', c.lease, 'ok');
  });

  it('the last claim of a pool settles a ticket whose task write is missing (rolls it forward) before it answers "nothing left"', { timeout: 60_000 }, async () => {
    const s = await open();
    const { ids } = await s.createTasks('lastclaim', [{ k: 1 }]);
    const id = new ObjectId(ids[0]!);
    const now = new Date();
    // A claimer that died a moment ago between its ticket and its task write.
    await client
      .db()
      .collection('_qtask_tickets')
      .insertOne({ _id: `lastclaim:${id.toHexString()}:1`, pool: 'lastclaim', task: id, attempt: 1, token: 'e'.repeat(32), worker: 'died', claimedFrom: 'waiting', startedAt: now, leaseExpiresAt: new Date(now.getTime() + 60_000) } as Document);
    const t0 = Date.now();
    assert.equal(await s.claim('lastclaim', { worker: 'alive', leaseMs: 60_000 }), null, 'attempt 1 is the dead claimer\'s');
    const waited = Date.now() - t0;
    const doc = await s.get('lastclaim', ids[0]!);
    // Otherwise a draining worker would count 0 running and leave with the task stranded as waiting.
    assert.equal(doc?.status, 'running', `rolled forward before the claim answered (after ${waited} ms)`);
    assert.equal(doc?.worker, 'died');
    assert.equal(doc?.attempts, 1);
    assert.ok(waited >= 3_000, `the claim waited out the ticket's grace (${waited} ms), in case its claimer was only slow`);
  });

  it("a claim whose ticket went in but whose reply was lost takes that task on its retry, not a second one", { timeout: 60_000 }, async () => {
    const proxy = tcpProxy({ host: server.host, port: server.port }, await freePort());
    await proxy.up();
    try {
      const proxied = url.replace(`${server.host}:${server.port}`, `${proxy.host}:${proxy.port}`);
      const warnings: string[] = [];
      const s = await openMongoStore(proxied, { warn: (m) => warnings.push(m), reconnectMs: 30_000 });
      stores.push(s);
      const { ids } = await s.createTasks('lostreply', [{ k: 1 }, { k: 2 }, { k: 3 }]);
      // The insert of a CLAIM ticket (end tickets carry no claimedFrom) into _qtask_tickets.
      const ticketInsert = Buffer.concat([Buffer.from('\x02insert\x00', 'latin1'), Buffer.from([15, 0, 0, 0]), Buffer.from('_qtask_tickets\x00', 'latin1')]);
      const cut = proxy.loseReplyTo((m) => m.includes(ticketInsert) && m.includes('claimedFrom'));
      const c = await s.claim('lostreply', { worker: 'w', leaseMs: 60_000 });
      await cut;
      assert.ok(warnings.some((w) => /unreachable during claim/.test(w)), `the cut was seen by the claim: ${warnings.join(' | ')}`);
      assert.ok(c);
      assert.equal(c.task._id, ids[0], 'the retry took the attempt its first try had ticketed');
      assert.equal(c.lease.attempt, 1);
      assert.deepEqual(await s.stat('lostreply'), { running: 1, waiting: 2 });
      await s.commit('lostreply', c.lease, 'ok');
      for (let i = 0; i < 2; i++) {
        const d = await s.claim('lostreply', { worker: 'w', leaseMs: 60_000 });
        assert.ok(d, `task ${i + 2} claimable`);
        await s.commit('lostreply', d.lease, 'ok');
      }
      assert.equal(await s.claim('lostreply', { worker: 'w', leaseMs: 60_000 }), null);
      assert.deepEqual(await s.stat('lostreply'), { done: 3 }, 'nothing stranded');
    } finally {
      await proxy.down();
    }
  });

  it('an end ticket whose task write was lost is rolled forward by the next sweep', async () => {
    const s = await open();
    await s.createTasks('lostend', [{ k: 1 }]);
    const c = await s.claim('lostend', { worker: 'w', leaseMs: 200 });
    assert.ok(c);
    const id = new ObjectId(c.task._id);
    // A committer that died between its end ticket and its task write.
    await client
      .db()
      .collection('_qtask_tickets')
      .insertOne({ _id: `end:lostend:${c.task._id}:1`, pool: 'lostend', task: id, attempt: 1, token: c.lease.token, by: 'commit', set: { status: 'done', res: 'from the ticket', finishedAt: new Date(), leaseToken: null, leaseExpiresAt: null, lastLeaseToken: c.lease.token }, at: new Date(Date.now() - 60_000) } as Document);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await s.reclaimExpired('lostend'), 0, 'the attempt had already ended: not an expiry');
    const doc = await s.get('lostend', c.task._id);
    assert.equal(doc?.status, 'done');
    assert.equal(doc?.res, 'from the ticket');
    assert.equal(doc?.attempts, 1);
  });
});
