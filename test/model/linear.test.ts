import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinearModel } from '../../src/model/linear.ts';
import { loadModel } from '../../src/model/registry.ts';
import { ModelError } from '../../src/model/errors.ts';
import { ArrayDataset, assertClose, normal, rng } from './helpers.ts';

/** 2×2 solve by the explicit inverse. */
function solve2(g: number[][], c: number[]): number[] {
  const [[a, b], [cc, d]] = g as [[number, number], [number, number]];
  const det = a * d - b * cc;
  return [(d * c[0]! - b * c[1]!) / det, (-cc * c[0]! + a * c[1]!) / det];
}
function gramOf(x: number[][], y: number[]): { g: number[][]; c: number[] } {
  const p = x.length;
  const g = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => x[i]!.reduce((s, v, r) => s + v * x[j]![r]!, 0)));
  const c = x.map((col) => col.reduce((s, v, r) => s + v * y[r]!, 0));
  return { g, c };
}

const X = [[1, 0, 1, 2, 3, -1], [0, 1, 1, 1, -2, 0.5]];
const Y = [1, 2, 3, 4.5, 0.5, -0.25];

test('ols without intercept = (XᵀX)⁻¹Xᵀy; predict = Xw on the test segment', () => {
  const ds = new ArrayDataset({ train: { x: X, y: Y }, test: { x: [[1, 2], [3, 4]] } });
  const m = new LinearModel().fit(ds);
  const { g, c } = gramOf(X, Y);
  const w = solve2(g, c);
  assertClose(m.coef!, w, 1e-12, 'coef');
  assert.equal(m.intercept, 0);
  const pred = m.predict(ds);
  assert.deepEqual(pred.columns, ['score']);
  assertClose(pred.values[0]!, [w[0]! * 1 + w[1]! * 3, w[0]! * 2 + w[1]! * 4], 1e-12, 'pred');
  assert.deepEqual(ds.prepared.map((p) => [p.segment, p.dataKey]), [['train', 'learn'], ['test', 'infer']]);
  assert.deepEqual(ds.prepared[0]!.colSet, ['feature', 'label']);
  assert.equal(ds.prepared[1]!.colSet, 'feature');
});

test('ols with intercept centres X and y; intercept = ȳ − x̄·w', () => {
  const ds = new ArrayDataset({ train: { x: X, y: Y } });
  const m = new LinearModel({ fit_intercept: true }).fit(ds);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const xc = X.map((col) => col.map((v) => v - mean(col)));
  const yc = Y.map((v) => v - mean(Y));
  const { g, c } = gramOf(xc, yc);
  const w = solve2(g, c);
  assertClose(m.coef!, w, 1e-12, 'coef');
  assert.ok(Math.abs(m.intercept - (mean(Y) - mean(X[0]!) * w[0]! - mean(X[1]!) * w[1]!)) < 1e-12);
});

test('ridge: (XᵀX + αI)⁻¹Xᵀy, intercept unpenalised', () => {
  const ds = new ArrayDataset({ train: { x: X, y: Y } });
  const m = new LinearModel({ estimator: 'ridge', alpha: 2.5 }).fit(ds);
  const { g, c } = gramOf(X, Y);
  assertClose(m.coef!, solve2([[g[0]![0]! + 2.5, g[0]![1]!], [g[1]![0]!, g[1]![1]! + 2.5]], c), 1e-12, 'ridge');
  const mi = new LinearModel({ estimator: 'ridge', alpha: 2.5, fit_intercept: true }).fit(ds);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const gc = gramOf(X.map((col) => col.map((v) => v - mean(col))), Y.map((v) => v - mean(Y)));
  const w = solve2([[gc.g[0]![0]! + 2.5, gc.g[0]![1]!], [gc.g[1]![0]!, gc.g[1]![1]! + 2.5]], gc.c);
  assertClose(mi.coef!, w, 1e-12, 'ridge+intercept');
  assert.ok(Math.abs(mi.intercept - (mean(Y) - mean(X[0]!) * w[0]! - mean(X[1]!) * w[1]!)) < 1e-12);
});

