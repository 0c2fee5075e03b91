import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XGBModel } from '../../src/model/xgboost/model.ts';
import { loadModel } from '../../src/model/registry.ts';
import { ModelError } from '../../src/model/errors.ts';
import type { EvalsResult } from '../../src/model/types.ts';
import { ArrayDataset, normal, r2, rng } from './helpers.ts';

/** y nonlinear in 4 of 8 features plus noise; train/valid/test drawn from the same distribution. */
function nonlinear(n: number, seed: number, noise = 0.3): { x: Float64Array[]; y: Float64Array } {
  const z = normal(rng(seed));
  const x = Array.from({ length: 8 }, () => Float64Array.from({ length: n }, z));
  const y = Float64Array.from({ length: n }, (_, r) => {
    const a = x[0]![r]!, b = x[1]![r]!, c = x[2]![r]!, d = x[3]![r]!;
    return Math.sin(2 * a) + (b > 0 ? 1 : -1) * c + 0.5 * d * d + noise * z();
  });
  // a few missing feature values: XGBoost's missing-value handling
  for (let r = 0; r < n; r += 97) x[5]![r] = NaN;
  return { x, y };
}

const FAST = { eta: 0.3, max_depth: 4, nthread: 2, num_boost_round: 60 };

test('XGBModel fits a nonlinear target: held-out R² > 0.5; evalsResult has one rmse per round for train and valid', () => {
  const train = nonlinear(4000, 1), valid = nonlinear(1000, 2), testSet = nonlinear(1000, 3);
  const ds = new ArrayDataset({ train, valid, test: { x: testSet.x } });
  const evals: EvalsResult = { stale: [1] };
  const m = new XGBModel(FAST).fit(ds, { evalsResult: evals });
  try {
    const pred = m.predict(ds).values[0]!;
    const score = r2(pred, testSet.y);
    assert.ok(score > 0.5, `R² ${score}`);
    assert.deepEqual(Object.keys(evals).sort(), ['train', 'valid']);
    assert.equal(evals['train']!.length, m.fitInfo!.roundsTrained);
    assert.equal(evals['valid']!.length, m.fitInfo!.roundsTrained);
    assert.ok(evals['train']!.at(-1)! < evals['train']![0]!, 'train rmse falls');
    assert.ok(evals['valid']!.every(Number.isFinite));
    // best iteration is the argmin of the valid curve
    const v = evals['valid']!;
    assert.equal(m.bestIteration, v.indexOf(Math.min(...v)));
    assert.equal(m.fitInfo!.trainRows, 4000);
  } finally {
    m.dispose();
  }
});

test('early stopping on a noise target stops well before num_boost_round and predicts with the best iteration', () => {
  const z = normal(rng(9));
  const mk = (n: number) => ({ x: Array.from({ length: 5 }, () => Float64Array.from({ length: n }, z)), y: Float64Array.from({ length: n }, z) });
  const ds = new ArrayDataset({ train: mk(2000), valid: mk(500), test: mk(300) });
  const evals: EvalsResult = {};
  const lines: string[] = [];
  const m = new XGBModel({ eta: 0.3, max_depth: 6, nthread: 2 }).fit(ds, { evalsResult: evals, num_boost_round: 500, early_stopping_rounds: 10, verbose_eval: 5, log: (l) => lines.push(l) });
  try {
    const info = m.fitInfo!;
    assert.ok(info.stoppedEarly);
    assert.ok(info.roundsTrained < 100, `trained ${info.roundsTrained} rounds`);
    assert.equal(info.roundsTrained, info.bestIteration! + 10 + 1, 'stops exactly 10 rounds after the best');
    const v = evals['valid']!;
    assert.equal(Math.min(...v), v[info.bestIteration!]);
    assert.ok(lines.some((l) => /^\[0\]\ttrain-rmse:/.test(l)));
    assert.ok(lines.some((l) => /Stopping\. Best iteration/.test(l)));
    // Predicting with the best iteration differs from using all trained trees.
    const best = m.predict(ds).values[0]!;
    const all = new XGBModel({ eta: 0.3, max_depth: 6, nthread: 2 }).fit(ds, { num_boost_round: info.roundsTrained, early_stopping_rounds: null });
    try {
      assert.equal(all.bestIteration, null);
      assert.notDeepEqual(Array.from(all.predict(ds).values[0]!), Array.from(best));
    } finally {
      all.dispose();
    }
  } finally {
    m.dispose();
  }
});

