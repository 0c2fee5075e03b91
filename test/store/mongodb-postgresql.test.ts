/**
 * The MongoDB store on FerretDB's OTHER backend, its PostgreSQL handler, over a private PostgreSQL
 * cluster (scripts/postgres.sh; Debian's `postgresql`): the shared conformance suite, unchanged, and
 * the ticket-path checks. FerretDB's two handlers differ in what they push down to SQL (PostgreSQL:
 * top-level equalities and `_id` through an index; SQLite: `_id` alone, without its index), and the
 * bench reports both, so both are proven here. PostgreSQL missing is a failure, not a skip: .ci/run
 * installs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { openMongoStore } from '../../src/store/mongodb.ts';
import { storeConformance } from './conformance.ts';
import { freshDatabase, startFerretDB } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

let server: MongoTestServer;
before(async () => {
  server = await startFerretDB({ handler: 'postgresql' });
});
after(async () => {
  await server?.stop();
});

describe('FerretDB on PostgreSQL', () => {
  it("is the PostgreSQL handler, and the claim's candidate scan has its status pushed down to SQL", async () => {
    const db = freshDatabase('pgcheck');
    const store = await openMongoStore(`${server.url}${db}`, { warn: () => {} });
    const client = new MongoClient(`${server.url}${db}`);
    try {
      assert.equal(store.claimTickets, true, 'FerretDB 1.x updates are read-then-replace on PostgreSQL too: ticket path');
      await store.createTasks('p', [{ k: 1 }]);
      await client.connect();
      // The candidate scan's filter shape (see claim() in src/store/mongodb.ts).
      const filter = { status: 'waiting', hash: { $type: 'string' }, def: { $type: 'object' }, attempts: { $type: 'number' } };
      const plan = await client.db().command({ explain: { find: 'p', filter } });
      const text = JSON.stringify(plan);
      assert.match(text, /"Node Type"/, `not a PostgreSQL plan: ${text.slice(0, 300)}`);
      assert.equal(plan['filterPushdown'], true, text.slice(0, 600));
      assert.match(text, /'status'::text\) @> '\\"waiting\\"'/, `status not in the SQL filter: ${text.slice(0, 600)}`);
      const claimed = await store.claim('p', { worker: 'w', leaseMs: 30_000 });
      assert.ok(claimed);
      await store.commit('p', claimed.lease, { ok: true });
      assert.deepEqual(await store.stat('p'), { done: 1 });
    } finally {
      await client.close();
      await store.close();
    }
  });
});

storeConformance('mongodb on FerretDB PostgreSQL handler', async () => openMongoStore(`${server.url}${freshDatabase('pgconf')}`, { warn: () => {} }));
