/**
 * MongoDB-only behaviour on a real server: bad input (URLs, unreachable or silent servers,
 * credentials, pool names), documents readable by any tool, indexes, the time-source paths, and
 * documents in the pool that another tool wrote.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MongoClient, ObjectId } from 'mongodb';
import { openMongoStore } from '../../src/store/mongodb.ts';
import type { MongoTaskStore } from '../../src/store/mongodb.ts';
import { openStore } from '../../src/store/url.ts';
import { freePort, freshDatabase, mongoTestServer, startFerretDB, urlFor } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

let server: MongoTestServer;
before(async () => {
  server = await mongoTestServer();
});
after(async () => {
  await server?.stop();
});

function code(expected: string, check: (e: Error & { code?: string; path?: string; hint?: string }) => void = () => {}) {
  return (e: unknown): boolean => {
    const err = e as Error & { code?: string; path?: string; hint?: string };
    assert.equal(err.code, expected, `expected ${expected}, got ${String(err.code)}: ${err.message}`);
    check(err);
    return true;
  };
}

describe('bad store URLs and servers', () => {
  it('malformed URLs are STORE_URL with path "store", and never echo the password', async () => {
    const bad = [
      'mongodb://',
      'mongodb:///qtask',
      'mongodb://host/bad.db',
      'mongodb://host/has space',
      'mongodb://u:s3cretpw@host:notaport/db',
      'mongodb://u:s3cretpw@host/db?replicaSet',
    ];
    for (const url of bad) {
      await assert.rejects(
        openMongoStore(url),
        code('STORE_URL', (e) => {
          assert.equal(e.path, 'store', url);
          assert.ok(!e.message.includes('s3cretpw'), `password leaked: ${e.message}`);
        }),
        url,
      );
    }
    await assert.rejects(openStore('mongodb://u:s3cretpw@host:99999999/db'), code('STORE_URL', (e) => assert.ok(!e.message.includes('s3cretpw'))));
  });

  it('an unreachable server is STORE_UNREACHABLE within the selection timeout, not a hang', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(
      openMongoStore(`mongodb://qtask:s3cretpw@127.0.0.1:${port}/db`, { serverSelectionTimeoutMS: 1500 }),
      code('STORE_UNREACHABLE', (e) => {
        assert.ok(!e.message.includes('s3cretpw'), e.message);
        assert.match(e.message, /qtask:\*\*\*@127\.0\.0\.1/);
        assert.ok(e.hint);
      }),
    );
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('a server that accepts connections but never answers is STORE_UNREACHABLE within bounded time', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    try {
      await assert.rejects(openMongoStore(`mongodb://127.0.0.1:${port}/db`, { serverSelectionTimeoutMS: 1500 }), code('STORE_UNREACHABLE'));
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('wrong or missing credentials are STORE_AUTH at connect; the right ones work', async () => {
    const authed = await startFerretDB({
      extraArgs: ['--test-enable-new-auth', '--setup-database=admin', '--setup-username=qtask', '--setup-password=right-pw'],
    });
    try {
      const base = authed.url.replace('mongodb://', '');
      for (const cred of ['qtask:wrong-pw@', 'nobody:wrong-pw@', '']) {
        await assert.rejects(
          openMongoStore(`mongodb://${cred}${base}qa?authSource=admin`),
          code('STORE_AUTH', (e) => assert.ok(!e.message.includes('wrong-pw'), e.message)),
          cred || 'no credentials',
        );
      }
      const ok = await openMongoStore(`mongodb://qtask:right-pw@${base}qa?authSource=admin`);
      try {
        assert.equal(ok.url, `mongodb://qtask:***@${base}qa?authSource=admin`);
        assert.equal((await ok.createTasks('p', [{ a: 1 }])).created, 1);
      } finally {
        await ok.close();
      }
    } finally {
      await authed.stop();
    }
  });
});

describe('on a live server', () => {
  let store: MongoTaskStore;
  let db: string;
  let raw: MongoClient;
  before(async () => {
    db = freshDatabase('spec');
    store = await openMongoStore(urlFor(server, db));
    raw = new MongoClient(urlFor(server, db));
    await raw.connect();
  });
  after(async () => {
    await store.close();
    await raw.close();
  });

  it('refuses pool names MongoDB or FerretDB would reject, creating nothing', async () => {
    const before = await store.listPools();
    for (const bad of ['', 'a$b', 'nul\u0000x', 'system.users', '_ferretdb_x', '_qtask_tickets', '.x', 'y'.repeat(121)]) {
      await assert.rejects(store.createTasks(bad, [{ k: 1 }]), code('POOL_NAME', (e) => assert.equal(e.path, 'pool')), JSON.stringify(bad));
      await assert.rejects(store.find(bad), code('POOL_NAME'));
    }
    assert.deepEqual(await store.listPools(), before);
  });

  it('stores plain, tool-readable documents with BSON dates and the two indexes', async () => {
    const { ids } = await store.createTasks('readable', [{ model: { class: 'LGBModel' }, seg: [['2020-01-01', '2020-06-30']] }], { priority: 2 });
    const c = await store.claim('readable', { worker: 'w', leaseMs: 60_000 });
    assert.ok(c);
    await store.commit('readable', c.lease, { ic: 0.1, curve: [[1, 2]] });
    const doc = await raw.db(db).collection('readable').findOne({ _id: new ObjectId(ids[0]!) });
    assert.ok(doc);
    assert.equal(doc['def'].model.class, 'LGBModel');
    assert.deepEqual(doc['filter'], doc['def']);
    assert.equal(doc['status'], 'done');
    assert.equal(doc['priority'], 2);
    assert.equal(doc['attempts'], 1);
    assert.equal(doc['res'].ic, 0.1);
    assert.ok(doc['createdAt'] instanceof Date && doc['startedAt'] instanceof Date && doc['finishedAt'] instanceof Date);
    assert.match(doc['hash'], /^[0-9a-f]{64}$/);
    assert.equal(doc['leaseToken'], null);
    // Nested arrays round-trip (FerretDB stores them wrapped).
    assert.deepEqual((await store.get('readable', ids[0]!))?.def['seg'], [['2020-01-01', '2020-06-30']]);
    assert.deepEqual((await store.get('readable', ids[0]!))?.res, { ic: 0.1, curve: [[1, 2]] });
    const indexes = await raw.db(db).collection('readable').indexes();
    const hashIdx = indexes.find((i) => i.name === 'qtask_hash');
    assert.equal(hashIdx?.unique, true);
    assert.deepEqual(hashIdx?.key, { hash: 1 });
    assert.deepEqual(indexes.find((i) => i.name === 'qtask_claim')?.key, { status: 1, priority: -1, createdAt: 1 });
    assert.deepEqual(await store.listPools(), ['readable'], 'qtask bookkeeping collections are not pools');
  });

  it('concurrent creators of the same definitions get the same ids; the unique index decides', async () => {
    const defs = Array.from({ length: 50 }, (_, i) => ({ i }));
    const others = await Promise.all([1, 2, 3].map(async () => openMongoStore(urlFor(server, db))));
    try {
      const results = await Promise.all(others.map((s) => s.createTasks('race', defs)));
      assert.equal(results.reduce((n, r) => n + r.created, 0), 50, 'each definition created exactly once');
      for (const r of results) assert.deepEqual(r.ids, results[0]!.ids);
      assert.deepEqual(await store.stat('race'), { waiting: 50 });
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it('detects the time source at connect: FerretDB has no $$NOW, so the offset path; "server" is refused there', async () => {
    const info = await raw.db(db).admin().command({ buildInfo: 1 });
    const ferret = typeof info['ferretdbVersion'] === 'string';
    assert.equal(store.timeSource, ferret ? 'offset' : 'server');
    assert.ok(Math.abs(store.clock.offsetMs) < 1000, `same machine, offset ${store.clock.offsetMs} ms`);
    if (ferret) {
      await assert.rejects(openMongoStore(urlFor(server, db), { time: 'server' }), code('STORE_CAPABILITY'));
      assert.match(store.server, /^FerretDB v1\./);
      assert.equal(store.claimTickets, true);
    }
    const forced = await openMongoStore(urlFor(server, db), { time: 'offset' });
    try {
      assert.equal(forced.timeSource, 'offset');
    } finally {
      await forced.close();
    }
  });

  it('documents written by another tool with missing fields are skipped with a warning, never claimed, and get() says what is wrong', async () => {
    const warnings: string[] = [];
    const s = await openMongoStore(urlFor(server, db), { warn: (m) => warnings.push(m) });
    try {
      const { ids } = await s.createTasks('mixed', [{ good: 1 }]);
      const coll = raw.db(db).collection('mixed');
      const foreign = [
        { status: 'waiting', def: 'pickled-bytes', filter: { model: 'x' } }, // qlib-style: def is not JSON
        { status: 'waiting' }, // nothing but a status
        { def: { a: 1 }, hash: 'h1', status: 'exploded', attempts: 0 }, // unknown status
      ];
      const inserted = await coll.insertMany(foreign);
      const all = await s.find('mixed');
      assert.deepEqual(all.map((t) => t._id), [ids[0]]);
      assert.equal(warnings.length, 3, warnings.join('\n'));
      assert.ok(warnings.every((w) => /skipping malformed document [0-9a-f]{24} in pool "mixed"/.test(w)));
      await assert.rejects(s.get('mixed', inserted.insertedIds[0]!.toHexString()), code('TASK_MALFORMED'));
      assert.deepEqual(await s.stat('mixed'), { waiting: 1 });
      const c = await s.claim('mixed', { worker: 'w', leaseMs: 60_000 });
      assert.equal(c?.task._id, ids[0]);
      assert.equal(await s.claim('mixed', { worker: 'w', leaseMs: 60_000 }), null, 'foreign documents are never claimed');
      await s.commit('mixed', c!.lease, 'ok');
      assert.equal(await coll.countDocuments({ status: 'waiting' }), 2, 'foreign documents are left untouched');
    } finally {
      await s.close();
    }
  });

  it('a filter with an unknown operator is the same QueryError as on SQLite, and nothing reaches the server', async () => {
    await assert.rejects(store.find('readable', { 'def.a': { $where: 'x' } }), code('QUERY_OPERATOR', (e) => assert.equal(e.path, 'def.a.$where')));
    const sqlite = await openStore('sqlite::memory:');
    try {
      await assert.rejects(sqlite.find('readable', { 'def.a': { $where: 'x' } }), code('QUERY_OPERATOR', (e) => assert.equal(e.path, 'def.a.$where')));
    } finally {
      await sqlite.close();
    }
  });
});