test('save/load round trip: XGBoost JSON model file, identical predictions (also via loadModel and toJSON)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-xgb-'));
  const train = nonlinear(1500, 4), valid = nonlinear(400, 5), testSet = nonlinear(300, 6);
  const ds = new ArrayDataset({ train, valid, test: { x: testSet.x } });
  const m = new XGBModel({ ...FAST, num_boost_round: 40, early_stopping_rounds: 5 }).fit(ds);
  try {
    m.save(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(manifest.class, 'XGBModel');
    assert.equal(manifest.state.xgboost_model, 'xgboost_model.json');
    assert.equal(manifest.state.best_iteration, m.bestIteration);
    const tree = JSON.parse(readFileSync(join(dir, 'xgboost_model.json'), 'utf8'));
    assert.ok(tree.learner.gradient_booster, 'XGBoost JSON model format');
    assert.equal(tree.learner.attributes.best_iteration, String(m.bestIteration));
    const expected = Array.from(m.predict(ds).values[0]!);
    const back = XGBModel.load(dir);
    const viaRegistry = loadModel(dir);
    const fromJson = XGBModel.fromJSON(m.toJSON());
    try {
      assert.deepEqual(Array.from(back.predict(ds).values[0]!), expected);
      assert.deepEqual(Array.from(viaRegistry.predict(ds).values[0]!), expected);
      assert.deepEqual(Array.from(fromJson.predict(ds).values[0]!), expected);
    } finally {
      back.dispose();
      viaRegistry.dispose();
      fromJson.dispose();
    }
    writeFileSync(join(dir, 'xgboost_model.json'), '{"learner": broken');
    assert.throws(() => XGBModel.load(dir), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_FILE');
    rmSync(join(dir, 'xgboost_model.json'));
    assert.throws(() => XGBModel.load(dir), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_FILE' && /missing/.test(e.message));
  } finally {
    m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a valid segment XGBModel trains all rounds (no early stopping); NaN labels are dropped', () => {
  const train = nonlinear(500, 8);
  train.y[3] = NaN;
  train.y[10] = NaN;
  const m = new XGBModel({ ...FAST, num_boost_round: 7 }).fit(new ArrayDataset({ train }));
  try {
    assert.equal(m.fitInfo!.roundsTrained, 7);
    assert.equal(m.fitInfo!.droppedNaNLabelRows, 2);
    assert.equal(m.bestIteration, null);
  } finally {
    m.dispose();
  }
});

function throwsCode(fn: () => unknown, code: string, path?: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ModelError, `expected ModelError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (path !== undefined) assert.equal(e.path, path);
    if (message) assert.match(e.message, message);
    assert.ok(e.hint && e.hint.length > 0);
    return true;
  });
}

test('bad input: kwargs types, predict before fit, empty train/valid, a failed refit keeps the old model', () => {
  throwsCode(() => new XGBModel({ eta: 'fast' }), 'MODEL_KWARGS', 'model.kwargs.eta', /expected a number/);
  throwsCode(() => new XGBModel({ max_depth: 2.5 }), 'MODEL_KWARGS', 'model.kwargs.max_depth', /integer/);
  throwsCode(() => new XGBModel({ subsample: 0 }), 'MODEL_KWARGS', 'model.kwargs.subsample');
  throwsCode(() => new XGBModel({ tree_method: 3 }), 'MODEL_KWARGS', 'model.kwargs.tree_method');
  throwsCode(() => new XGBModel({ num_boost_round: 0 }), 'MODEL_KWARGS', 'model.kwargs.num_boost_round');
  throwsCode(() => new XGBModel({ loss: 'mse' }), 'MODEL_KWARGS', 'model.kwargs.loss', /LGBModel/);
  throwsCode(() => new XGBModel({ monotone: { a: 1 } }), 'MODEL_KWARGS', 'model.kwargs.monotone');
  const ds = new ArrayDataset({ train: nonlinear(300, 1), valid: nonlinear(100, 2), test: { x: nonlinear(50, 3).x } });
  throwsCode(() => new XGBModel(FAST).predict(ds), 'MODEL_NOT_FITTED');
  throwsCode(() => new XGBModel(FAST).fit(new ArrayDataset({ train: { x: [[]], y: [] } })), 'MODEL_EMPTY_TRAIN', 'dataset.kwargs.segments.train');
  throwsCode(() => new XGBModel(FAST).fit(new ArrayDataset({ train: { x: [[1, 2]], y: [NaN, NaN] } })), 'MODEL_EMPTY_TRAIN', 'dataset.kwargs.segments.train', /NaN label/);
  throwsCode(() => new XGBModel(FAST).fit(new ArrayDataset({ train: nonlinear(300, 1), valid: { x: Array.from({ length: 8 }, () => []), y: [] } })), 'MODEL_EMPTY_VALID', 'dataset.kwargs.segments.valid');
  const m = new XGBModel({ ...FAST, num_boost_round: 5 }).fit(ds);
  try {
    const before = Array.from(m.predict(ds).values[0]!);
    // XGBoost itself rejects the parameter value: XGBOOST_CALL with XGBoost's message; old booster kept.
    const bad = new XGBModel({ ...FAST, objective: 'reg:nonsense' });
    throwsCode(() => bad.fit(ds), 'XGBOOST_CALL', undefined, /nonsense/);
    throwsCode(() => m.fit(new ArrayDataset({ train: { x: [[]], y: [] } })), 'MODEL_EMPTY_TRAIN');
    assert.deepEqual(Array.from(m.predict(ds).values[0]!), before);
    throwsCode(() => m.predict(new ArrayDataset({ test: { x: [[1]] } })), 'MODEL_FEATURES_MISMATCH');
  } finally {
    m.dispose();
  }
  throwsCode(() => m.predict(ds), 'MODEL_NOT_FITTED');
});

test('libxgboost missing: XGBOOST_MISSING with the apt-get hint (child process with QTASK_XGBOOST_LIB pointing nowhere)', () => {
  const script = `
    import { XGBModel } from './src/model/xgboost/model.ts';
    try { new XGBModel({}); console.log('no error'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint, path: e.path })); }
  `;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { ...process.env, QTASK_XGBOOST_LIB: '/nonexistent/libxgboost.so.0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.code, 'XGBOOST_MISSING');
  assert.match(out.hint, /apt-get install libxgboost0/);
  assert.ok(existsSync('/usr/lib/x86_64-linux-gnu') || true);
});