test('lasso: sklearn objective 1/(2n)‖y−Xw‖² + α‖w‖₁; orthogonal design gives soft-thresholding', () => {
  // Orthogonal, zero-mean columns: w_j = S(x_jᵀy, nα) / x_jᵀx_j.
  const x = [[1, 1, -1, -1], [1, -1, 1, -1]];
  const y = [3, 1, -1, -2];
  const n = 4;
  const soft = (v: number, t: number) => Math.sign(v) * Math.max(Math.abs(v) - t, 0);
  const ds = new ArrayDataset({ train: { x, y } });
  for (const alpha of [0.1, 0.5, 1.0, 2.0]) {
    const m = new LinearModel({ estimator: 'lasso', alpha }).fit(ds);
    const expected = x.map((col) => soft(col.reduce((s, v, r) => s + v * y[r]!, 0), n * alpha) / 4);
    assertClose(m.coef!, expected, 1e-9, `lasso α=${alpha}`);
  }
  // α = 0.5: x₂ᵀy = 3 − 1 − 1 + 2 = 3 → (3 − 2)/4 = 0.25; α = 1: x₂ is thresholded to exactly 0.
  assert.equal(new LinearModel({ estimator: 'lasso', alpha: 1 }).fit(ds).coef![1], 0);
  // With intercept the mean of y is not penalised.
  const shifted = new ArrayDataset({ train: { x, y: y.map((v) => v + 10) } });
  const mi = new LinearModel({ estimator: 'lasso', alpha: 0.5, fit_intercept: true }).fit(shifted);
  assertClose(mi.coef!, [(7 - 2) / 4, 0.25], 1e-9, 'lasso+intercept');
  assert.ok(Math.abs(mi.intercept - 10.25) < 1e-9);
});

test('lasso on correlated data satisfies the KKT conditions', () => {
  const rand = rng(3);
  const z = normal(rand);
  const n = 400;
  const a = Array.from({ length: n }, z);
  const x = [a, a.map((v) => 0.8 * v + 0.6 * z()), Array.from({ length: n }, z)];
  const y = a.map((v, r) => 2 * v - x[2]![r]! + 0.3 * z());
  const alpha = 0.05;
  const m = new LinearModel({ estimator: 'lasso', alpha }).fit(new ArrayDataset({ train: { x, y } }));
  const w = m.coef!;
  for (let j = 0; j < 3; j++) {
    // (1/n) x_jᵀ(y − Xw) = α·sign(w_j) when w_j ≠ 0, |·| ≤ α otherwise.
    let g = 0;
    for (let r = 0; r < n; r++) g += x[j]![r]! * (y[r]! - x.reduce((s, col, k) => s + col[r]! * w[k]!, 0));
    g /= n;
    if (w[j] !== 0) assert.ok(Math.abs(g - alpha * Math.sign(w[j]!)) < 1e-7, `KKT j=${j}: ${g}`);
    else assert.ok(Math.abs(g) <= alpha + 1e-9);
  }
});

test('nnls: the negative OLS weight is clamped and the rest re-fitted (hand-solved)', () => {
  // OLS gives w = [1, −1]; NNLS: w₂ = 0, then min (1−w₁)² + 1 + w₁² → w₁ = 0.5.
  const ds = new ArrayDataset({ train: { x: [[1, 0, 1], [0, 1, 1]], y: [1, -1, 0] } });
  assertClose(new LinearModel().fit(ds).coef!, [1, -1], 1e-12, 'ols');
  const m = new LinearModel({ estimator: 'nnls' }).fit(ds);
  assertClose(m.coef!, [0.5, 0], 1e-12, 'nnls');
  assert.equal(m.intercept, 0);
  // With fit_intercept a ones column is appended (and constrained ≥ 0, as qlib): y = 2x + 5 exactly.
  const mi = new LinearModel({ estimator: 'nnls', fit_intercept: true }).fit(new ArrayDataset({ train: { x: [[0, 1, 2, 3]], y: [5, 7, 9, 11] } }));
  assertClose(mi.coef!, [2], 1e-10, 'nnls coef');
  assert.ok(Math.abs(mi.intercept - 5) < 1e-10);
  // A negative intercept is clamped to 0 (qlib's nnls has no unconstrained intercept).
  const mneg = new LinearModel({ estimator: 'nnls', fit_intercept: true }).fit(new ArrayDataset({ train: { x: [[1, 2, 3, 4]], y: [-1, 1, 3, 5] } }));
  assert.equal(mneg.intercept, 0);
});

test('singular normal equations: minimum-norm solution like numpy lstsq (duplicate column)', () => {
  const a = [1, 2, 3, 4, 5];
  const m = new LinearModel().fit(new ArrayDataset({ train: { x: [a, a], y: a.map((v) => 2 * v) } }));
  assert.equal(m.fitInfo!.solver, 'pinv');
  assertClose(m.coef!, [1, 1], 1e-9, 'min-norm');
});

