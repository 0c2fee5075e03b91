/**
 * Connection problems of real `qtask worker` processes on a MongoDB-wire server (FerretDB with
 * authentication), reached through a TCP proxy the test takes down and brings back up:
 * - a worker cut off mid-run reconnects with backoff, says so in ONE log line (and one when the
 *   store is back), and drains the pool: every task done, none lost;
 * - a worker that STARTS while the store is down retries with backoff, one line per attempt, the
 *   password never printed, and runs the pool once the store is up;
 * - `--connect-timeout` bounds that wait (exit 2, STORE_UNREACHABLE, nothing written); 0 = one attempt;
 *   `inf` waits until a signal ends it (exit 143).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openMongoStore } from '../../src/store/mongodb.ts';
import type { MongoTaskStore } from '../../src/store/mongodb.ts';
import { waitUntil } from '../run/helpers.ts';
import { exitWithin, startQtask, type CliProcess } from '../support/processes.ts';
import { tcpProxy, type TcpProxy } from '../support/tcpProxy.ts';
import { freePort, freshDatabase, startFerretDB } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

const USER = 'qtask';
const PASSWORD = 'reconnect-s3cret';
let server: MongoTestServer;
let proxy: TcpProxy;
let store: MongoTaskStore;
let database: string;
const started: CliProcess[] = [];

/** The URL workers use: through the proxy, with credentials. */
function proxiedUrl(): string {
  return `mongodb://${USER}:${PASSWORD}@127.0.0.1:${proxy.port}/${database}?authSource=admin`;
}

function worker(pool: string, id: string, extra: string[] = []): CliProcess {
  const args = ['--store', proxiedUrl(), '--pool', pool, 'worker', '--task-fn', 'qtask:sleep', '--lease', '20', '--poll', '0.2', '--json', '--worker-id', id, ...extra];
  const w = startQtask(args);
  started.push(w);
  return w;
}

function linesMatching(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}

function assertNoPassword(w: CliProcess): void {
  assert.ok(!w.stderr().includes(PASSWORD) && !w.stdout().includes(PASSWORD), `the password was printed:\n${w.stderr()}`);
}

before(async () => {
  server = await startFerretDB({
    extraArgs: ['--test-enable-new-auth', '--setup-database=admin', `--setup-username=${USER}`, `--setup-password=${PASSWORD}`],
  });
  database = freshDatabase('reconnect');
  store = await openMongoStore(`mongodb://${USER}:${PASSWORD}@${server.host}:${server.port}/${database}?authSource=admin`);
  proxy = tcpProxy({ host: server.host, port: server.port }, await freePort());
});
after(async () => {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await proxy?.down();
  await store?.close();
  await server?.stop();
});

