/**
 * `qtask run` of qlib-shaped workflow YAMLs on the imported S&P 500 data: the linear Alpha158
 * workflow (qlib's file with only data paths and dates changed) on all 482 stocks, and the XGBoost
 * one on a subset; IC and portfolio metrics computed and finite; MLflow's own Python client lists
 * the runs, params, metrics and artifacts. Needs the venv of scripts/mlflow/setup.sh (fails without).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exampleWorkflow, firstSymbols, importSp500, MLFLOW_PYTHON, qtask, REPO, tempDir } from './helpers.ts';

const dir = tempDir('qtask-qrun-');
const provider = importSp500(dir);
const mlruns = join(dir, 'mlruns');

const METRICS = [
  'IC', 'ICIR', 'Rank IC', 'Rank ICIR', 'Long-Short Ann Return',
  '1day.excess_return_with_cost.annualized_return', '1day.excess_return_with_cost.information_ratio', '1day.excess_return_with_cost.max_drawdown',
  '1day.excess_return_without_cost.annualized_return', '1day.excess_return_without_cost.information_ratio', '1day.excess_return_without_cost.max_drawdown',
];

interface RunJson {
  experimentId: string;
  experimentName: string;
  recorderId: string;
  metrics: Record<string, number>;
  stages: Record<string, number>;
}

function checkMetrics(r: RunJson, label: string): void {
  for (const m of METRICS) {
    assert.ok(Number.isFinite(r.metrics[m]), `${label}: ${m} = ${r.metrics[m]}`);
  }
  assert.ok(Math.abs(r.metrics['IC']!) < 0.5, `${label}: IC ${r.metrics['IC']} implausible`);
  assert.ok(r.metrics['1day.excess_return_with_cost.max_drawdown']! <= 0);
  // costs only ever lower the excess return
  assert.ok(r.metrics['1day.excess_return_with_cost.annualized_return']! < r.metrics['1day.excess_return_without_cost.annualized_return']!);
  for (const s of ['data', 'fit', 'predict', 'records']) assert.ok(r.stages[s]! > 0, `${label}: stage ${s} timed`);
}

const runs: RunJson[] = [];

test('qtask run: the linear Alpha158 workflow (qlib YAML, data paths and dates changed) on 482 stocks', async () => {
  const yaml = exampleWorkflow('workflow_config_linear_Alpha158.yaml', dir, provider);
  const r = await qtask(['run', yaml, '--mlruns', mlruns, '--experiment', 'linear', '--json']);
  assert.equal(r.code, 0, r.stderr);
  for (const stage of ['data', 'fit', 'predict', 'records']) assert.match(r.stderr, new RegExp(`\\[${stage}\\] done in`));
  const out = JSON.parse(r.stdout) as RunJson;
  checkMetrics(out, 'linear');
  runs.push(out);
});

test('qtask run: the XGBoost Alpha158 workflow (40 stocks, 50 rounds, early stopping)', async () => {
  const syms = firstSymbols(40);
  const yaml = exampleWorkflow('workflow_config_xgboost_Alpha158.yaml', dir, provider, [
    ['market: &market all', `market: &market [${syms.join(', ')}]`],
    ['topk: 50', 'topk: 10'],
    ['n_drop: 5', 'n_drop: 2'],
  ]);
  const r = await qtask(['run', yaml, '--mlruns', mlruns, '--experiment', 'xgb', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as RunJson;
  checkMetrics(out, 'xgb');
  runs.push(out);
});

test("MLflow's Python client lists both runs with their params, metrics and artifacts", () => {
  assert.equal(runs.length, 2, 'both workflow runs must have succeeded');
  assert.ok(existsSync(MLFLOW_PYTHON), `MLflow venv missing (${MLFLOW_PYTHON}): run bash scripts/mlflow/setup.sh`);
  const proc = spawnSync(MLFLOW_PYTHON, [join(REPO, 'scripts/mlflow/read_store.py'), mlruns], { encoding: 'utf8', timeout: 300_000, maxBuffer: 512 << 20 });
  assert.equal(proc.status, 0, proc.stderr);
  const seen = JSON.parse(proc.stdout) as { experiments: { name: string; runs: { run_id: string; status: string; params: Record<string, string>; metrics: Record<string, unknown>; tags: Record<string, string>; artifacts: { path: string }[] }[] }[] };
  for (const [name, cls] of [['linear', 'LinearModel'], ['xgb', 'XGBModel']] as const) {
    const exp = seen.experiments.find((e) => e.name === name);
    assert.ok(exp, `experiment ${name} listed`);
    assert.equal(exp.runs.length, 1);
    const run = exp.runs[0]!;
    assert.equal(run.run_id, runs.find((r) => r.experimentName === name)!.recorderId);
    assert.equal(run.status, 'FINISHED');
    assert.equal(run.params['model.class'], cls);
    assert.equal(run.params['dataset.kwargs.handler.class'], 'Alpha158');
    assert.ok(run.tags['hostname']);
    for (const m of METRICS) assert.equal(typeof run.metrics[m], 'number', `${name}: MLflow sees ${m}`);
    const paths = run.artifacts.map((a) => a.path);
    for (const a of ['task.json', 'params.json', 'dataset.json', 'pred.csv', 'label.csv']) assert.ok(paths.includes(a), `${name}: artifact ${a} in ${paths.join(', ')}`);
    assert.ok(paths.some((p) => p.startsWith('sig_analysis/')), `${name}: sig_analysis artifacts`);
    assert.ok(paths.some((p) => p.startsWith('portfolio_analysis/')), `${name}: portfolio_analysis artifacts`);
  }
});