test('rows with a NaN feature or label are dropped (qlib df.dropna()); predict gives NaN where features are NaN', () => {
  const x = [[1, NaN, 2, 3, 4, 5], [0, 1, 1, 2, 3, 1]];
  const y = [1, 2, NaN, 4, 5.5, 5];
  const ds = new ArrayDataset({ train: { x, y }, test: { x: [[1, NaN], [1, 1]] } });
  const m = new LinearModel({ fit_intercept: true }).fit(ds);
  const clean = new LinearModel({ fit_intercept: true }).fit(new ArrayDataset({ train: { x: [[1, 3, 4, 5], [0, 2, 3, 1]], y: [1, 4, 5.5, 5] } }));
  assertClose(m.coef!, clean.coef!, 1e-12, 'coef');
  assert.equal(m.intercept, clean.intercept);
  assert.equal(m.fitInfo!.rows, 4);
  assert.equal(m.fitInfo!.droppedRows, 2);
  const pred = m.predict(ds).values[0]!;
  assert.ok(Number.isFinite(pred[0]!));
  assert.ok(Number.isNaN(pred[1]!));
});

test('include_valid trains on train + valid (and is ignored without a valid segment)', () => {
  const x1 = [[1, 2, 3]], y1 = [2, 4, 6.5];
  const x2 = [[4, 5]], y2 = [8, 9.5];
  const both = new LinearModel({ include_valid: true }).fit(new ArrayDataset({ train: { x: x1, y: y1 }, valid: { x: x2, y: y2 } }));
  const joined = new LinearModel().fit(new ArrayDataset({ train: { x: [[1, 2, 3, 4, 5]], y: [2, 4, 6.5, 8, 9.5] } }));
  assertClose(both.coef!, joined.coef!, 1e-12, 'coef');
  const trainOnly = new LinearModel().fit(new ArrayDataset({ train: { x: x1, y: y1 }, valid: { x: x2, y: y2 } }));
  assert.notEqual(trainOnly.coef![0], both.coef![0]);
  assert.ok(new LinearModel({ include_valid: true }).fit(new ArrayDataset({ train: { x: x1, y: y1 } })).fitted);
});

test('TS and OpenBLAS kernels give the same fit on 20,000 × 158 (1e-9 relative)', () => {
  const rand = rng(11);
  const z = normal(rand);
  const n = 20_000, p = 158;
  const x = Array.from({ length: p }, () => Float64Array.from({ length: n }, z));
  const wTrue = Array.from({ length: p }, (_, j) => Math.sin(j));
  const y = Float64Array.from({ length: n }, (_, r) => x.reduce((s, col, j) => s + col[r]! * wTrue[j]!, 0) + 0.1 * z());
  const ds = new ArrayDataset({ train: { x, y } });
  const ts = new LinearModel({ kernel: 'ts', fit_intercept: true }).fit(ds);
  const blas = new LinearModel({ kernel: 'blas', fit_intercept: true }).fit(ds);
  assert.equal(ts.fitInfo!.kernel, 'ts');
  assert.equal(blas.fitInfo!.kernel, 'blas');
  assertClose(ts.coef!, blas.coef!, 1e-9, 'ts vs blas');
  assertClose(ts.coef!, wTrue, 0.01, 'recovers w');
});

