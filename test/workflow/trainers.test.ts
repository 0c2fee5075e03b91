/**
 * Trainers on real parts: a SQLite pool, worker processes (`qtask worker --task-fn qtask:taskTrain`),
 * a real SIGKILL, the imported S&P 500 data and an mlruns store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Calendar } from '../../src/generate/calendar.ts';
import { RollingGen } from '../../src/generate/rollingGen.ts';
import { taskGenerator } from '../../src/generate/taskGen.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { ExperimentStore } from '../../src/recorder/store.ts';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager } from '../../src/store/taskManager.ts';
import type { TaskDef } from '../../src/task/types.ts';
import { DelayTrainerR, DelayTrainerRM, TrainerRM } from '../../src/workflow/trainer.ts';
import { TM_ID } from '../../src/workflow/taskFns.ts';
import { STATUS_BEGIN, STATUS_END, STATUS_KEY } from '../../src/workflow/taskTrain.ts';
import { firstSymbols, importSp500, QTASK, REPO, tempDir } from './helpers.ts';

const dir = tempDir('qtask-trainers-');
const provider = importSp500(dir);
const mlruns = join(dir, 'mlruns');
// Enough stocks that one task takes seconds, so the kill lands inside training.
const symbols = firstSymbols(25);

function template(testEnd: string): TaskDef {
  return {
    model: { class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ridge', alpha: 0.1 } },
    dataset: {
      class: 'DatasetH',
      module_path: 'qlib.data.dataset',
      kwargs: {
        handler: { class: 'Alpha158', module_path: 'qlib.contrib.data.handler', kwargs: { instruments: symbols, start_time: '2015-01-01', end_time: '2018-06-29', fit_start_time: '2015-01-01', fit_end_time: '2016-12-30', infer_processors: [{ class: 'Fillna', kwargs: { fields_group: 'feature' } }], learn_processors: [{ class: 'DropnaLabel' }] } },
        segments: { train: ['2015-01-01', '2016-12-30'], valid: ['2017-01-03', '2017-03-31'], test: ['2017-04-03', testEnd] },
      },
    },
    record: [{ class: 'SignalRecord', module_path: 'qlib.workflow.record_temp', kwargs: { model: '<MODEL>', dataset: '<DATASET>' } }, { class: 'SigAnaRecord', kwargs: { ana_long_short: false } }],
  };
}

function rolling(testEnd: string): TaskDef[] {
  const calendar = Calendar.fromDays(new LocalProvider(provider).calendarDays());
  return taskGenerator(template(testEnd), new RollingGen({ calendar, step: '1M' }));
}

function recordersOf(exp: string, taskId: string) {
  const store = new ExperimentStore({ uri: mlruns });
  return store.listRecorders({ experimentName: exp }, (r) => r.listTags()[TM_ID] === taskId).infos;
}

async function until<T>(what: string, deadlineMs: number, f: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('TrainerRM: 12 rolling tasks, 2 worker processes + the main process, one worker SIGKILLed mid-training; one FINISHED recorder per task', async () => {
  const tasks = rolling('2018-03-29');
  assert.equal(tasks.length, 12);
  const db = join(dir, 'pool.db');
  const pool = 'rolling_exp';
  const exp = 'rolling_exp';
  const store = new SqliteTaskStore(db);
  try {
    await new TaskManager(store, pool, { log: () => {} }).createTask(tasks);
    const env = { ...process.env, QTASK_PROVIDER_URI: provider, QTASK_MLRUNS: mlruns, QTASK_EXPERIMENT: exp };
    const workers = [0, 1].map(() => {
      const child = spawn(process.execPath, [QTASK, '--store', `sqlite:${db}`, '--pool', pool, 'worker', '--task-fn', 'qtask:taskTrain', '--lease', '15', '--poll', '0.2', '--json'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
      return { child, exited, stderr: () => err, claimed: () => out.split('\n').slice(0, -1).filter((l) => l.includes('"claimed"')).map((l) => (JSON.parse(l) as { taskId: string }).taskId) };
    });
    // Kill a worker while it holds a task: freeze it with SIGSTOP, confirm in the store that its
    // last claimed task is still running (not already committed), then SIGKILL it. Freezing first
    // closes the race where a fast worker commits between the look and the kill.
    let victimIndex = -1;
    const killed = (async () => {
      return until('a worker to hold a running task', 180_000, async () => {
        for (const [i, w] of workers.entries()) {
          const last = w.claimed().at(-1);
          if (last === undefined) continue;
          w.child.kill('SIGSTOP');
          const doc = await store.get(pool, last);
          if (doc?.status !== 'running') {
            w.child.kill('SIGCONT');
            continue;
          }
          victimIndex = i;
          w.child.kill('SIGKILL');
          return last;
        }
        return undefined;
      });
    })();
    // The victim is killed before the main process starts training: the main process trains
    // synchronously in this event loop, which would otherwise starve the polling above.
    const killedTask = await killed;
    const trainer = new TrainerRM({ experimentName: exp, store, taskPool: pool, mlruns, provider, leaseMs: 15_000, waitTimeoutMs: 240_000 });
    const recs = await trainer.train(tasks);
    const exits = await Promise.all(workers.map((w) => w.exited));
    const v = exits[victimIndex];
    const other = exits[1 - victimIndex];
    assert.equal(v!.signal, 'SIGKILL');
    assert.equal(other!.code, 0);
    assert.equal(recs.length, 12);
    const tm = new TaskManager(store, pool, { log: () => {} });
    const docs = await tm.query({});
    assert.equal(docs.length, 12);
    for (const d of docs) {
      assert.equal(d.status, 'done', `task ${d._id}`);
      const infos = recordersOf(exp, d._id);
      const finished = infos.filter((i) => i.status === 'FINISHED');
      assert.equal(finished.length, 1, `task ${d._id}: ${infos.map((i) => i.status).join(', ')}`);
      assert.deepEqual(d.res, { experimentId: finished[0]!.experimentId, experimentName: exp, recorderId: finished[0]!.id, mlruns });
    }
    // The killed worker's run is not FINISHED; the task was trained again by someone else.
    // The killed task was taken over after its lease expired: claimed again, one FINISHED run
    // (checked above for every task), and any run the victim had begun is not FINISHED.
    const killedDoc = docs.find((d) => d._id === killedTask)!;
    assert.ok(killedDoc.attempts >= 2, `killed task attempts ${killedDoc.attempts}`);
    const victimRuns = recordersOf(exp, killedTask);
    assert.equal(victimRuns.filter((i) => i.status === 'FINISHED').length, 1);
    for (const r of recs) {
      assert.equal(r.info().status, 'FINISHED');
      assert.equal(r.listTags()[STATUS_KEY], STATUS_BEGIN);
      assert.ok(r.listArtifacts().includes('pred.csv'));
    }
    // Everyone helped: the main process and the surviving worker both trained tasks.
    const byHost = new Set(docs.map((d) => d.worker));
    assert.ok(byHost.size >= 2, `workers that finished tasks: ${[...byHost].join(', ')}`);
    // Training the same tasks again returns the stored results (qlib's cache by definition).
    const again = await trainer.train(tasks);
    assert.deepEqual(again.map((r) => r.id), recs.map((r) => r.id));
  } finally {
    store.close();
  }
});

test('DelayTrainerRM: train leaves part_done tasks with begun recorders, endTrain fits them in the same recorders', async () => {
  const tasks = rolling('2017-06-30').slice(0, 2);
  const store = new SqliteTaskStore(join(dir, 'delay.db'));
  try {
    const trainer = new DelayTrainerRM({ experimentName: 'delay_exp', store, mlruns, provider });
    assert.equal(trainer.isDelay(), true);
    assert.equal(trainer.hasWorker(), true);
    const recs = await trainer.train(tasks);
    const tm = new TaskManager(store, 'delay_exp', { log: () => {} });
    assert.deepEqual((await tm.query({})).map((d) => d.status), ['part_done', 'part_done']);
    for (const r of recs) {
      assert.equal(r.info().status, 'FINISHED');
      assert.equal(r.listTags()[STATUS_KEY], STATUS_BEGIN);
      assert.deepEqual(r.listArtifacts(), ['task.json']);
    }
    const ended = await trainer.endTrain(recs);
    assert.deepEqual((await tm.query({})).map((d) => d.status), ['done', 'done']);
    for (const r of ended) {
      assert.equal(r.info().status, 'FINISHED');
      assert.equal(r.listTags()[STATUS_KEY], STATUS_END);
      assert.ok(r.listArtifacts().includes('pred.csv'));
      assert.ok(Number.isFinite(r.listMetrics()['IC']));
    }
  } finally {
    store.close();
  }
});

test('DelayTrainerR.endTrain: a recorder without the train_status tag is trained, not a KeyError (W20); an ended one is skipped', async () => {
  const [task] = rolling('2017-06-30');
  const trainer = new DelayTrainerR({ experimentName: 'delay_r', mlruns, provider });
  const [rec] = await trainer.train(task!);
  rec!.deleteTags(STATUS_KEY);
  await trainer.endTrain([rec!]);
  assert.equal(rec!.listTags()[STATUS_KEY], STATUS_END);
  assert.ok(rec!.listArtifacts().includes('pred.csv'));
  const before = rec!.getMetricHistory('IC').length;
  await trainer.endTrain([rec!]);
  assert.equal(rec!.getMetricHistory('IC').length, before, 'an ended recorder is not trained again');
});
