/** Models on a real DatasetH over a hand-written qlib-format provider (bin files on disk). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider, encodeBin } from '../../src/data/provider/index.ts';
import { createDataset } from '../../src/data/dataset/index.ts';
import { createModel } from '../../src/model/registry.ts';
import type { EvalsResult } from '../../src/model/types.ts';
import { LinearModel } from '../../src/model/linear.ts';
import { XGBModel } from '../../src/model/xgboost/model.ts';
import { ModelError } from '../../src/model/errors.ts';
import { normal, rng, r2 } from './helpers.ts';

const DAYS = 120;
const STOCKS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
const calendar: string[] = [];
for (const d = new Date('2021-01-04T00:00:00Z'); calendar.length < DAYS; d.setUTCDate(d.getUTCDate() + 1)) {
  if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) calendar.push(d.toISOString().slice(0, 10));
}

/** close = 2·open − 0.001·volume + 3 (+ sin(open) for the tree test's field `alt`); DDD has a 5-day gap. */
function writeProvider(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-model-ds-'));
  mkdirSync(join(dir, 'calendars'));
  mkdirSync(join(dir, 'instruments'));
  writeFileSync(join(dir, 'calendars', 'day.txt'), calendar.join('\n') + '\n');
  const z = normal(rng(5));
  const lines: string[] = [];
  for (const sym of STOCKS) {
    const open = Array.from({ length: DAYS }, () => 10 + 3 * z());
    const volume = Array.from({ length: DAYS }, () => 1000 + 400 * z());
    const close = open.map((o, i) => 2 * o - 0.001 * volume[i]! + 3);
    const alt = open.map((o, i) => 3 * Math.sin(o) + (volume[i]! > 1000 ? 2 : -2));
    // missing feature values, labels present
    if (sym === 'DDD') for (let i = 40; i < 45; i++) open[i] = NaN;
    const fdir = join(dir, 'features', sym.toLowerCase());
    mkdirSync(fdir, { recursive: true });
    for (const [f, v] of Object.entries({ open, volume, close, alt })) writeFileSync(join(fdir, `${f}.day.bin`), encodeBin(0, v));
    lines.push(`${sym}\t${calendar[0]}\t${calendar[DAYS - 1]}`);
  }
  writeFileSync(join(dir, 'instruments', 'all.txt'), lines.join('\n') + '\n');
  return dir;
}

const dir = writeProvider();
after(() => rmSync(dir, { recursive: true, force: true }));
const provider = new LocalProvider(dir);

function dataset(label: string, segments: Record<string, [string, string]>) {
  return createDataset(provider, {
    class: 'DatasetH',
    module_path: 'qlib.data.dataset',
    kwargs: {
      handler: {
        class: 'DataHandlerLP',
        module_path: 'qlib.data.dataset.handler',
        kwargs: {
          instruments: 'all',
          start_time: calendar[0],
          end_time: calendar[DAYS - 1],
          data_loader: { class: 'QlibDataLoader', kwargs: { config: { feature: [['$open', '$volume'], ['OPEN', 'VOL']], label: [[label], ['LABEL0']] } } },
        },
      },
      segments,
    },
  });
}

const SEGMENTS: Record<string, [string, string]> = {
  train: [calendar[0]!, calendar[69]!],
  valid: [calendar[70]!, calendar[89]!],
  test: [calendar[90]!, calendar[DAYS - 1]!],
};

test('LinearModel on DatasetH recovers close = 2·open − 0.001·volume + 3 (float32 data); NaN rows dropped; predict keyed by (date, instrument)', () => {
  const ds = dataset('$close', SEGMENTS);
  const m = createModel({ class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ols', fit_intercept: true } }) as LinearModel;
  m.fit(ds);
  assert.deepEqual(m.featureNames, ['OPEN', 'VOL']);
  assert.ok(Math.abs(m.coef![0]! - 2) < 1e-4, `open coef ${m.coef![0]}`);
  assert.ok(Math.abs(m.coef![1]! + 0.001) < 1e-6, `volume coef ${m.coef![1]}`);
  assert.ok(Math.abs(m.intercept - 3) < 1e-2, `intercept ${m.intercept}`);
  assert.equal(m.fitInfo!.droppedRows, 5, "DDD's 5 NaN days in train");
  assert.equal(m.fitInfo!.rows, 70 * STOCKS.length - 5);
  const pred = m.predict(ds);
  assert.equal(pred.dates.length, 30 * STOCKS.length);
  assert.ok(pred.dates.every((d) => d >= calendar[90]! && d <= calendar[DAYS - 1]!));
  for (let r = 1; r < pred.dates.length; r++) {
    const a = `${pred.dates[r - 1]}|${pred.instruments[r - 1]}`, b = `${pred.dates[r]}|${pred.instruments[r]}`;
    assert.ok(a < b, 'sorted by (date, instrument)');
  }
  const label = ds.prepare('test', { colSet: 'label', dataKey: 'infer' }).values[0]!;
  assert.ok(r2(pred.values[0]!, label) > 0.999999);
  // a [start, end] range predicts that range
  const ranged = m.predict(ds, [calendar[100]!, calendar[101]!]);
  assert.equal(ranged.dates.length, 2 * STOCKS.length);
});

test('XGBModel on DatasetH: nonlinear label, early stopping on valid, evalsResult per round', () => {
  const ds = dataset('$alt', SEGMENTS);
  const m = createModel({ class: 'XGBModel', module_path: 'qlib.contrib.model.xgboost', kwargs: { eta: 0.2, max_depth: 4, nthread: 2 } }) as XGBModel;
  const evals: EvalsResult = {};
  try {
    m.fit(ds, { evalsResult: evals, num_boost_round: 200, early_stopping_rounds: 20 });
    assert.equal(evals['valid']!.length, m.fitInfo!.roundsTrained);
    assert.equal(m.fitInfo!.trainRows, 70 * STOCKS.length, 'NaN features are kept (XGBoost missing values)');
    const pred = m.predict(ds);
    const label = ds.prepare('test', { colSet: 'label', dataKey: 'infer' }).values[0]!;
    const score = r2(pred.values[0]!, label);
    assert.ok(score > 0.5, `R² ${score}`);
  } finally {
    m.dispose();
  }
});

test('an empty train segment (dates outside the data) is MODEL_EMPTY_TRAIN', () => {
  const ds = dataset('$close', { train: ['2030-01-01', '2030-06-30'], test: SEGMENTS['test']! });
  assert.throws(() => new LinearModel().fit(ds), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_EMPTY_TRAIN' && e.path === 'dataset.kwargs.segments.train');
  assert.throws(() => new XGBModel({ nthread: 2 }).fit(ds), (e: unknown) => e instanceof ModelError && e.code === 'MODEL_EMPTY_TRAIN');
});