test('save/load: model.json holds the coefficients; loaded model predicts identically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-linear-'));
  try {
    const ds = new ArrayDataset({ train: { x: X, y: Y }, test: { x: [[0.5, -2, 7], [1, 1, 3]] } }, ['KMID', 'ROC5']);
    const m = new LinearModel({ estimator: 'ridge', alpha: 0.5, fit_intercept: true }).fit(ds);
    m.save(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(manifest.class, 'LinearModel');
    assert.equal(manifest.module_path, 'qlib.contrib.model.linear');
    assert.deepEqual(manifest.feature_names, ['KMID', 'ROC5']);
    assert.deepEqual(manifest.state.coef, Array.from(m.coef!));
    const back = LinearModel.load(dir);
    assert.deepEqual(back.predict(ds).values[0], m.predict(ds).values[0]);
    assert.equal(back.estimator, 'ridge');
    const viaRegistry = loadModel(dir);
    assert.ok(viaRegistry instanceof LinearModel);
    assert.deepEqual(viaRegistry.predict(ds).values[0], m.predict(ds).values[0]);
    writeFileSync(join(dir, 'model.json'), '{"format":"qtask-model","version":1,"class":"LinearModel","module_path":"x","kwargs":{},"feature_names":["a"],"state":{"coef":[1,2],"intercept":0}}');
    assert.throws(() => LinearModel.load(dir), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_FILE');
    writeFileSync(join(dir, 'model.json'), '{not json');
    assert.throws(() => loadModel(dir), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_FILE' && /not valid JSON/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
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

test('bad input: kwargs types and values, with paths', () => {
  throwsCode(() => new LinearModel({ estimator: 'svm' }), 'MODEL_KWARGS', 'model.kwargs.estimator', /ols, ridge, lasso, nnls/);
  throwsCode(() => new LinearModel({ estimator: 'ridge', alpha: 'big' }), 'MODEL_KWARGS', 'model.kwargs.alpha', /expected a number/);
  throwsCode(() => new LinearModel({ estimator: 'ridge', alpha: -1 }), 'MODEL_KWARGS', 'model.kwargs.alpha');
  throwsCode(() => new LinearModel({ alpha: 0.1 }), 'MODEL_KWARGS', 'model.kwargs.alpha', /only used by ridge and lasso/);
  throwsCode(() => new LinearModel({ fit_intercept: 'yes' }), 'MODEL_KWARGS', 'model.kwargs.fit_intercept');
  throwsCode(() => new LinearModel({ estimater: 'ols' }), 'MODEL_KWARGS', 'model.kwargs.estimater', /no argument/);
  throwsCode(() => new LinearModel({ kernel: 'gpu' }, 'task.model.kwargs'), 'MODEL_KWARGS', 'task.model.kwargs.kernel');
});

test('bad input: predict before fit, empty or all-NaN train, two labels, other features, inf — the model is unchanged', () => {
  const ds = new ArrayDataset({ train: { x: X, y: Y }, test: { x: [[1], [2]] } });
  throwsCode(() => new LinearModel().predict(ds), 'MODEL_NOT_FITTED');
  throwsCode(() => new LinearModel().toJSON(), 'MODEL_NOT_FITTED');
  throwsCode(() => new LinearModel().fit(new ArrayDataset({ train: { x: [[]], y: [] } })), 'MODEL_EMPTY_TRAIN', 'dataset.kwargs.segments.train', /0 rows/);
  throwsCode(() => new LinearModel().fit(new ArrayDataset({ train: { x: [[1, NaN]], y: [NaN, 2] } })), 'MODEL_EMPTY_TRAIN', 'dataset.kwargs.segments.train', /NaN/);
  throwsCode(() => new LinearModel().fit(new ArrayDataset({ train: { x: X, y: Y, extraLabels: [Y] } })), 'MODEL_LABEL_SHAPE');
  const m = new LinearModel().fit(ds);
  const before = Array.from(m.coef!);
  throwsCode(() => m.fit(new ArrayDataset({ train: { x: [[1, 2, Infinity]], y: [1, 2, 3] } })), 'MODEL_DATA_INFINITE');
  throwsCode(() => m.fit(new ArrayDataset({ train: { x: [[]], y: [] } })), 'MODEL_EMPTY_TRAIN');
  assert.deepEqual(Array.from(m.coef!), before);
  throwsCode(() => m.predict(new ArrayDataset({ test: { x: [[1], [2], [3]] } })), 'MODEL_FEATURES_MISMATCH', 'dataset.kwargs.segments.test');
  throwsCode(() => m.predict(new ArrayDataset({ test: { x: [[1], [2]] } }, ['A', 'B'])), 'MODEL_FEATURES_MISMATCH', undefined, /"A"/);
});

test('centring stays exact when features sit far from zero (mean 1e6, std 1)', () => {
  const z = normal(rng(21));
  const n = 10_000;
  const x = Float64Array.from({ length: n }, () => 1e6 + z());
  const y = Float64Array.from(x, (v) => 3 * v - 2e6 + 0.5 * z());
  const m = new LinearModel({ fit_intercept: true }).fit(new ArrayDataset({ train: { x: [x], y } }));
  let mx = 0, my = 0;
  for (let r = 0; r < n; r++) { mx += x[r]!; my += y[r]!; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0;
  for (let r = 0; r < n; r++) { sxy += (x[r]! - mx) * (y[r]! - my); sxx += (x[r]! - mx) ** 2; }
  assertClose(m.coef!, [sxy / sxx], 1e-9, 'slope');
  assert.ok(Math.abs(m.intercept - (my - (sxy / sxx) * mx)) < 1e-3, `intercept ${m.intercept}`);
});

test('features on very different scales (1e6 next to 1e-3) are solved by Cholesky, not treated as singular', () => {
  const z = normal(rng(33));
  const n = 2000;
  const big = Float64Array.from({ length: n }, () => 1e6 * z());
  const small = Float64Array.from({ length: n }, () => 1e-3 * z());
  const y = Float64Array.from({ length: n }, (_, r) => 2e-6 * big[r]! + 500 * small[r]! + 0.01 * z());
  const m = new LinearModel().fit(new ArrayDataset({ train: { x: [big, small], y } }));
  assert.equal(m.fitInfo!.solver, 'cholesky');
  assert.ok(Math.abs(m.coef![0]! - 2e-6) < 2e-8, `big coef ${m.coef![0]}`);
  assert.ok(Math.abs(m.coef![1]! - 500) < 5, `small coef ${m.coef![1]}`);
});