describe('worker connection problems on MongoDB', () => {
  it('a worker cut off mid-run reconnects with backoff, logs the outage in one line, and drains the pool', { timeout: 180_000 }, async () => {
    const pool = 'midrun';
    await store.createTasks(pool, Array.from({ length: 40 }, (_, n) => ({ n, ms: 100 })));
    await proxy.up();
    const w = worker(pool, 'midrun');
    await waitUntil(() => w.events().filter((e) => e.type === 'finished').length >= 5, 60_000, `5 tasks done before the cut (stderr: ${w.stderr()})`);
    const acceptedBefore = proxy.accepted();
    await proxy.down();
    await waitUntil(() => /unreachable during/.test(w.stderr()), 60_000, `the worker to report the outage (stderr: ${w.stderr()})`);
    // Stay down a little longer than the first backoff steps, so the reconnect really retries.
    await new Promise((r) => setTimeout(r, 2_000));
    await proxy.up();
    const r = await exitWithin(w, 120_000);
    assert.ok(r, `the worker did not finish after the store came back; stderr: ${w.stderr()}`);
    assert.equal(r.code, 0, w.stderr());

    assert.deepEqual(await store.stat(pool), { done: 40 }, 'every task done, none lost or left running');
    const down = linesMatching(w.stderr(), /unreachable during/);
    const back = linesMatching(w.stderr(), /reachable again after/);
    assert.equal(down.length, 1, `one line for the outage, got:\n${down.join('\n')}`);
    assert.match(down[0]!, /reconnecting with backoff for up to 120s/);
    assert.ok(down[0]!.includes(`${USER}:***@127.0.0.1:${proxy.port}`), down[0]);
    assert.equal(back.length, 1, `one line when it is back, got:\n${back.join('\n')}`);
    assert.ok(proxy.accepted() > acceptedBefore, 'the worker opened new connections after the outage');
    assertNoPassword(w);
    const done = w.events().filter((e) => e.type === 'finished' && e.outcome === 'done').length;
    assert.equal(done, 40, 'this worker committed every task exactly once');
    console.log(`${down[0]}\n${back[0]}`);
  });

  it('a worker that starts while the store is down retries with backoff, one redacted line per attempt, then runs the pool', { timeout: 180_000 }, async () => {
    const pool = 'late';
    await store.createTasks(pool, Array.from({ length: 10 }, (_, n) => ({ n, ms: 20 })));
    await proxy.down();
    const w = worker(pool, 'late');
    const retryLine = /attempt \d+ failed after [\d.]+s, retrying in [\d.]+s/;
    await waitUntil(() => linesMatching(w.stderr(), retryLine).length >= 2 || w.child.exitCode !== null, 90_000, `two retry lines (stderr: ${w.stderr()})`);
    assert.equal(w.child.exitCode, null, `the worker gave up while the store was down: ${w.stderr()}`);
    const retries = linesMatching(w.stderr(), retryLine);
    retries.forEach((l, i) => {
      assert.match(l, /STORE_UNREACHABLE|unreachable/);
      assert.ok(l.includes(`${USER}:***@`), `credentials not redacted: ${l}`);
      assert.match(l, new RegExp(`attempt ${i + 1} failed`));
      assert.match(l, /gives up after 120\.0s; --connect-timeout/);
    });
    assert.deepEqual(await store.stat(pool), { waiting: 10 }, 'nothing claimed while the store was unreachable');
    await proxy.up();
    const r = await exitWithin(w, 120_000);
    assert.ok(r, `the worker did not run the pool after the store came up; stderr: ${w.stderr()}`);
    assert.equal(r.code, 0, w.stderr());
    assert.match(w.stderr(), /store reachable after \d+ attempts/);
    assert.deepEqual(await store.stat(pool), { done: 10 });
    assertNoPassword(w);
    for (const l of [...retries, ...linesMatching(w.stderr(), /store reachable after/)]) console.log(l);
  });

  it('--connect-timeout bounds the wait: exit 2 with STORE_UNREACHABLE and nothing written; 0 tries once; inf waits until SIGTERM', { timeout: 120_000 }, async () => {
    const pool = 'bounded';
    await store.createTasks(pool, [{ n: 0, ms: 1 }]);
    await proxy.down();
    const t0 = Date.now();
    // 12 s: room for a second attempt even when a loaded machine stretches the first past 6 s.
    const w = worker(pool, 'bounded', ['--connect-timeout', '12']);
    const r = await exitWithin(w, 90_000);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(r, 'the worker did not give up');
    assert.equal(r.code, 2, w.stderr());
    const last = w.stderr().trim().split('\n').at(-1)!;
    assert.match(last, /^qtask: STORE_UNREACHABLE: .*still unreachable after [2-9] attempts over [\d.]+s/);
    assert.match(last, /hint: .*--connect-timeout/);
    assert.ok(linesMatching(w.stderr(), /retrying in/).length >= 1, w.stderr());
    // One 4 s server selection per attempt, a 12 s budget: well under the 120 s default.
    assert.ok(seconds < 45, `gave up after ${seconds.toFixed(1)} s`);
    assertNoPassword(w);
    console.log(`${last} (${seconds.toFixed(1)} s)`);

    const once = worker(pool, 'once', ['--connect-timeout', '0']);
    const r0 = await exitWithin(once, 60_000);
    assert.equal(r0?.code, 2, once.stderr());
    assert.equal(linesMatching(once.stderr(), /retrying in/).length, 0, once.stderr());
    assert.match(once.stderr(), /STORE_UNREACHABLE/);
    assertNoPassword(once);

    const patient = worker(pool, 'patient', ['--connect-timeout', 'inf']);
    await waitUntil(() => /retrying in/.test(patient.stderr()) || patient.child.exitCode !== null, 60_000, `a retry line (stderr: ${patient.stderr()})`);
    assert.match(patient.stderr(), /no time limit; --connect-timeout/);
    patient.child.kill('SIGTERM');
    const rp = await exitWithin(patient, 30_000);
    assert.equal(rp?.code, 143, `SIGTERM ends the wait: ${patient.stderr()}`);
    assert.match(patient.stderr(), /SIGTERM while connecting to the store: stopping/);

    const bad = worker(pool, 'bad', ['--connect-timeout', 'soon']);
    const rb = await exitWithin(bad, 60_000);
    assert.equal(rb?.code, 2, bad.stderr());
    assert.match(bad.stderr(), /INVALID_NUMBER: --connect-timeout: "soon" is not a number of seconds/);
    assert.deepEqual(await store.stat(pool), { waiting: 1 }, 'nothing claimed or changed');
  });
});
