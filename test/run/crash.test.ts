/**
 * THE CRASH TEST. 300 tasks, 4 `qtask worker` processes with 1 s leases, SIGKILLed at random
 * (seeded) moments and restarted until the pool drains. Afterwards the store and an append-only
 * journal written by the task function must show: every task done exactly once by its final
 * holder, nothing lost or left running, and no task run by two live lease holders at once.
 * Also: a stale holder's late commit is rejected and never overwrites the new holder's result.
 * Seed: $QTASK_CRASH_SEED (default below); it is printed so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError } from '../../src/errors.ts';
import type { TaskDocument } from '../../src/task/types.ts';
import { startCli, tempStore, waitUntil, type TempStore, type WorkerProcess } from './helpers.ts';

const TASK_FN = 'test/run/fixtures/journalTask.ts#journalTask';
const SEED = Number(process.env.QTASK_CRASH_SEED ?? 20261125);
const N_TASKS = 300;
const N_WORKERS = 4;
/** Each kill costs a restart (~1–3 s of tsx start-up on 2 cores); more would starve the pool. */
const MAX_KILLS = 12;
const KILL_PHASE_MS = 30_000;

/** mulberry32: small, fast, good enough to pick kill moments reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface JournalLine {
  ev: 'start' | 'end';
  taskId: string;
  worker: string;
  attempt: number;
  pid: number;
  t: number;
}

interface Run {
  taskId: string;
  worker: string;
  attempt: number;
  start: number;
  end: number | null;
}

let t: TempStore;
before(async () => {
  t = await tempStore('qtask-crash-');
});
after(async () => {
  await t.cleanup();
});

function startWorker(pool: string, id: string, journal: string, extra: string[] = []): WorkerProcess {
  return startCli(
    ['--store', t.url, '--pool', pool, 'worker', '--task-fn', TASK_FN, '--lease', '1', '--max-attempts', '50', '--poll', '0.1', '--json', '--worker-id', id, ...extra],
    { QTASK_JOURNAL: journal },
  );
}

function readJournal(path: string): JournalLine[] {
  const text = readFileSync(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l) as JournalLine;
      } catch {
        throw new Error(`journal line ${i + 1} is corrupt (interleaved writes?): ${l}`);
      }
    });
}

describe(`crash test (seed ${SEED})`, () => {
  it(`${N_TASKS} tasks, ${N_WORKERS} workers SIGKILLed at random and restarted: every task done exactly once`, { timeout: 180_000 }, async () => {
    const random = rng(SEED);
    const pool = 'crash';
    const journal = join(t.dir, 'journal.log');
    const defs = Array.from({ length: N_TASKS }, (_, n) => ({ n, sleepMs: 40 + Math.floor(random() * 120) }));
    const { ids } = await t.store.createTasks(pool, defs);
    assert.equal(new Set(ids).size, N_TASKS);

    const t0 = Date.now();
    const generation = Array<number>(N_WORKERS).fill(0);
    const workers: (WorkerProcess & { id: string })[] = [];
    const all: (WorkerProcess & { id: string })[] = [];
    const kills = new Map<string, number>(); // worker id → time SIGKILL was sent
    const alive = new Set<WorkerProcess>();
    const spawn = (slot: number) => {
      const id = `w${slot}.${generation[slot]++}`;
      const w = Object.assign(startWorker(pool, id, journal), { id });
      workers[slot] = w;
      all.push(w);
      alive.add(w);
      void w.exited.then(() => alive.delete(w));
    };
    for (let s = 0; s < N_WORKERS; s++) spawn(s);

    const deadline = t0 + 90_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300 + random() * 900));
      const counts = await t.store.stat(pool);
      if ((counts.done ?? 0) + (counts.failed ?? 0) === N_TASKS) break;
      assert.ok(Date.now() < deadline, `pool did not drain within 90 s: ${JSON.stringify(counts)}`);
      // Kill only workers that are past start-up and running tasks, so kills land mid-task.
      const busy = workers.map((w, slot) => ({ w, slot })).filter(({ w }) => alive.has(w) && w.events().some((e) => e.type === 'claimed'));
      // At least 3 busy: never more than 2 slots restarting, so the pool keeps draining on a loaded machine.
      if (busy.length < 3 || kills.size >= MAX_KILLS || Date.now() - t0 > KILL_PHASE_MS) continue;
      const { w, slot } = busy[Math.floor(random() * busy.length)]!;
      // The time the kill was sent: from here on the worker can no longer heartbeat.
      kills.set(w.id, Date.now());
      w.child.kill('SIGKILL');
      await w.exited;
      if (process.env.QTASK_CRASH_DEBUG) console.log(`# kill ${w.id} at ${Date.now() - t0} ms, done ${counts.done ?? 0}`);
      spawn(slot);
    }
    // Survivors drain on their own: nothing claimable and nothing running → exit 0.
    for (const w of workers) {
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([w.exited, new Promise<null>((res) => (timer = setTimeout(() => res(null), 30_000)))]);
      clearTimeout(timer);
      assert.ok(r, `worker ${w.id} did not exit after the pool drained; stderr: ${w.stderr()}`);
      assert.equal(r.code, 0, `worker ${w.id} exit code; stderr: ${w.stderr()}`);
    }
    const elapsed = Date.now() - t0;

    // --- the store ---
    assert.deepEqual(await t.store.stat(pool), { done: N_TASKS }, 'every task done; none lost, failed or running');
    const docs = await t.store.find(pool, {});
    const byId = new Map<string, TaskDocument>(docs.map((d) => [d._id, d]));
    for (const d of docs) {
      const res = d.res as { n: number; worker: string; attempt: number };
      assert.equal(res.worker, d.worker, `task ${d._id}: result written by the final holder`);
      assert.equal(res.attempt, d.attempts, `task ${d._id}: result from the final attempt`);
      assert.equal(res.n, (d.def as { n: number }).n);
      assert.equal(d.leaseToken, null);
    }

    // --- the journal ---
    const lines = readJournal(journal);
    const runs = new Map<string, Run>();
    for (const l of lines) {
      const key = `${l.taskId}/${l.attempt}`;
      if (l.ev === 'start') {
        assert.ok(!runs.has(key), `attempt ${l.attempt} of ${l.taskId} was started twice (a claim handed out twice)`);
        runs.set(key, { taskId: l.taskId, worker: l.worker, attempt: l.attempt, start: l.t, end: null });
      } else {
        const r = runs.get(key);
        assert.ok(r && r.worker === l.worker, `end without start: ${JSON.stringify(l)}`);
        r.end = l.t;
      }
    }
    const leaseLost = new Set<string>();
    const doneEvents = new Map<string, number>();
    for (const w of all) {
      for (const e of w.events()) {
        if (e.type !== 'finished') continue;
        if (e.outcome === 'lease_lost') leaseLost.add(`${e.taskId}/${e.attempt}`);
        if (e.outcome === 'done') doneEvents.set(e.taskId as string, (doneEvents.get(e.taskId as string) ?? 0) + 1);
      }
    }
    const runsByTask = new Map<string, Run[]>();
    for (const r of runs.values()) runsByTask.set(r.taskId, [...(runsByTask.get(r.taskId) ?? []), r]);
    assert.equal(runsByTask.size, N_TASKS, 'every task ran');
    let overlapsAfterKill = 0;
    let rerun = 0;
    for (const [taskId, rs] of runsByTask) {
      rs.sort((a, b) => a.attempt - b.attempt);
      if (rs.length > 1) rerun++;
      const doc = byId.get(taskId)!;
      const last = rs[rs.length - 1]!;
      assert.equal(last.attempt, doc.attempts, `task ${taskId}: the journal's last run is the final claim`);
      assert.equal(last.worker, doc.worker);
      assert.notEqual(last.end, null, `task ${taskId}: the final run finished`);
      for (let i = 0; i < rs.length; i++) {
        for (let j = i + 1; j < rs.length; j++) {
          const a = rs[i]!;
          const b = rs[j]!;
          assert.ok(b.start >= a.start, `task ${taskId}: attempt ${b.attempt} started before attempt ${a.attempt}`);
          if (a.end !== null && a.end <= b.start) continue;
          // Overlap: only allowed if the earlier holder was dead (killed) or had lost its lease.
          const killedAt = kills.get(a.worker);
          const excused = (killedAt !== undefined && killedAt <= b.start) || leaseLost.has(`${taskId}/${a.attempt}`);
          assert.ok(excused, `task ${taskId}: attempts ${a.attempt} (${a.worker}) and ${b.attempt} (${b.worker}) ran at once while both were live`);
          overlapsAfterKill++;
        }
      }
      assert.ok((doneEvents.get(taskId) ?? 0) <= 1, `task ${taskId}: committed ${doneEvents.get(taskId)} times`);
    }
    const reportedDone = [...doneEvents.values()].reduce((a, b) => a + b, 0);
    assert.ok(reportedDone >= N_TASKS - kills.size, `done events ${reportedDone} (kills ${kills.size})`);
    assert.ok(kills.size >= 4, `only ${kills.size} kills: the test did not exercise crashes`);
    assert.ok(rerun >= 1, 'some task was taken over after a kill');
    console.log(
      `# crash test: seed ${SEED}, ${N_TASKS} tasks, ${all.length} worker processes, ${kills.size} SIGKILLs, ${rerun} tasks re-run after a kill, ` +
        `${overlapsAfterKill} overlaps all with a dead/lease-lost holder, ${leaseLost.size} lease-lost reports, ${(elapsed / 1000).toFixed(1)} s`,
    );
  });

  it('a stale holder (SIGSTOPped worker) cannot overwrite the result of the worker that took over', { timeout: 60_000 }, async () => {
    const pool = 'stalled';
    const journal = join(t.dir, 'stalled.log');
    const { ids } = await t.store.createTasks(pool, [{ n: 0, sleepMs: 1500 }]);
    const id = ids[0]!;
    const w = startWorker(pool, 'stalled', journal);
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
