/**
 * The crash test of test/run/crash.test.ts, for any store URL and any way of starting a worker
 * (locally, or inside a network namespace): `qtask worker` processes running the journal task are
 * SIGKILLed at random (seeded) moments and restarted; optionally something else disrupts them
 * (a link taken down). Afterwards the store and the append-only journal must show every task
 * done exactly once by its final holder, nothing lost or left running, and no two live lease
 * holders running one task at once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskStore } from '../../src/store/types.ts';
import type { TaskDocument } from '../../src/task/types.ts';
import { exitWithin, startQtask, type CliProcess as WorkerProcess } from '../support/processes.ts';
import { rng } from '../support/rng.ts';

const TASK_FN = 'test/run/fixtures/journalTask.ts#journalTask';

/** `qtask worker` arguments running the journal task (whose journal path comes from `$QTASK_JOURNAL`). */
export function journalWorkerArgs(url: string, pool: string, workerId: string, leaseSeconds: number): string[] {
  return ['--store', url, '--pool', pool, 'worker', '--task-fn', TASK_FN, '--lease', String(leaseSeconds), '--max-attempts', '50', '--poll', '0.1', '--json', '--worker-id', workerId];
}

export interface CrashScenario {
  store: TaskStore;
  /** The URL workers use (may differ from the test's own, e.g. an address inside a namespace). */
  workerUrl: string;
  pool: string;
  dir: string;
  seed: number;
  tasks: number;
  /** Command prefix per worker slot, e.g. `['ip', 'netns', 'exec', 'qt-w1']`. */
  slots: string[][];
  leaseSeconds: number;
  maxKills: number;
  /**
   * Kill only while at least this many workers are busy, so that few slots are restarting at once
   * and the pool keeps draining on a loaded machine. Default min(2, slots).
   */
  minBusyToKill?: number;
  killPhaseMs: number;
  drainDeadlineMs: number;
  /**
   * Fail when a later attempt of a task started before an earlier one. Default true. A worker whose
   * claim reply is held up by a cut link can start its attempt after the lease ran out and another
   * worker took over; the overlap check still demands that such a holder is reported lease-lost.
   */
  strictStartOrder?: boolean;
  /** Runs once while workers are busy, after the kill phase (e.g. take a link down and up). */
  disrupt?: (ctx: { workers: (WorkerProcess & { id: string; slot: number })[] }) => Promise<void>;
  log?: (line: string) => void;
}

interface JournalLine {
  ev: 'start' | 'end';
  taskId: string;
  worker: string;
  attempt: number;
  t: number;
}

export interface CrashSummary {
  processes: number;
  kills: number;
  rerun: number;
  overlaps: number;
  leaseLost: number;
  /** `finished: done` events the workers printed (a SIGKILL can swallow one after its commit). */
  doneReports: number;
  elapsedMs: number;
  /** Tasks whose final attempt is > 1: claims taken over after a kill or a cut link. */
  takenOver: number;
  /** Worker log lines saying the store was unreachable / reachable again (one pair per outage). */
  reconnectLines: string[];
  /** Claims answered too late to start (`CLAIM_TOO_SLOW`): given back without running the task. */
  lateClaims: number;
}

