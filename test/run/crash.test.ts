/**
 * THE CRASH TEST. 300 tasks, 4 `qtask worker` processes with 1 s leases, SIGKILLed at random
 * (seeded) moments and restarted until the pool drains. Afterwards the store and an append-only
 * journal written by the task function must show: every task done exactly once by its final
 * holder, nothing lost or left running, and no task run by two live lease holders at once.
 * Also: a stale holder's late commit is rejected and never overwrites the new holder's result.
 * Seed: $QTASK_CRASH_SEED (default below); it is printed so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError } from '../../src/errors.ts';
import { journalWorkerArgs, runCrashScenario } from '../multihost/crashScenario.ts';
import { startCli, tempStore, waitUntil, type TempStore } from './helpers.ts';

const SEED = Number(process.env.QTASK_CRASH_SEED ?? 20261125);
const N_TASKS = 300;
const N_WORKERS = 4;

let t: TempStore;
before(async () => {
  t = await tempStore('qtask-crash-');
});
after(async () => {
  await t.cleanup();
});

describe(`crash test (seed ${SEED})`, () => {
  it(`${N_TASKS} tasks, ${N_WORKERS} workers SIGKILLed at random and restarted: every task done exactly once`, { timeout: 180_000 }, async () => {
    // The checks (store, journal, overlaps, stale commits) are the shared scenario's; see test/multihost/crashScenario.ts.
    const r = await runCrashScenario({
      store: t.store,
      workerUrl: t.url,
      pool: 'crash',
      dir: t.dir,
      seed: SEED,
      tasks: N_TASKS,
      slots: Array.from({ length: N_WORKERS }, () => []),
      leaseSeconds: 1,
      // Each kill costs a restart (~1–3 s of tsx start-up on 2 cores); more would starve the pool.
      maxKills: 12,
      minBusyToKill: 3,
      killPhaseMs: 30_000,
      drainDeadlineMs: 90_000,
      ...(process.env.QTASK_CRASH_DEBUG ? { log: (line: string) => console.log(`# ${line}`) } : {}),
    });
    assert.ok(r.kills >= 4, `only ${r.kills} kills: the test did not exercise crashes`);
    assert.ok(r.rerun >= 1, 'some task was taken over after a kill');
    assert.ok(r.doneReports >= N_TASKS - r.kills, `done events ${r.doneReports} (kills ${r.kills})`);
    console.log(
      `# crash test: seed ${SEED}, ${N_TASKS} tasks, ${r.processes} worker processes, ${r.kills} SIGKILLs, ${r.rerun} tasks re-run after a kill, ` +
        `${r.overlaps} overlaps all with a dead/lease-lost holder, ${r.leaseLost} lease-lost reports, ${(r.elapsedMs / 1000).toFixed(1)} s`,
    );
  });

  it('a stale holder (SIGSTOPped worker) cannot overwrite the result of the worker that took over', { timeout: 60_000 }, async () => {
    const pool = 'stalled';
    const journal = join(t.dir, 'stalled.log');
    const { ids } = await t.store.createTasks(pool, [{ n: 0, sleepMs: 1500 }]);
    const id = ids[0]!;
    const w = startCli(journalWorkerArgs(t.url, pool, 'stalled', 1), { QTASK_JOURNAL: journal });
    await waitUntil(() => w.events().some((e) => e.type === 'claimed'), 30_000, `the worker to claim (stderr: ${w.stderr()})`);
    w.child.kill('SIGSTOP');
    try {
      const held = await t.store.get(pool, id);
      await waitUntil(async () => Date.now() > Date.parse((await t.store.get(pool, id))!.leaseExpiresAt ?? '0') + 50, 10_000, 'the stalled lease to expire');
      const b = await t.store.claim(pool, { worker: 'B', leaseMs: 60_000 });
      assert.equal(b?.task._id, id);
      assert.equal(b?.lease.attempt, (held?.attempts ?? 0) + 1);
      await t.store.commit(pool, b!.lease, { by: 'B' });
    } finally {
      w.child.kill('SIGCONT');
    }
    const r = await w.exited;
    assert.equal(r.code, 0, w.stderr());
    const finished = w.events().filter((e) => e.type === 'finished');
    assert.deepEqual(finished.map((e) => e.outcome), ['lease_lost'], w.stderr());
    const doc = await t.store.get(pool, id);
    assert.equal(doc?.status, 'done');
    assert.deepEqual(doc?.res, { by: 'B' });
    assert.equal(doc?.worker, 'B');
  });

  it('store level: commit, heartbeat and release with a taken-over lease throw LeaseLostError and change nothing', async () => {
    const pool = 'fencing';
    const { ids } = await t.store.createTasks(pool, [{ n: 1 }]);
    const a = await t.store.claim(pool, { worker: 'A', leaseMs: 150 });
    assert.ok(a);
    await waitUntil(() => Date.now() > Date.parse(a.lease.expiresAt) + 20, 5000, 'lease A to expire');
    const b = await t.store.claim(pool, { worker: 'B', leaseMs: 60_000 });
    assert.equal(b?.task._id, ids[0]);
    assert.notEqual(b?.lease.token, a.lease.token);
    await t.store.commit(pool, b!.lease, { by: 'B' });
    const before = JSON.stringify(await t.store.get(pool, ids[0]!));
    await assert.rejects(t.store.commit(pool, a.lease, { by: 'A' }), LeaseLostError);
    await assert.rejects(t.store.heartbeat(pool, a.lease, 1000), LeaseLostError);
    await assert.rejects(t.store.release(pool, a.lease), LeaseLostError);
    await assert.rejects(t.store.fail(pool, a.lease, { message: 'x', code: 'X' }), LeaseLostError);
    assert.equal(JSON.stringify(await t.store.get(pool, ids[0]!)), before);
  });
});
