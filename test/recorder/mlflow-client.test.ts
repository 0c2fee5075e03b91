/**
 * MLflow's own Python client reads what qtask wrote. Needs the venv made by scripts/mlflow/setup.sh
 * (CI runs it); without it this test fails, it does not skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExperimentStore, R } from '../../src/index.ts';
import type { Panel } from '../../src/data/types.ts';
import { REPO, tempRoot } from './helpers.ts';

const VENV = process.env.QTASK_MLFLOW_VENV ?? join(homedir(), '.cache/qtask/venv-mlflow');
const PYTHON = join(VENV, 'bin/python');

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface SeenRun {
  run_id: string;
  run_name: string;
  status: string;
  lifecycle_stage: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  params: Record<string, string>;
  metrics: Record<string, Num>;
  tags: Record<string, string>;
  metric_history: Record<string, [number, Num, number][]>;
  artifacts: { path: string; size: number }[];
  artifact_contents: Record<string, { json?: unknown; bytes?: number[]; pandas?: boolean; columns?: string[]; dtypes?: string[]; index?: [string, string][] | null; index_names?: string[] | null; index_dtype?: string | null; values?: (Num | string)[][] }>;
}
interface Seen {
  mlflow_version: string;
  experiments: { id: string; name: string; lifecycle_stage: string; artifact_location: string; by_name: string; runs: SeenRun[] }[];
}

const enc = (v: number): Num => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v);

test("MLflow's Python client lists the experiments, runs, params, metrics, tags and artifacts qtask wrote", async (t) => {
  assert.ok(
    existsSync(PYTHON),
    `MLflow venv missing at ${VENV}: create it with \`bash scripts/mlflow/setup.sh\` (CI's .ci/run does this; set QTASK_MLFLOW_VENV to use another venv)`,
  );
  const root = tempRoot('qtask-mlflow-');
  const store = new ExperimentStore({ uri: root });
  // ': ' and ' #' need YAML quoting. (No apostrophe: MLflow's own get_experiment_by_name cannot filter on one.)
  const expName = 'qtask e2e: v1 #2020';
  const pred: Panel = {
    dates: ['2020-01-02', '2020-01-02', '2020-01-03', '2020-01-03'],
    instruments: ['AAPL', 'MSFT', 'AAPL', 'MSFT'],
    columns: ['score'],
    groups: ['feature'],
    values: [new Float64Array([0.25, -1.5e-7, NaN, 3])],
  };
  const ic = { datetime: ['2020-01-02', '2020-01-03'], IC: new Float64Array([0.125, -0.0625]) };
  const task = { model: { class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ridge', alpha: 0.05 } }, record: [] };

  const mainId = await R.start({ uri: root, experimentName: expName, recorderName: 'linear ridge' }, (rec) => {
    R.logParams({ 'model.class': 'LinearModel', 'model.kwargs.alpha': 0.05, 'dataset.kwargs.segments.train': ['2015-01-01', '2018-12-31'], fit_intercept: true });
    for (let step = 0; step < 5; step++) R.logMetrics({ loss: 1 / (step + 1), 'valid/l2': step * 0.5 }, step);
    R.logMetrics({ IC: 0.0321, ICIR: 0.4, 'Rank IC': NaN, '1day.excess_return_with_cost.annualized_return': -0.015 });
    R.setTags({ hostname: 'worker-1', train_status: 'begin_task_train', '_id in TaskManager': '65f0c0ffee' });
    R.saveObjects({ task, pred, 'params.bin': new Uint8Array([1, 2, 3, 250]) });
    R.saveObjects({ ic }, { artifactPath: 'sig_analysis' });
    return rec.id;
  });
  let failedId = '';
  await assert.rejects(
    R.start({ uri: root, experimentName: expName }, (rec) => {
      failedId = rec.id;
      R.logParams({ note: 'will fail' });
      throw new Error('training failed');
    }),
  );
  const deleted = store.start({ experimentName: expName, recorderName: 'deleted one' });
  deleted.end();
  store.deleteRecorder(deleted.id);
  const running = store.start({ experimentName: 'second', recorderName: 'still running' });
  running.logMetrics({ progress: 0.5 }, 7, 1700000000123);
  const gone = store.start({ experimentName: 'gone' });
  gone.end();
  store.deleteExperiment({ experimentName: 'gone' });

  const proc = spawnSync(PYTHON, [join(REPO, 'scripts/mlflow/read_store.py'), root], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 });
  assert.equal(proc.status, 0, `read_store.py failed: ${proc.stderr}`);
  const seen = JSON.parse(proc.stdout) as Seen;
  t.diagnostic(`read by mlflow ${seen.mlflow_version}`);

  const ours = store.listExperiments({ includeDeleted: true }).experiments;
  assert.deepEqual(
    seen.experiments.map((e) => [e.id, e.name, e.lifecycle_stage, e.artifact_location]).sort(),
    ours.map((e) => [e.id, e.name, e.lifecycleStage, e.artifactLocation]).sort(),
  );
  for (const e of seen.experiments) assert.equal(e.by_name, e.id, `get_experiment_by_name(${e.name})`);
  assert.ok(seen.experiments.some((e) => e.id === '0' && e.name === 'Default'));

  const byId = new Map(seen.experiments.flatMap((e) => e.runs.map((r) => [r.run_id, r] as const)));
  for (const exp of ours) {
    const listing = store.listRecorders({ experimentId: exp.id }, undefined, { includeDeleted: true });
    assert.deepEqual(listing.problems, []);
    for (const [k, rec] of listing.recorders.entries()) {
      const info = listing.infos[k]!;
      const r = byId.get(rec.id);
      assert.ok(r, `MLflow lists run ${rec.id}`);
      assert.deepEqual(
        [r.run_name, r.status, r.lifecycle_stage, r.start_time, r.end_time, r.artifact_uri],
        [info.name, info.status, info.lifecycleStage, info.startTime, info.endTime, info.artifactUri],
      );
      assert.deepEqual(r.params, rec.listParams());
      assert.deepEqual(r.metrics, Object.fromEntries(Object.entries(rec.listMetrics()).map(([key, v]) => [key, enc(v)])));
      assert.deepEqual(r.tags, rec.listTags());
      for (const key of Object.keys(r.metrics)) {
        assert.deepEqual(r.metric_history[key], rec.getMetricHistory(key).map((p) => [p.timestamp, enc(p.value), p.step]), `history of ${key}`);
      }
      assert.deepEqual(r.artifacts.map((a) => a.path).sort(), rec.listArtifacts());
    }
    assert.equal(
      seen.experiments.find((e) => e.id === exp.id)!.runs.length,
      listing.recorders.length,
      `no extra runs in ${exp.name}`,
    );
  }

  const main = byId.get(mainId)!;
  assert.equal(main.run_name, 'linear ridge');
  assert.equal(main.status, 'FINISHED');
  assert.equal(main.params['model.kwargs.alpha'], '0.05');
  assert.equal(main.params['dataset.kwargs.segments.train'], '["2015-01-01","2018-12-31"]');
  assert.equal(main.params.fit_intercept, 'True');
  assert.deepEqual(main.metric_history.loss!.map(([, v, s]) => [v, s]), [[1, 0], [0.5, 1], [1 / 3, 2], [0.25, 3], [0.2, 4]]);
  assert.equal(main.metrics['Rank IC'], 'NaN');
  assert.equal(main.metrics['valid/l2'], 2);
  assert.equal(main.tags['_id in TaskManager'], '65f0c0ffee');
  assert.equal(main.tags['mlflow.runName'], 'linear ridge');
  assert.deepEqual(main.artifact_contents['task.json']!.json, task);
  assert.deepEqual(main.artifact_contents['params.bin']!.bytes, [1, 2, 3, 250]);
  const p = main.artifact_contents['pred.csv']!;
  assert.equal(p.pandas, true, 'pandas is in the venv (scripts/mlflow/setup.sh installs it)');
  assert.deepEqual(p.columns, ['score']);
  assert.deepEqual(p.dtypes, ['float64']);
  assert.deepEqual(p.index_names, ['datetime', 'instrument']);
  assert.match(p.index_dtype!, /^datetime64/);
  assert.deepEqual(p.index, pred.dates.map((d, i) => [d, pred.instruments[i]]));
  assert.deepEqual(p.values, [...pred.values[0]!].map((v) => [enc(v)]));
  const icSeen = main.artifact_contents['sig_analysis/ic.csv']!;
  assert.deepEqual(icSeen.columns, ['datetime', 'IC']);
  assert.deepEqual(icSeen.values, [['2020-01-02', 0.125], ['2020-01-03', -0.0625]]);

  const failed = byId.get(failedId)!;
  assert.equal(failed.status, 'FAILED');
  assert.equal(failed.run_name, failedId, 'default run name is the run id');
  assert.equal(byId.get(deleted.id)!.lifecycle_stage, 'deleted');
  const run = byId.get(running.id)!;
  assert.equal(run.status, 'RUNNING');
  assert.deepEqual(run.metric_history.progress, [[1700000000123, 0.5, 7]]);
  assert.equal(byId.get(gone.id)!.lifecycle_stage, 'deleted');
  running.end();
});

test('qtask reads a store written by MLflow itself (experiments, runs, params, metrics, tags, artifacts)', () => {
  assert.ok(existsSync(PYTHON), `MLflow venv missing at ${VENV}: create it with \`bash scripts/mlflow/setup.sh\``);
  const root = tempRoot('qtask-mlflow-w-');
  const proc = spawnSync(PYTHON, [join(REPO, 'scripts/mlflow/write_store.py'), root], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(proc.status, 0, `write_store.py failed: ${proc.stderr}`);
  const made = JSON.parse(proc.stdout) as { experiment_id: string; run_id: string; failed_run_id: string };
  const store = new ExperimentStore({ uri: root });
  const exps = store.listExperiments();
  assert.deepEqual(exps.problems, []);
  assert.deepEqual(exps.experiments.map((e) => e.name).sort(), ['Default', 'written by mlflow']);
  assert.equal(store.getExperiment({ experimentName: 'written by mlflow' }).id, made.experiment_id);
  const listing = store.listRecorders('written by mlflow');
  assert.deepEqual(listing.problems, []);
  assert.deepEqual(listing.infos.map((i) => [i.id, i.name, i.status]).sort(), [
    [made.run_id, 'py run', 'FINISHED'],
    [made.failed_run_id, 'py failed', 'FAILED'],
  ].sort());
  const rec = store.getRecorder({ experimentName: 'written by mlflow', recorderName: 'py run' });
  assert.equal(rec.id, made.run_id);
  const info = rec.info();
  assert.deepEqual([info.startTime, info.endTime, info.stale, info.heartbeat], [1700000000000, 1700000000999, false, undefined]);
  assert.deepEqual(rec.listParams(), { 'model.class': 'LinearModel', alpha: '0.05' });
  assert.deepEqual(rec.listMetrics(), { loss: 0.25, tiny: 1e-5 });
  assert.deepEqual(rec.getMetricHistory('loss'), [
    { timestamp: 1700000000001, value: 1, step: 0 },
    { timestamp: 1700000000002, value: 0.25, step: 1 },
  ]);
  assert.equal(rec.listTags().hostname, 'py-host');
  assert.equal(rec.listTags()['mlflow.runName'], 'py run');
  assert.deepEqual(rec.listArtifacts(), ['sub/task.json', 'task.json']);
  assert.deepEqual(rec.loadObject('task'), { model: { class: 'LinearModel' } });
  assert.deepEqual(rec.loadObject('sub/task'), { model: { class: 'LinearModel' } });
  // qtask can keep writing into MLflow's store, e.g. a trainer tagging the run.
  rec.setTags({ train_status: 'end_task_train' });
  assert.equal(store.getRecorder({ recorderId: made.run_id }).listTags().train_status, 'end_task_train');
});
