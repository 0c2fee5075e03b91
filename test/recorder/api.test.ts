import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExperimentStore, R, RecorderError, resolveMlrunsUri } from '../../src/index.ts';
import type { Panel } from '../../src/data/types.ts';
import { tempRoot } from './helpers.ts';

function expectCode(fn: () => unknown, code: string, pathPart?: string): RecorderError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RecorderError, `expected RecorderError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.hint && e.hint.length > 0, 'typed errors carry a hint');
    if (pathPart !== undefined) assert.ok(e.path?.includes(pathPart), `path ${e.path} should include ${pathPart}`);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('experiments: create, get by name/id, no silent creation (W40), duplicates refused, delete moves to .trash', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  assert.deepEqual(store.listExperiments().experiments.map((e) => [e.id, e.name]), [['0', 'Default']]);
  const e = store.createExperiment('alpha');
  assert.match(e.id, /^\d+$/);
  assert.equal(store.getExperiment({ experimentName: 'alpha' }).id, e.id);
  assert.equal(store.getExperiment({ experimentId: e.id }).name, 'alpha');
  const err = expectCode(() => store.getExperiment({ experimentName: 'alpah' }), 'EXPERIMENT_NOT_FOUND');
  assert.match(err.hint!, /"alpha"/);
  expectCode(() => store.listRecorders('alpah'), 'EXPERIMENT_NOT_FOUND');
  assert.equal(store.listExperiments().experiments.length, 2, 'a lookup of a mistyped name created nothing');
  expectCode(() => store.createExperiment('alpha'), 'EXPERIMENT_EXISTS');
  expectCode(() => store.createExperiment(''), 'EXPERIMENT_NAME');
  assert.equal(store.getExperiment({ experimentName: 'beta' }, { create: true }).name, 'beta');

  const rec = store.start({ experimentName: 'alpha' });
  rec.end();
  store.deleteExperiment({ experimentName: 'alpha' });
  assert.ok(existsSync(join(store.root, '.trash', e.id, 'meta.yaml')));
  assert.ok(!existsSync(join(store.root, e.id)));
  assert.deepEqual(store.listExperiments().experiments.map((x) => x.name).sort(), ['Default', 'beta']);
  const deleted = store.listExperiments({ includeDeleted: true }).experiments.find((x) => x.id === e.id)!;
  assert.equal(deleted.lifecycleStage, 'deleted');
  assert.equal(store.getRecorder({ recorderId: rec.id }).info().lifecycleStage, 'deleted', 'runs of a deleted experiment are deleted too');
  expectCode(() => store.createExperiment('alpha'), 'EXPERIMENT_EXISTS');
  expectCode(() => store.start({ experimentId: e.id }), 'EXPERIMENT_DELETED');
  expectCode(() => store.deleteExperiment({ experimentId: '0' }), 'EXPERIMENT_DEFAULT');
});

test('recorder: params, metrics with steps, tags, info, end; default name is the run id (W18)', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const rec = store.start({ experimentName: 'exp' });
  assert.match(rec.id, /^[0-9a-f]{32}$/);
  assert.equal(rec.name, rec.id);
  let info = rec.info();
  assert.equal(info.status, 'RUNNING');
  assert.equal(info.stale, false);
  assert.equal(info.endTime, null);
  rec.logParams({ 'model.class': 'LinearModel', 'model.kwargs.alpha': 0.5, n: 3, flag: false, nothing: null, list: [1, 'a'] });
  rec.logParams({ n: 3 });
  expectCode(() => rec.logParams({ n: 4 }), 'PARAM_CHANGED', 'params.n');
  assert.deepEqual(rec.listParams(), {
    'model.class': 'LinearModel',
    'model.kwargs.alpha': '0.5',
    n: '3',
    flag: 'False',
    nothing: 'None',
    list: '[1,"a"]',
  });
  rec.logMetrics({ loss: 1.5, IC: 0.03 }, 0, 1000);
  rec.logMetrics({ loss: 0.75 }, 1, 1001);
  rec.logMetrics({ loss: 0.5 }, 2, 1002);
  rec.logMetrics({ 'train/loss': NaN }, 0, 1003);
  assert.deepEqual(rec.listMetrics(), { loss: 0.5, IC: 0.03, 'train/loss': NaN });
  assert.deepEqual(rec.getMetricHistory('loss'), [
    { timestamp: 1000, value: 1.5, step: 0 },
    { timestamp: 1001, value: 0.75, step: 1 },
    { timestamp: 1002, value: 0.5, step: 2 },
  ]);
  assert.deepEqual(rec.getMetricHistory('never'), []);
  rec.setTags({ hostname: 'h1', train_status: 'begin_task_train', '_id in TaskManager': 'abc' });
  const tags = rec.listTags();
  assert.equal(tags.train_status, 'begin_task_train');
  assert.equal(tags['_id in TaskManager'], 'abc');
  assert.equal(tags['mlflow.runName'], rec.id);
  rec.deleteTags('hostname');
  assert.equal(rec.listTags().hostname, undefined);
  rec.setTags({ 'mlflow.runName': 'renamed' });
  assert.equal(rec.info().name, 'renamed', 'setting mlflow.runName renames the run, as MLflow does');
  rec.end();
  info = rec.info();
  assert.equal(info.status, 'FINISHED');
  assert.ok(info.endTime !== null && info.endTime >= info.startTime);
  rec.setTags({ train_status: 'end_task_train' });
  assert.equal(store.getRecorder({ recorderId: rec.id }).listTags().train_status, 'end_task_train', 'finished runs can still be tagged (trainers do)');
});

test('bad keys and values are typed errors and write nothing', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const rec = store.start({ experimentName: 'exp' });
  const before = readdirSync(join(rec.runDir, 'params'));
  expectCode(() => rec.logParams({ good: 1, '../escape': 2 }), 'RECORDER_KEY', 'params.../escape');
  expectCode(() => rec.logParams({ good: 1, '/abs': 2 }), 'RECORDER_KEY');
  expectCode(() => rec.logParams({ 'a\nb': 1 }), 'RECORDER_KEY');
  assert.deepEqual(readdirSync(join(rec.runDir, 'params')), before, 'no param written when one key is bad');
  expectCode(() => rec.logMetrics({ ok: 1, bad: 'x' as unknown as number }), 'METRIC_VALUE', 'metrics.bad');
  expectCode(() => rec.logMetrics({ ok: 1 }, 1.5), 'METRIC_VALUE', 'step');
  assert.deepEqual(readdirSync(join(rec.runDir, 'metrics')), []);
  expectCode(() => rec.saveObjects({ fine: { a: 1 }, bad: { when: new Date() } as never }), 'ARTIFACT_TYPE', 'bad.when');
  expectCode(() => rec.saveObjects({ nan: { x: NaN } }), 'ARTIFACT_TYPE');
  expectCode(() => rec.saveObjects({ '.qtask-x': {} }), 'RECORDER_KEY');
  assert.deepEqual(rec.listArtifacts(), [], 'no artifact written when one object is bad');
  expectCode(() => rec.loadObject('missing'), 'ARTIFACT_NOT_FOUND');
  expectCode(() => store.getRecorder({ recorderId: '../../etc' }), 'RUN_NOT_FOUND');
  expectCode(() => store.getRecorder({ recorderId: 'f'.repeat(32) }), 'RUN_NOT_FOUND');
  rec.end();
});

test('artifacts: JSON, Panel and column-table CSV, bytes, sub-paths, log_artifact; pickles refused', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const rec = store.start({ experimentName: 'exp' });
  const task = { model: { class: 'LinearModel', kwargs: { alpha: 0.1 } }, record: [], n: null };
  const pred: Panel = {
    dates: ['2020-01-02', '2020-01-02', '2020-01-03'],
    instruments: ['AAPL', 'MSFT', 'AAPL'],
    columns: ['score'],
    groups: ['feature'],
    values: [new Float64Array([0.125, NaN, -Infinity])],
  };
  const label: Panel = { ...pred, columns: ['LABEL0'], groups: ['label'], values: [new Float64Array([1e-7, 2.5, 3])] };
  const ic = { date: ['2020-01-02', '2020-01-03'], ic: new Float64Array([0.1, -0.2]) };
  const bytes = new Uint8Array([0, 1, 2, 255]);
  const written = rec.saveObjects({ task, pred, label, 'model.bin': bytes });
  assert.deepEqual(written, ['task.json', 'pred.csv', 'label.csv', 'model.bin']);
  rec.saveObjects({ ic }, { artifactPath: 'sig_analysis' });
  const local = join(dirname(tempRoot()), 'notes.txt');
  writeFileSync(local, 'hello');
  assert.equal(rec.logArtifact(local, 'extra'), 'extra/notes.txt');
  assert.deepEqual(rec.listArtifacts(), ['extra/notes.txt', 'label.csv', 'model.bin', 'pred.csv', 'sig_analysis/ic.csv', 'task.json']);
  assert.deepEqual(rec.listArtifacts('sig_analysis'), ['sig_analysis/ic.csv']);

  assert.deepEqual(rec.loadObject('task'), task);
  assert.deepEqual(rec.loadObject('task.json'), task);
  const p = rec.loadObject('pred') as Panel;
  assert.deepEqual(p.dates, pred.dates);
  assert.deepEqual(p.instruments, pred.instruments);
  assert.deepEqual(p.columns, ['score']);
  assert.deepEqual([...p.values[0]!], [0.125, NaN, -Infinity]);
  assert.deepEqual((rec.loadObject('label') as Panel).groups, ['label']);
  assert.deepEqual([...(rec.loadObject('label') as Panel).values[0]!], [1e-7, 2.5, 3]);
  const t = rec.loadObject('sig_analysis/ic') as Record<string, unknown>;
  assert.deepEqual(t.date, ['2020-01-02', '2020-01-03']);
  assert.deepEqual([...(t.ic as Float64Array)], [0.1, -0.2]);
  assert.deepEqual(rec.loadObject('model.bin'), bytes);
  assert.equal(Buffer.from(rec.loadObject('extra/notes.txt') as Uint8Array).toString(), 'hello');

  writeFileSync(join(rec.runDir, 'artifacts', 'old.pkl'), Buffer.from([0x80, 0x04]));
  expectCode(() => rec.loadObject('old.pkl'), 'ARTIFACT_PICKLE');
  writeFileSync(join(rec.runDir, 'artifacts', 'broken.json'), '{"a": ');
  expectCode(() => rec.loadObject('broken'), 'ARTIFACT_CORRUPT');
  rec.end();
});

test('listRecorders: newest first, filter, status, deleted hidden; getRecorder by name, ambiguous names list ids', async () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const a = store.start({ experimentName: 'exp', recorderName: 'same' });
  a.end();
  await new Promise((r) => setTimeout(r, 5));
  const b = store.start({ experimentName: 'exp', recorderName: 'same' });
  b.end('FAILED');
  await new Promise((r) => setTimeout(r, 5));
  const c = store.start({ experimentName: 'exp', recorderName: 'unique' });
  c.setTags({ online_status: 'online' });
  c.end();
  const all = store.listRecorders('exp');
  assert.deepEqual(all.recorders.map((r) => r.id), [c.id, b.id, a.id]);
  assert.deepEqual(all.problems, []);
  assert.deepEqual(store.listRecorders('exp', (r) => r.listTags().online_status === 'online').recorders.map((r) => r.id), [c.id]);
  assert.deepEqual(store.listRecorders({ experimentName: 'exp' }, undefined, { status: ['FAILED'] }).recorders.map((r) => r.id), [b.id]);
  assert.equal(store.getRecorder({ experimentName: 'exp', recorderName: 'unique' }).id, c.id);
  const err = expectCode(() => store.getRecorder({ experimentName: 'exp', recorderName: 'same' }), 'RUN_NAME_AMBIGUOUS');
  assert.ok(err.message.includes(a.id) && err.message.includes(b.id));
  expectCode(() => store.getRecorder({ experimentName: 'exp', recorderName: 'nope' }), 'RUN_NOT_FOUND');
  store.deleteRecorder(a.id);
  assert.equal(store.getRecorder({ experimentName: 'exp', recorderName: 'same' }).id, b.id, 'deleted runs are not listed');
  assert.deepEqual(store.listRecorders('exp', undefined, { includeDeleted: true }).recorders.length, 3);
  expectCode(() => store.getRecorder({ recorderId: a.id }).logMetrics({ x: 1 }), 'RUN_DELETED');
});

test('R: start scope ends FINISHED / FAILED on throw; per-scope active recorder; NO_ACTIVE_RECORDER outside', async () => {
  const root = tempRoot();
  assert.throws(() => R.logMetrics({ x: 1 }), (e: unknown) => e instanceof RecorderError && e.code === 'NO_ACTIVE_RECORDER');
  const id = await R.start({ uri: root, experimentName: 'rexp', recorderName: 'ok' }, async (rec) => {
    R.logParams({ a: 1 });
    R.logMetrics({ m: 2 }, 3);
    R.setTags({ t: 'v' });
    R.saveObjects({ task: { x: 1 } });
    assert.deepEqual(R.loadObject('task'), { x: 1 });
    assert.equal(R.getRecorder().id, rec.id);
    return rec.id;
  });
  const done = R.getRecorder({ uri: root, recorderId: id });
  assert.equal(done.info().status, 'FINISHED');
  assert.deepEqual(done.getMetricHistory('m').map((p) => [p.value, p.step]), [[2, 3]]);
  let failedId = '';
  await assert.rejects(
    R.start({ uri: root, experimentName: 'rexp', recorderName: 'bad' }, (rec) => {
      failedId = rec.id;
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(R.getRecorder({ uri: root, recorderId: failedId }).info().status, 'FAILED');
  const killedId = await R.start({ uri: root, experimentName: 'rexp' }, (rec) => {
    rec.end('KILLED');
    return rec.id;
  });
  assert.equal(R.getRecorder({ uri: root, recorderId: killedId }).info().status, 'KILLED', 'a status set inside the scope is kept');

  // Two concurrent scopes in one process each log to their own run (qlib's R was process-global, W22).
  const ids = await Promise.all(
    [1, 2].map((k) =>
      R.start({ uri: root, experimentName: 'rexp', recorderName: `c${k}` }, async (rec) => {
        for (let s = 0; s < 3; s++) {
          R.logMetrics({ k }, s);
          await new Promise((r) => setTimeout(r, 2));
        }
        return rec.id;
      }),
    ),
  );
  for (const [i, rid] of ids.entries()) {
    assert.deepEqual(R.getRecorder({ uri: root, recorderId: rid }).getMetricHistory('k').map((p) => p.value), [i + 1, i + 1, i + 1]);
  }
  const listed = R.listRecorders('rexp', undefined, { uri: root });
  assert.equal(listed.recorders.length, 5);
  assert.ok(R.listExperiments({ uri: root }).experiments.some((e) => e.name === 'rexp'));
  R.deleteRecorder(id, { uri: root });
  assert.equal(R.listRecorders('rexp', undefined, { uri: root }).recorders.length, 4);
});

test('resolveMlrunsUri: option > exp_manager.uri > QTASK_MLRUNS > ./mlruns; file: URIs; other schemes refused', () => {
  const cwd = '/work/x';
  assert.equal(resolveMlrunsUri({ cwd, env: {} }), '/work/x/mlruns');
  assert.equal(resolveMlrunsUri({ cwd, env: { QTASK_MLRUNS: 'runs' } }), '/work/x/runs');
  assert.equal(resolveMlrunsUri({ cwd, env: { QTASK_MLRUNS: 'runs' }, config: { exp_manager: { uri: 'file:///data/mlruns' } } }), '/data/mlruns');
  assert.equal(resolveMlrunsUri({ cwd, env: {}, config: { exp_manager: { kwargs: { uri: 'file:rel/mlruns' } } } }), '/work/x/rel/mlruns');
  assert.equal(resolveMlrunsUri({ cwd, uri: '/abs/m', env: { QTASK_MLRUNS: 'runs' }, config: { exp_manager: { uri: 'x' } } }), '/abs/m');
  assert.equal(resolveMlrunsUri({ cwd, uri: 'file:///a%20b/m', env: {} }), '/a b/m');
  for (const bad of ['sqlite:///mlflow.db', 'http://localhost:5000', 'databricks://profile']) {
    assert.throws(() => resolveMlrunsUri({ cwd, uri: bad, env: {} }), (e: unknown) => e instanceof RecorderError && e.code === 'MLRUNS_URI' && e.path === 'uri');
  }
  const prev = process.env.QTASK_MLRUNS;
  const root = tempRoot();
  process.env.QTASK_MLRUNS = root;
  try {
    assert.equal(new ExperimentStore().root, resolve(root));
  } finally {
    if (prev === undefined) delete process.env.QTASK_MLRUNS;
    else process.env.QTASK_MLRUNS = prev;
  }
});
