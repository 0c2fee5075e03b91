/**
 * The online manager training through a SQLite task pool (qlib's TrainerRM / DelayTrainerRM): real
 * `qtask worker --task-fn qtask:taskTrain` / `qtask:endTaskTrain` processes train the routine's tasks,
 * and the result is the same as training in-process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../../src/generate/calendar.ts';
import { OnlineManager, PoolTrainer } from '../../src/online/index.ts';
import { getStore } from '../../src/recorder/R.ts';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager } from '../../src/store/taskManager.ts';
import { STATUS_END, STATUS_KEY } from '../../src/workflow/taskTrain.ts';
import { manager, newSetup, QTASK, REPO, runRoutineChild, smallProvider, strategies, tmpRoot } from './helpers.ts';
import type { Setup } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root, 8);
const cal = Calendar.fromFile(join(providerUri, 'calendars', 'day.txt')).days;
const days2019 = cal.filter((d) => d >= '2019-01-02');
const END = days2019[45]!; // step 20: the first model, then switches on 2019 days 20 and 40

interface Worker {
  exited: Promise<number | null>;
  claimed: () => string[];
  stderr: () => string;
}

function startWorker(s: Setup, db: string, taskFn: string, before = 'waiting'): Worker {
  const env = { ...process.env, QTASK_PROVIDER_URI: s.providerUri, QTASK_MLRUNS: s.mlruns, QTASK_EXPERIMENT: 'lin' };
  const child = spawn(process.execPath, [QTASK, '--store', `sqlite:${db}`, '--pool', 'lin', 'worker', '--task-fn', taskFn, '--before-status', before, '--lease', '60', '--poll', '0.2', '--json'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    exited: new Promise((res) => child.on('close', (code) => res(code))),
    claimed: () => out.split('\n').filter((l) => l.includes('"claimed"')).map((l) => (JSON.parse(l) as { taskId: string }).taskId),
    stderr: () => err,
  };
}

/**
 * While `work` runs, starts two workers whenever the pool has claimable tasks (workers exit when the
 * pool has nothing left, so each routine that enqueues gets its own pair). Returns every worker.
 */