function readJournal(path: string): JournalLine[] {
  return readFileSync(path, 'utf8')
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

export async function runCrashScenario(s: CrashScenario): Promise<CrashSummary> {
  const random = rng(s.seed);
  const journal = join(s.dir, `${s.pool}.journal`);
  const defs = Array.from({ length: s.tasks }, (_, n) => ({ n, sleepMs: 40 + Math.floor(random() * 120) }));
  const { ids } = await s.store.createTasks(s.pool, defs);
  assert.equal(new Set(ids).size, s.tasks);

  const t0 = Date.now();
  const generation = s.slots.map(() => 0);
  const workers: (WorkerProcess & { id: string; slot: number })[] = [];
  const all: (WorkerProcess & { id: string; slot: number })[] = [];
  const kills = new Map<string, number>();
  const alive = new Set<WorkerProcess>();
  const spawnSlot = (slot: number) => {
    const id = `w${slot}.${generation[slot]!++}`;
    const args = journalWorkerArgs(s.workerUrl, s.pool, id, s.leaseSeconds);
    const w = Object.assign(startQtask(args, { QTASK_JOURNAL: journal }, s.slots[slot]!), { id, slot });
    workers[slot] = w;
    all.push(w);
    alive.add(w);
    void w.exited.then(() => alive.delete(w));
  };
  s.slots.forEach((_, slot) => spawnSlot(slot));

  let disrupted = s.disrupt === undefined;
  let killPhaseStart: number | undefined;
  const minBusy = s.minBusyToKill ?? Math.min(2, s.slots.length);
  const deadline = t0 + s.drainDeadlineMs;
  for (;;) {
    await new Promise((r) => setTimeout(r, 300 + random() * 900));
    const counts = await s.store.stat(s.pool);
    if ((counts.done ?? 0) + (counts.failed ?? 0) === s.tasks) break;
    assert.ok(Date.now() < deadline, `pool did not drain within ${s.drainDeadlineMs} ms: ${JSON.stringify(counts)}`);
    const busy = workers.filter((w) => alive.has(w) && w.events().some((e) => e.type === 'claimed'));
    // Mid-task: the worker's last event is a claim, so a kill now leaves a lease to expire.
    const midTask = busy.filter((w) => w.events().at(-1)?.type === 'claimed');
    // The kill phase's clock starts once workers are actually claiming: under load, starting a
    // worker (tsx) can take seconds, and a clock from t0 would end the phase before any kill.
    if (killPhaseStart === undefined && busy.length >= Math.min(2, s.slots.length)) killPhaseStart = Date.now();
    const killPhase =
      killPhaseStart !== undefined && Date.now() - killPhaseStart <= s.killPhaseMs && kills.size < s.maxKills;
    if (killPhase && busy.length >= minBusy && midTask.length > 0) {
      const w = midTask[Math.floor(random() * midTask.length)]!;
      kills.set(w.id, Date.now());
      w.child.kill('SIGKILL');
      await w.exited;
      s.log?.(`kill ${w.id} at ${Date.now() - t0} ms, done ${counts.done ?? 0}`);
      spawnSlot(w.slot);
    } else if (!killPhase && !disrupted && busy.length === workers.length) {
      // Every worker is past start-up, so the disruption meets running workers (the reconnect
      // path); a worker starting during an outage is tested in test/store/mongodb-reconnect.test.ts.
      disrupted = true;
      await s.disrupt!({ workers: workers.filter((w) => alive.has(w)) });
    }
  }
  assert.ok(disrupted, 'the pool drained before the disruption ran: make the pool bigger');
  for (const w of workers) {
    const r = await exitWithin(w, 60_000);
    assert.ok(r, `worker ${w.id} did not exit after the pool drained; stderr: ${w.stderr()}`);
    assert.equal(r.code, 0, `worker ${w.id} exit code; stderr: ${w.stderr()}`);
  }
  const elapsedMs = Date.now() - t0;

  assert.deepEqual(await s.store.stat(s.pool), { done: s.tasks }, 'every task done; none lost, failed or running');
  const docs = await s.store.find(s.pool, {});
  const byId = new Map<string, TaskDocument>(docs.map((d) => [d._id, d]));
  for (const d of docs) {
    const res = d.res as { n: number; worker: string; attempt: number };
    assert.equal(res.worker, d.worker, `task ${d._id}: result written by the final holder`);
    assert.equal(res.attempt, d.attempts, `task ${d._id}: result from the final attempt`);
    assert.equal(res.n, (d.def as { n: number }).n);
    assert.equal(d.leaseToken, null);
  }

  const lines = readJournal(journal);
  const runs = new Map<string, { worker: string; attempt: number; start: number; end: number | null; taskId: string }>();
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
  let lateClaims = 0;
  for (const w of all) {
    for (const e of w.events()) {
      if (e.type !== 'finished') continue;
      if ((e.error as { code?: string } | undefined)?.code === 'CLAIM_TOO_SLOW') lateClaims++;
      if (e.outcome === 'lease_lost') leaseLost.add(`${String(e.taskId)}/${String(e.attempt)}`);
      if (e.outcome === 'done') doneEvents.set(String(e.taskId), (doneEvents.get(String(e.taskId)) ?? 0) + 1);
    }
  }
  const byTask = new Map<string, { worker: string; attempt: number; start: number; end: number | null }[]>();
  for (const r of runs.values()) byTask.set(r.taskId, [...(byTask.get(r.taskId) ?? []), r]);
  assert.equal(byTask.size, s.tasks, 'every task ran');
  let overlaps = 0;
  let rerun = 0;
  for (const [taskId, rs] of byTask) {
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
        if (s.strictStartOrder ?? true) {
          assert.ok(
            b.start >= a.start,
            `task ${taskId}: attempt ${b.attempt} (${b.worker}) started ${a.start - b.start} ms before attempt ${a.attempt} (${a.worker}; ` +
              `killed: ${kills.has(a.worker)}, reported lease lost: ${leaseLost.has(`${taskId}/${a.attempt}`)}, ended: ${a.end === null ? 'never' : `${a.end - b.start} ms after`})`,
          );
        }
        if (a.end !== null && a.end <= b.start) continue;
        // Overlap: only allowed if the earlier holder was dead (killed) or had lost its lease.
        const killedAt = kills.get(a.worker);
        const excused = (killedAt !== undefined && killedAt <= b.start) || leaseLost.has(`${taskId}/${a.attempt}`);
        assert.ok(excused, `task ${taskId}: attempts ${a.attempt} (${a.worker}) and ${b.attempt} (${b.worker}) ran at once while both were live`);
        overlaps++;
      }
    }
    assert.ok((doneEvents.get(taskId) ?? 0) <= 1, `task ${taskId}: committed ${doneEvents.get(taskId)} times (a stale commit was accepted)`);
  }
  assert.ok(kills.size >= Math.min(2, s.maxKills), `only ${kills.size} kills: the test did not exercise crashes`);
  const takenOver = docs.filter((d) => d.attempts > 1).length;
  assert.ok(takenOver >= 1, 'no task was taken over after a kill: the test did not exercise lease expiry');
  const reconnectLines = all.flatMap((w) => w.stderr().split('\n').filter((l) => /unreachable during|reachable again/.test(l)).map((l) => `${w.id}: ${l}`));
  const doneReports = [...doneEvents.values()].reduce((x, y) => x + y, 0);
  return { processes: all.length, kills: kills.size, rerun, overlaps, leaseLost: leaseLost.size, doneReports, elapsedMs, reconnectLines, takenOver, lateClaims };
}
