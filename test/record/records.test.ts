/**
 * SignalRecord → SigAnaRecord → PortAnaRecord on a real Recorder (MLflow file store in a temp dir),
 * a real LinearModel and a real DatasetH over a qlib-format provider written to disk.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider, encodeBin } from '../../src/data/provider/index.ts';
import { createDataset } from '../../src/data/dataset/index.ts';
import { createModel } from '../../src/model/registry.ts';
import type { Model } from '../../src/model/types.ts';
import { ExperimentStore } from '../../src/recorder/index.ts';
import type { Panel } from '../../src/data/types.ts';
import { SignalRecord, SigAnaRecord, PortAnaRecord, RecordError, createRecord } from '../../src/record/index.ts';
import { parse as parseYaml } from 'yaml';

const DAYS = 90;
const STOCKS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH'];
const calendar: string[] = [];
for (const d = new Date('2021-01-04T00:00:00Z'); calendar.length < DAYS; d.setUTCDate(d.getUTCDate() + 1)) {
  if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) calendar.push(d.toISOString().slice(0, 10));
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Random-walk closes whose returns repeat at lag 2, so the 1-day return feature has a clear IC. */
function writeProvider(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-records-'));
  mkdirSync(join(dir, 'calendars'));
  mkdirSync(join(dir, 'instruments'));
  writeFileSync(join(dir, 'calendars', 'day.txt'), calendar.join('\n') + '\n');
  const rand = lcg(11);
  const lines: string[] = [];
  for (const sym of STOCKS) {
    const close = [20 + 20 * rand()];
    const rets = [0, 0];
    for (let i = 1; i < DAYS; i++) {
      // the label is the t+1 → t+2 return, the feature the t−1 → t return: make returns 2-lag autocorrelated
      const ret = 0.6 * rets[rets.length - 2]! + 0.02 * (rand() - 0.5);
      close.push(close[i - 1]! * (1 + ret));
      rets.push(ret);
    }
    const fdir = join(dir, 'features', sym.toLowerCase());
    mkdirSync(fdir, { recursive: true });
    writeFileSync(join(fdir, 'close.day.bin'), encodeBin(0, close));
    writeFileSync(join(fdir, 'open.day.bin'), encodeBin(0, close));
    writeFileSync(join(fdir, 'factor.day.bin'), encodeBin(0, close.map(() => 1)));
    writeFileSync(join(fdir, 'volume.day.bin'), encodeBin(0, close.map(() => 1e6)));
    lines.push(`${sym}\t${calendar[0]}\t${calendar[DAYS - 1]}`);
  }
  writeFileSync(join(dir, 'instruments', 'all.txt'), lines.join('\n') + '\n');
  return dir;
}

const dir = writeProvider();
const mlruns = join(mkdtempSync(join(tmpdir(), 'qtask-records-ml-')), 'mlruns');
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(mlruns, '..'), { recursive: true, force: true });
});
const provider = new LocalProvider(dir);
const store = new ExperimentStore({ uri: mlruns });

