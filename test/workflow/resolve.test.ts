/**
 * Class resolution and bad input: module allow-list (a task naming a module the local config does
 * not allow never imports it), user classes from allowed modules, unknown classes, LGBModel, wrong
 * kwargs, segments outside the data, an empty train segment, bad workflow files. Errors are typed
 * and a config rejected before training leaves no run behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentStore } from '../../src/recorder/store.ts';
import type { TaskDef } from '../../src/task/types.ts';
import { taskTrain } from '../../src/workflow/taskTrain.ts';
import { loadLocalConfig } from '../../src/workflow/localConfig.ts';
import { firstSymbols, importSp500, qtask, REPO, tempDir } from './helpers.ts';

const dir = tempDir('qtask-resolve-');
const provider = importSp500(dir);
const mlruns = join(dir, 'mlruns');
const symbols = firstSymbols(5);

function task(edit: (t: Record<string, any>) => void = () => {}): TaskDef {
  const t: Record<string, any> = {
    model: { class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ols' } },
    dataset: {
      class: 'DatasetH',
      module_path: 'qlib.data.dataset',
      kwargs: {
        handler: { class: 'Alpha158', module_path: 'qlib.contrib.data.handler', kwargs: { instruments: symbols, start_time: '2016-01-04', end_time: '2017-12-29', fit_start_time: '2016-01-04', fit_end_time: '2016-12-30', infer_processors: [{ class: 'Fillna', kwargs: { fields_group: 'feature' } }], learn_processors: [{ class: 'DropnaLabel' }] } },
        segments: { train: ['2016-01-04', '2016-12-30'], test: ['2017-01-03', '2017-12-29'] },
      },
    },
    record: [{ class: 'SignalRecord', kwargs: { model: '<MODEL>', dataset: '<DATASET>' } }],
  };
  edit(t);
  return t as TaskDef;
}

function runCount(exp: string): number {
  try {
    return new ExperimentStore({ uri: mlruns }).listRecorders({ experimentName: exp }).recorders.length;
  } catch {
    return 0;
  }
}

async function rejectsWith(exp: string, t: TaskDef, code: string, extra: Record<string, unknown> = {}): Promise<Error & { code: string; path?: string; hint?: string }> {
  let caught: (Error & { code: string; path?: string; hint?: string }) | undefined;
  await taskTrain(t, { experimentName: exp, mlruns, provider, ...extra }).catch((e) => (caught = e));
  assert.ok(caught, `expected ${code}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.path, 'error has a path');
  assert.ok(caught.hint, 'error has a hint');
  return caught;
}

test('a task naming module_path ./evil.ts fails MODULE_NOT_ALLOWED and the module is never imported', async () => {
  const mods = join(dir, 'mods');
  mkdirSync(mods, { recursive: true });
  const marker = join(mods, 'IMPORTED');
  writeFileSync(join(mods, 'evil.ts'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'pwned');\nexport class Evil {}\n`);
  const err = await rejectsWith('evil', task((t) => (t.model = { class: 'Evil', module_path: './evil.ts', kwargs: {} })), 'MODULE_NOT_ALLOWED', { cwd: mods });
  assert.equal(err.path, 'task.model.module_path');
  assert.equal(existsSync(marker), false, 'evil.ts was imported');
  assert.equal(runCount('evil'), 0);
  // A record class from a module is refused the same way.
  await rejectsWith('evil', task((t) => t.record.push({ class: 'Evil', module_path: join(mods, 'evil.ts') })), 'MODULE_NOT_ALLOWED', { cwd: mods });
  assert.equal(existsSync(marker), false);
});

test('a model class from a module the LOCAL config allows is imported and trained', async () => {
  const mods = join(dir, 'allowed');
  mkdirSync(join(mods, 'my'), { recursive: true });
  writeFileSync(join(mods, 'my/models.ts'), `import { LinearModel } from ${JSON.stringify(join(REPO, 'src/model/linear.ts'))};\nexport class MyRidge extends LinearModel {\n  constructor(kwargs: Record<string, unknown>) { super({ estimator: 'ridge', alpha: Number(kwargs.strength ?? 1) }); }\n}\n`);
  writeFileSync(join(mods, 'qtask.config.yaml'), 'allowModules: [./my/models.ts]\n');
  const local = loadLocalConfig({ cwd: mods, env: {} });
  assert.deepEqual(local.allowModules, [join(mods, 'my/models.ts')]);
  const ref = await taskTrain(task((t) => (t.model = { class: 'MyRidge', module_path: './my/models.ts', kwargs: { strength: 0.5 } })), { experimentName: 'allowed', mlruns, provider, cwd: mods, allowModules: local.allowModules });
  const rec = new ExperimentStore({ uri: mlruns }).getRecorder({ recorderId: ref.recorderId });
  assert.equal(rec.info().status, 'FINISHED');
  assert.ok(rec.listArtifacts().includes('pred.csv'));
  assert.equal(rec.listParams()['model.class'], 'MyRidge');
});

test('unknown classes list the known ones; LGBModel suggests XGBModel; wrong kwargs types; no run left behind', async () => {
  const e1 = await rejectsWith('bad', task((t) => (t.model.class = 'LinearModle')), 'MODEL_CLASS_UNKNOWN');
  assert.match(e1.hint!, /LinearModel/);
  assert.match(e1.hint!, /XGBModel/);
  const e2 = await rejectsWith('bad', task((t) => (t.model = { class: 'LGBModel', module_path: 'qlib.contrib.model.gbdt', kwargs: { loss: 'mse', learning_rate: 0.05 } })), 'MODEL_UNSUPPORTED');
  assert.match(e2.hint!, /XGBModel/);
  await rejectsWith('bad', task((t) => (t.model.kwargs.estimator = 5)), 'MODEL_KWARGS');
  const e4 = await rejectsWith('bad', task((t) => (t.dataset.kwargs.handler.class = 'Alpha159')), 'HANDLER_UNKNOWN_CLASS');
  assert.match(e4.hint!, /Alpha158/);
  const e5 = await rejectsWith('bad', task((t) => (t.record[0].class = 'SignalRecrd')), 'CLASS_UNKNOWN');
  assert.match(e5.hint!, /SignalRecord/);
  await rejectsWith('bad', task((t) => delete t.model), 'TASK_TRAIN');
  await rejectsWith('bad', task((t) => (t.dataset.kwargs.handler.kwargs.instruments = 7)), 'HANDLER_CONFIG');
  // Everything above except the record class was rejected before a run was started.
  assert.equal(runCount('bad'), 1);
});

test('segments outside the data and an empty train segment are typed errors', async () => {
  const e = await rejectsWith('seg', task((t) => (t.dataset.kwargs.segments.test = ['2023-01-02', '2023-12-29'])), 'WORKFLOW_SEGMENT');
  assert.equal(e.path, 'task.dataset.kwargs.segments.test');
  assert.match(e.hint!, /2015/);
  assert.equal(runCount('seg'), 0);
  // Inside the calendar, but before the handler's start_time: no rows to train on.
  const e2 = await rejectsWith('seg', task((t) => (t.dataset.kwargs.segments.train = ['2015-03-02', '2015-06-30'])), 'WORKFLOW_SEGMENT');
  assert.equal(e2.path, 'task.dataset.kwargs.segments.train');
  const store = new ExperimentStore({ uri: mlruns });
  const { infos } = store.listRecorders({ experimentName: 'seg' });
  assert.deepEqual(infos.map((i) => i.status), ['FAILED']);
});

test('qtask run: bad workflow files exit non-zero with one typed line', async () => {
  const f1 = join(dir, 'noinit.yaml');
  writeFileSync(f1, 'task:\n  model: {class: LinearModel}\n');
  const r1 = await qtask(['run', f1, '--mlruns', mlruns]);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr, /WORKFLOW_CONFIG: qlib_init/);
  const f2 = join(dir, 'broken.yaml');
  writeFileSync(f2, 'qlib_init: {provider_uri: x\n');
  const r2 = await qtask(['run', f2, '--mlruns', mlruns]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /WORKFLOW_CONFIG/);
  const r3 = await qtask(['run', join(dir, 'missing.yaml')]);
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /WORKFLOW_CONFIG.*cannot read/);
});
