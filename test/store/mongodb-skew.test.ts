/**
 * Lease deadlines come from the server's clock, not the workers': a worker whose clock is an
 * hour ahead must neither stretch its own lease nor steal a live one; a worker an hour behind
 * must still take over an expired one. Each worker is a separate process with a skewed clock —
 * through libfaketime (`faketime`, what CI installs) and through a whole-process Date.now shift
 * (no tool needed) — against the real server.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openMongoStore } from '../../src/store/mongodb.ts';
import type { MongoTaskStore } from '../../src/store/mongodb.ts';
import { freshDatabase, mongoTestServer, urlFor } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

const REPO = resolve(import.meta.dirname, '../..');
const FIXTURE = resolve(REPO, 'test/multihost/fixtures/claimOnce.ts');
const HOUR = 3_600_000;

function hasFaketime(): boolean {
  try {
    execFileSync('faketime', ['-f', '+0s', 'true']);
    return true;
  } catch {
    return false;
  }
}

interface ChildResult {
  claimed: { id: string; expiresAt: string; attempt: number } | null;
  localNow: string;
  offsetMs: number;
  timeSource: string;
}

type Skewer = (skewMs: number) => { cmd: string; args: string[]; env: NodeJS.ProcessEnv };

const viaFaketime: Skewer = (skewMs) => ({
  cmd: 'faketime',
  args: ['-f', `${skewMs >= 0 ? '+' : ''}${Math.round(skewMs / 1000)}s`, process.execPath],
  // Monotonic time stays real so the child's timers behave.
  env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1', QTASK_TEST_SKEW_MS: '0' },
});
const viaDateNow: Skewer = (skewMs) => ({ cmd: process.execPath, args: [], env: { ...process.env, QTASK_TEST_SKEW_MS: String(skewMs) } });

async function claimFrom(skewer: Skewer, skewMs: number, url: string, pool: string, leaseMs: number): Promise<ChildResult> {
  const { cmd, args, env } = skewer(skewMs);
  const { stdout } = await promisify(execFile)(cmd, [...args, '--import', 'tsx', FIXTURE, url, pool, String(leaseMs)], { cwd: REPO, env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

let server: MongoTestServer;
before(async () => {
  server = await mongoTestServer();
});
after(async () => {
  await server?.stop();
});

const variants: [string, Skewer][] = [['Date.now shifted in the worker process', viaDateNow]];
if (hasFaketime()) variants.unshift(['libfaketime', viaFaketime]);
else process.stdout.write('# faketime is not installed: only the Date.now variant runs (apt-get install faketime)\n');

for (const [label, skewer] of variants) {
  describe(`skewed worker clocks (${label})`, () => {
    let url: string;
    let store: MongoTaskStore;
    before(async () => {
      url = urlFor(server, freshDatabase('skew'));
      store = await openMongoStore(url);
    });
    after(async () => {
      await store.close();
    });

    it('a worker one hour ahead gets a lease measured on server time', async () => {
      await store.createTasks('ahead', [{ k: 1 }]);
      const before = Date.now();
      const r = await claimFrom(skewer, HOUR, url, 'ahead', 60_000);
      assert.ok(r.claimed, 'claimed');
      assert.ok(Date.parse(r.localNow) - Date.now() > HOUR - 60_000, `child clock is skewed: ${r.localNow}`);
      assert.ok(Math.abs(r.offsetMs + HOUR) < 5_000, `measured offset ${r.offsetMs} ms`);
      const expires = Date.parse(r.claimed.expiresAt);
      assert.ok(expires >= before + 55_000 && expires <= Date.now() + 65_000, `expiresAt ${r.claimed.expiresAt} is not server now + 60 s`);
      const doc = await store.get('ahead', r.claimed.id);
      assert.equal(doc?.leaseExpiresAt, r.claimed.expiresAt);
      assert.ok(Math.abs(Date.parse(doc!.startedAt!) - Date.now()) < 60_000, `startedAt ${doc?.startedAt} on server time`);
    });

    it('a worker one hour ahead does not steal a live lease', async () => {
      await store.createTasks('live', [{ k: 1 }]);
      const holder = await store.claim('live', { worker: 'honest', leaseMs: 60_000 });
      assert.ok(holder);
      const r = await claimFrom(skewer, HOUR, url, 'live', 60_000);
      assert.equal(r.claimed, null, 'the live lease (60 s left on server time) was taken');
      assert.equal((await store.get('live', holder.task._id))?.leaseToken, holder.lease.token);
      await store.commit('live', holder.lease, 'mine');
    });

    it('a worker one hour behind still takes over an expired lease', async () => {
      await store.createTasks('behind', [{ k: 1 }]);
      const dead = await store.claim('behind', { worker: 'dead', leaseMs: 300 });
      assert.ok(dead);
      const deadline = Date.now() + 15_000;
      while (Date.now() <= Date.parse(dead.lease.expiresAt) + 200) {
        assert.ok(Date.now() < deadline);
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await claimFrom(skewer, -HOUR, url, 'behind', 60_000);
      assert.ok(r.claimed, 'the expired lease was not taken over by a worker whose clock is behind');
      assert.equal(r.claimed.id, dead.task._id);
      assert.equal(r.claimed.attempt, 2);
      await assert.rejects(store.commit('behind', dead.lease, 'late'), (e: unknown) => (e as { code?: string }).code === 'LEASE_LOST');
    });
  });
}