const dataset = createDataset(provider, {
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
        data_loader: {
          class: 'QlibDataLoader',
          kwargs: { config: { feature: [['$close/Ref($close, 1) - 1'], ['RET1']], label: [['Ref($close, -2)/Ref($close, -1) - 1'], ['LABEL0']] } },
        },
      },
    },
    segments: { train: [calendar[2], calendar[49]], valid: [calendar[50], calendar[59]], test: [calendar[60], calendar[DAYS - 1]] },
  },
});
const model = createModel({ class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ols', fit_intercept: true } }) as Model;
model.fit(dataset);

/** Pearson over complete pairs, written independently of src/record. */
function corr(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

test('SignalRecord + SigAnaRecord + PortAnaRecord on a real recorder: artifacts, qlib metric names, values recomputed from the artifacts', () => {
  const rec = store.start({ experimentName: 'records' });
  const sr = new SignalRecord(model, dataset, rec);
  const { pred, label } = sr.generate();
  assert.deepEqual(rec.listArtifacts(), ['label.csv', 'pred.csv']);
  const loadedPred = rec.loadObject('pred') as Panel;
  assert.deepEqual(loadedPred.columns, ['score']);
  assert.equal(loadedPred.dates.length, 30 * STOCKS.length);
  assert.deepEqual(label.columns, ['LABEL0']);

  const sig = new SigAnaRecord(rec, { ana_long_short: true });
  const m = sig.generate();
  const logged = rec.listMetrics();
  for (const k of ['IC', 'ICIR', 'Rank IC', 'Rank ICIR', 'Long-Short Ann Return', 'Long-Short Ann Sharpe', 'Long-Avg Ann Return', 'Long-Avg Ann Sharpe']) {
    assert.ok(Number.isFinite(logged[k]), `${k} = ${logged[k]}`);
    assert.equal(logged[k], m[k]);
  }
  // IC recomputed from the pred/label artifacts per date
  const byDate = new Map<string, [number[], number[]]>();
  for (let r = 0; r < pred.dates.length; r++) {
    const l = label.values[0]![r]!;
    const p = pred.values[0]![r]!;
    assert.equal(label.dates[r], pred.dates[r]);
    if (Number.isNaN(l) || Number.isNaN(p)) continue;
    const g = byDate.get(pred.dates[r]!) ?? [[], []];
    g[0].push(p);
    g[1].push(l);
    byDate.set(pred.dates[r]!, g);
  }
  const ics = [...byDate.values()].filter(([p]) => p.length >= 2).map(([p, l]) => corr(p, l));
  const icMean = ics.reduce((s, v) => s + v, 0) / ics.length;
  assert.ok(Math.abs(logged.IC! - icMean) < 1e-12, `${logged.IC} vs ${icMean}`);
  assert.ok(logged.IC! > 0.1, `the lagged-return feature should predict: IC ${logged.IC}`);
  const icCsv = rec.loadObject('sig_analysis/ic') as Record<string, Float64Array | string[]>;
  assert.equal((icCsv.datetime as string[]).length, 30);

  const pa = new PortAnaRecord(rec, {
    source: provider,
    config: {
      strategy: { class: 'TopkDropoutStrategy', module_path: 'qlib.contrib.strategy.signal_strategy', kwargs: { signal: '<PRED>', topk: 3, n_drop: 1 } },
      backtest: { account: 1e6, benchmark: 'SPY', exchange_kwargs: { limit_threshold: null, deal_price: 'close', open_cost: 0.0005, close_cost: 0.0015, min_cost: 5, trade_unit: 1 } },
    },
  });
  const out = pa.generate();
  const metrics = rec.listMetrics();
  for (const g of ['excess_return_without_cost', 'excess_return_with_cost']) {
    for (const k of ['mean', 'std', 'annualized_return', 'information_ratio', 'max_drawdown']) {
      assert.ok(Number.isFinite(metrics[`1day.${g}.${k}`]), `1day.${g}.${k}`);
    }
  }
  assert.match(out.backtest.warnings.join('\n'), /SPY is not in the data/);
  // the report spans the first prediction date … the day before the last one
  const report = rec.loadObject('portfolio_analysis/report_normal_1day') as Record<string, Float64Array | string[]>;
  const days = report.datetime as string[];
  assert.equal(days[0], calendar[60]);
  assert.equal(days[days.length - 1], calendar[DAYS - 2]);
  const ret = report.return as Float64Array, bench = report.bench as Float64Array, cost = report.cost as Float64Array;
  const ex = Array.from(ret, (r, i) => r - bench[i]! - cost[i]!);
  const mean = ex.reduce((s, v) => s + v, 0) / ex.length;
  assert.ok(Math.abs(metrics['1day.excess_return_with_cost.mean']! - mean) < 1e-15);
  assert.ok(Math.abs(metrics['1day.excess_return_with_cost.annualized_return']! - mean * 238) < 1e-12);
  assert.ok((report.turnover as Float64Array).some((t) => t > 0), 'the strategy traded');
  assert.ok(rec.listArtifacts('portfolio_analysis').includes('portfolio_analysis/positions_normal_1day.json'));
  assert.ok(rec.listArtifacts('portfolio_analysis').includes('portfolio_analysis/port_analysis_1day.csv'));
  rec.end();
});

test('dependencies and bad input: typed errors, nothing logged or written', () => {
  const rec = store.start({ experimentName: 'records' });
  assert.throws(() => new SigAnaRecord(rec).generate(), (e: unknown) => e instanceof RecordError && e.code === 'RECORD_DEPENDENCY' && /SignalRecord/.test(e.hint ?? ''));
  assert.throws(() => new PortAnaRecord(rec, { source: provider }).generate(), (e: unknown) => e instanceof RecordError && e.code === 'RECORD_DEPENDENCY');
  assert.throws(() => new PortAnaRecord(rec, {} as never), (e: unknown) => e instanceof RecordError && e.code === 'RECORD_INPUT' && e.path === 'source');
  assert.throws(
    () => new PortAnaRecord(rec, { source: provider, config: { strategy: { class: 'WeightStrategy', kwargs: { topk: 1, n_drop: 1 } } } }),
    (e: unknown) => e instanceof RecordError && e.code === 'BACKTEST_CONFIG' && e.path === 'config.strategy.class',
  );
  new SignalRecord(model, dataset, rec).generate();
  assert.throws(() => new SigAnaRecord(rec, { label_col: 'LABEL9' }).generate(), (e: unknown) => e instanceof RecordError && e.code === 'RECORD_INPUT' && /LABEL0/.test(e.hint ?? ''));
  assert.throws(
    () => new PortAnaRecord(rec, { source: provider, config: { strategy: { kwargs: { topk: 3, n_drop: 1 } }, backtest: { exchange_kwargs: { deal_price: 'mid' } } } }).generate(),
    (e: unknown) => e instanceof RecordError && e.code === 'BACKTEST_CONFIG' && e.path === 'config.backtest.exchange_kwargs.deal_price',
  );
  assert.deepEqual(rec.listMetrics(), {});
  assert.deepEqual(rec.listArtifacts(), ['label.csv', 'pred.csv']);
  // a prediction without a score column
  const rec2 = store.start({ experimentName: 'records' });
  rec2.saveObjects({ pred: { dates: ['2021-01-04'], instruments: ['AAA'], columns: [], groups: [], values: [] }, label: { dates: ['2021-01-04'], instruments: ['AAA'], columns: ['LABEL0'], groups: ['label'], values: [Float64Array.of(0.1)] } });
  assert.ok(existsSync(rec2.artifactLocalPath('pred.csv')));
  assert.throws(() => new SigAnaRecord(rec2).generate(), (e: unknown) => e instanceof RecordError && e.code === 'RECORD_INPUT');
  rec.end();
  rec2.end();
});

test('createRecord: the record list of a qlib workflow YAML (port_analysis_config anchor) runs in order', () => {
  const doc = parseYaml(`
benchmark: &benchmark SH000300
port_analysis_config: &port_analysis_config
    strategy:
        class: TopkDropoutStrategy
        module_path: qlib.contrib.strategy
        kwargs:
            signal: <PRED>
            topk: 3
            n_drop: 1
    backtest:
        start_time: ${calendar[61]}
        end_time: ${calendar[80]}
        account: 100000000
        benchmark: *benchmark
        exchange_kwargs:
            limit_threshold: 0.095
            deal_price: close
            open_cost: 0.0005
            close_cost: 0.0015
            min_cost: 5
record:
    - class: SignalRecord
      module_path: qlib.workflow.record_temp
      kwargs:
        model: <MODEL>
        dataset: <DATASET>
    - class: SigAnaRecord
      module_path: qlib.workflow.record_temp
      kwargs:
        ana_long_short: False
        ann_scaler: 252
    - class: PortAnaRecord
      module_path: qlib.workflow.record_temp
      kwargs:
        config: *port_analysis_config
`, { schema: 'yaml-1.1' }) as { record: unknown[] };
  const rec = store.start({ experimentName: 'records-yaml' });
  const records = doc.record.map((spec, i) => createRecord(spec, { recorder: rec, model, dataset, source: provider }, `task.record[${i}]`));
  for (const r of records) r.generate();
  const metrics = rec.listMetrics();
  assert.ok(Number.isFinite(metrics.IC));
  assert.equal(metrics['Long-Short Ann Return'], undefined, 'ana_long_short: False');
  assert.ok(Number.isFinite(metrics['1day.excess_return_with_cost.information_ratio']));
  const report = rec.loadObject('portfolio_analysis/report_normal_1day') as Record<string, string[]>;
  assert.equal(report.datetime![0], calendar[61], 'YAML 1.1 dates (Date objects) are accepted');
  assert.equal(report.datetime!.at(-1), calendar[80]);
  rec.end();
  const ctx = { recorder: rec, model, dataset, source: provider };
  const bad = (spec: unknown, code: string, path: string): void => {
    assert.throws(() => createRecord(spec, ctx, 'r'), (e: unknown) => e instanceof RecordError && e.code === code && e.path === path && typeof e.hint === 'string');
  };
  bad({ class: 'HFSignalRecord' }, 'RECORD_CLASS', 'r.class');
  bad({ class: 'SigAnaRecord', module_path: 'my.module' }, 'RECORD_CLASS', 'r.module_path');
  bad({ class: 'SigAnaRecord', kwargs: { ann_scaler: '252' } }, 'RECORD_INPUT', 'r.kwargs.ann_scaler');
  bad({ class: 'SigAnaRecord', kwargs: { anna_long_short: true } }, 'RECORD_INPUT', 'r.kwargs.anna_long_short');
  bad({ class: 'SigAnaRecord', kwargs: { skip_existing: true } }, 'RECORD_INPUT', 'r.kwargs.skip_existing');
  bad({ class: 'PortAnaRecord', kwargs: { indicator_analysis_freq: 'day' } }, 'RECORD_INPUT', 'r.kwargs.indicator_analysis_freq');
  bad({ class: 'PortAnaRecord', kwargs: { config: { strategy: { kwargs: { topk: 3 } } } } }, 'BACKTEST_CONFIG', 'config.strategy.kwargs.n_drop');
});