async function withWorkers<T>(s: Setup, db: string, taskFn: string, before: 'waiting' | 'part_done', work: Promise<T>): Promise<{ result: T; workers: Worker[] }> {
  const store = new SqliteTaskStore(db);
  const workers: Worker[] = [];
  let done = false;
  const result = work.finally(() => (done = true));
  const spawner = (async () => {
    while (!done) {
      const counts = await store.stat('lin', {});
      if ((counts[before] ?? 0) > 0) {
        const pair = [startWorker(s, db, taskFn, before), startWorker(s, db, taskFn, before)];
        workers.push(...pair);
        const codes = await Promise.all(pair.map((w) => w.exited));
        codes.forEach((c, i) => assert.equal(c, 0, pair[i]!.stderr()));
      } else await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const value = await result;
  await spawner;
  await store.close();
  return { result: value, workers };
}

function switches(m: OnlineManager): string[] {
  return m.state.history.filter((h, i, arr) => i === 0 || h.recorderIds.join() !== arr[i - 1]!.recorderIds.join()).map((h) => h.time);
}

const baseline = (async () => {
  const a = manager(newSetup(root, providerUri, 'local'), { step: 20 });
  await a.simulate({ end: END });
  return { switches: switches(a), signals: readFileSync(a.signalsPath, 'utf8') };
})();

test('TrainerRM: every model of the simulation is trained by qtask worker processes on a SQLite pool; same switches and signals as in-process training', { timeout: 600_000 }, async () => {
  const s = newSetup(root, providerUri, 'pool');
  const db = join(s.stateDir, '..', 'pool.db');
  const store = new SqliteTaskStore(db);
  const trainer = new PoolTrainer({ store, providerUri, mlruns: s.mlruns, skipRunTask: true, waitTimeoutMs: 300_000 });
  const m = new OnlineManager({ strategies: strategies(s, 20), trainer, providerUri, stateDir: s.stateDir, beginTime: '2019-01-02' });
  const { workers } = await withWorkers(s, db, 'qtask:taskTrain', 'waiting', m.simulate({ end: END }));
  const base = await baseline;
  assert.deepEqual(switches(m), base.switches);
  assert.equal(switches(m).length, 3);
  assert.equal(readFileSync(m.signalsPath, 'utf8'), base.signals, 'byte-identical signals');
  const docs = await new TaskManager(store, 'lin', { log: () => {} }).query({});
  assert.equal(docs.length, 3, 'one pool task per model');
  assert.ok(docs.every((d) => d.status === 'done'));
  const claimed = workers.flatMap((w) => w.claimed()).sort();
  assert.deepEqual(claimed, docs.map((d) => d._id).sort(), 'the workers trained every task (the manager only enqueued)');
  const ever = m.state.everOnline['lin']!;
  assert.deepEqual([...ever].sort(), docs.map((d) => (d.res as { recorderId: string }).recorderId).sort(), 'the online models are the pool results');
  // a routine for a day already done changes nothing, and the pool is untouched
  assert.equal((await m.routine(END)).ran, false);
  assert.equal((await new TaskManager(store, 'lin', { log: () => {} }).query({})).length, 3);
  await store.close();
});

test('DelayTrainerRM: begin in the routine, fit at the end (postponed to the end of a simulation); then a routine whose fit is done by qtask:endTaskTrain workers', { timeout: 600_000 }, async () => {
  const s = newSetup(root, providerUri, 'delaypool');
  const db = join(s.stateDir, '..', 'pool.db');
  const store = new SqliteTaskStore(db);
  const m = new OnlineManager({ strategies: strategies(s, 20), trainer: new PoolTrainer({ store, providerUri, mlruns: s.mlruns, delay: true }), providerUri, stateDir: s.stateDir, beginTime: '2019-01-02' });
  let rowsDuring = 0;
  await m.simulate({ end: END, onDay: (r) => (rowsDuring += r.signalRows) });
  assert.equal(rowsDuring, 0, 'no signal while the fits are postponed');
  const base = await baseline;
  assert.deepEqual(switches(m), base.switches);
  assert.equal(readFileSync(m.signalsPath, 'utf8'), base.signals);
  const tm = new TaskManager(store, 'lin', { log: () => {} });
  assert.ok((await tm.query({})).every((d) => d.status === 'done'));

  // online now: the next switch day's routine begins the task here (→ part_done) and, at the routine's
  // end, waits for the fit, which qtask:endTaskTrain workers do (skipRunTask)
  const next = days2019[60]!;
  const later = OnlineManager.load(s.stateDir, strategies(s, 20), new PoolTrainer({ store, providerUri, mlruns: s.mlruns, delay: true, skipRunTask: true, waitTimeoutMs: 300_000 }), providerUri);
  const { result: r, workers } = await withWorkers(s, db, 'qtask:endTaskTrain', 'part_done', later.routine(next));
  assert.equal(r.ran, true);
  assert.equal(r.trained['lin']!.length, 1);
  const docs = await tm.query({});
  assert.equal(docs.length, 4);
  assert.ok(docs.every((d) => d.status === 'done'));
  const newTask = docs.find((d) => (d.res as { recorderId: string }).recorderId === r.trained['lin']![0])!;
  assert.deepEqual(workers.flatMap((w) => w.claimed()), [newTask._id], 'a worker fitted the new model');
  const exp = getStore({ uri: s.mlruns }).getExperiment({ experimentName: 'lin' }, { create: false });
  const rec = getStore({ uri: s.mlruns }).getRecorder({ recorderId: r.trained['lin']![0]!, experimentId: exp.id });
  assert.equal(rec.listTags()[STATUS_KEY], STATUS_END);
  assert.equal(rec.info().status, 'FINISHED');
  assert.ok(rec.listArtifacts().includes('pred.csv'), 'fitted before the switch (W34)');
  assert.equal(later.strategies[0]!.tool.readSet().recorderIds[0], rec.id, 'the new model is online');
  assert.equal(later.state.signals.end, next);
  assert.ok(r.signalRows > 0);
  await store.close();
});

test('TrainerRM: a routine SIGKILLed while it trains a pool task; the re-run takes the task over when its lease expires and ends like an uninterrupted run', { timeout: 600_000 }, async () => {
  const s = { ...newSetup(root, providerUri, 'poolkill'), step: 20 };
  const db = join(s.stateDir, '..', 'pool.db');
  const pool = { pool: db, leaseMs: 3000 };
  const trainer = new PoolTrainer({ store: `sqlite:${db}`, providerUri, mlruns: s.mlruns, leaseMs: pool.leaseMs });
  const m = new OnlineManager({ strategies: strategies(s, 20), trainer, providerUri, stateDir: s.stateDir, beginTime: '2019-01-02' });
  const switchDay = days2019[40]!;
  await m.simulate({ end: days2019[39]! });
  await trainer.close();
  const infos = () => getStore({ uri: s.mlruns }).listRecorders({ experimentName: 'lin' }).infos;
  const killed = await runRoutineChild(s, switchDay, { pool, killWhen: () => infos().some((i) => i.status === 'RUNNING'), deadlineMs: 180_000 });
  assert.equal(killed.signal, 'SIGKILL', `the routine finished before it was killed: ${killed.out}`);
  const store = new SqliteTaskStore(db);
  const tm = new TaskManager(store, 'lin', { log: () => {} });
  const held = (await tm.query({})).filter((d) => d.status === 'running');
  assert.equal(held.length, 1, 'the dead routine still holds its task');
  const t0 = Date.now();
  const again = await runRoutineChild(s, switchDay, { pool });
  assert.equal(again.code, 0, again.out);
  const r = JSON.parse(again.out.trim().split('\n').at(-1)!) as { ran: boolean; trained: Record<string, string[]>; failedOrphans: string[] };
  assert.equal(r.ran, true);
  assert.equal(r.failedOrphans.length, 1, 'the dead run was ended FAILED');
  assert.ok(Date.now() - t0 < 150_000);
  const docs = await tm.query({});
  assert.equal(docs.length, 3);
  assert.ok(docs.every((d) => d.status === 'done'), JSON.stringify(docs.map((d) => d.status)));
  const retaken = docs.find((d) => d._id === held[0]!._id)!;
  assert.equal(retaken.attempts, 2, 'claimed again after the lease expired');
  assert.equal((retaken.res as { recorderId: string }).recorderId, r.trained['lin']![0]);
  const all = infos();
  assert.equal(all.filter((i) => i.status === 'FINISHED').length, 3, 'one finished run per task');
  assert.equal(all.filter((i) => i.status === 'RUNNING').length, 0);
  // the signals equal the uninterrupted in-process run's, day for day
  const base = (await baseline).signals.split('\n').filter((l, i) => i === 0 || l.slice(0, 10) <= switchDay).join('\n');
  assert.equal(readFileSync(join(s.stateDir, 'signals.csv'), 'utf8').trimEnd(), base.trimEnd());
  await store.close();
});
