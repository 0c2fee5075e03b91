import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { createAlpha158, createAlpha360, createDataHandlerLP, createHandler, HandlerConfigError } from '../../src/data/handler/index.ts';
import { DAYS, tinyProvider, close } from './handler-helpers.ts';

const dir = tinyProvider();
after(() => rmSync(dir, { recursive: true, force: true }));
const provider = new LocalProvider(dir);

const LOADER = {
  class: 'QlibDataLoader',
  module_path: 'qlib.data.dataset.loader',
  kwargs: { config: { feature: [['$close', 'Ref($close, 1)'], ['CLOSE', 'PREV']], label: [['Ref($close, -1)/$close - 1'], ['RET1']] } },
};

test('raw view: rows are (date, instrument) with data, ordered by date then instrument; values as hand-computed', () => {
  const h = createDataHandlerLP(provider, { data_loader: LOADER });
  const raw = h.fetch(null, { dataKey: 'raw' });
  assert.deepEqual(raw.columns, ['CLOSE', 'PREV', 'RET1']);
  assert.deepEqual(raw.groups, ['feature', 'feature', 'label']);
  // BBB starts on day 2 and CCC ends on day 4: 8 + 6 + 5 rows
  assert.equal(raw.dates.length, 19);
  assert.deepEqual(raw.instruments.slice(0, 6), ['AAA', 'CCC', 'AAA', 'CCC', 'AAA', 'BBB']);
  assert.deepEqual(raw.dates.slice(4, 7), [DAYS[2], DAYS[2], DAYS[2]]);
  const bbb = raw.instruments.map((s, r) => (s === 'BBB' ? r : -1)).filter((r) => r >= 0);
  close(bbb.map((r) => raw.values[0]![r]!), [20, 22, NaN, 26, 28, 30]);
  close(bbb.map((r) => raw.values[1]![r]!), [NaN, 20, 22, NaN, 26, 28]);
  // label reads the next row; NaN at the end and across the gap
  close(bbb.map((r) => raw.values[2]![r]!), [0.1, NaN, NaN, 28 / 26 - 1, 30 / 28 - 1, NaN]);
});

test('start/end clip the rows; history before start still feeds windows (qlib extended window)', () => {
  const h = createDataHandlerLP(provider, {
    start_time: '2020-01-04', // a Saturday: rounds forward to 2020-01-06
    end_time: '2020-01-08',
    instruments: ['AAA'],
    data_loader: { class: 'QlibDataLoader', kwargs: { config: { feature: [['Mean($close, 3)'], ['MA3']] } } },
  });
  const raw = h.fetch(null, { dataKey: 'raw' });
  assert.deepEqual(raw.dates, [DAYS[2], DAYS[3], DAYS[4]]);
  close(raw.values[0]!, [11, 12, 13]);
});

test('market file spans keep only member rows, after computing on the full series', () => {
  const h = createDataHandlerLP(provider, {
    instruments: 'mkt',
    data_loader: { config: { feature: [['Ref($close, 1)'], ['PREV']] } },
  });
  const raw = h.fetch(null, { dataKey: 'raw' });
  const aaa = raw.instruments.map((s, r) => (s === 'AAA' ? r : -1)).filter((r) => r >= 0);
  assert.deepEqual(aaa.map((r) => raw.dates[r]), [DAYS[0], DAYS[1], DAYS[5], DAYS[6], DAYS[7]]);
  close(aaa.map((r) => raw.values[0]![r]!), [NaN, 10, 14, 15, 16]);
  assert.ok(!raw.instruments.includes('BBB'));
});

test('infer/learn views: processors fit on the previous output; append vs independent; raw untouched', () => {
  const kwargs = {
    data_loader: LOADER,
    fit_start_time: '2020-01-02',
    fit_end_time: '2020-01-03',
    infer_processors: [{ class: 'ZScoreNorm', kwargs: { fields_group: 'feature' } }],
    learn_processors: ['DropnaLabel', { class: 'CSRankNorm', kwargs: { fields_group: 'label' } }],
  };
  const h = createDataHandlerLP(provider, kwargs);
  const raw = h.fetch(null, { dataKey: 'raw' });
  const infer = h.fetch(null, { dataKey: 'infer' });
  const learn = h.fetch(null, { dataKey: 'learn' });
  // fit rows (2 days): CLOSE 10, 5, 11, 4 → mean 7.5, std (ddof 0) sqrt(9.25)
  const sd = Math.sqrt(9.25);
  close(infer.values[0]!.subarray(0, 4), [10, 5, 11, 4].map((x) => (x - 7.5) / sd));
  assert.equal(infer.values[2], raw.values[2], 'label untouched by a feature-group processor');
  close(raw.values[0]!.subarray(0, 2), [10, 5]);
  // learn = infer → DropnaLabel → CSRankNorm(label)
  assert.ok(learn.dates.length < raw.dates.length);
  for (const x of learn.values[2]!) assert.ok(!Number.isNaN(x));
  close(learn.values[0]!.subarray(0, 2), [(10 - 7.5) / sd, (5 - 7.5) / sd]);
  // day 0: RET1 AAA 0.1, CCC -0.2 → ranks 1, 0.5
  close(learn.values[2]!.subarray(0, 2), [(1 - 0.5) * 3.46, (0.5 - 0.5) * 3.46]);

  const ind = createDataHandlerLP(provider, { ...kwargs, process_type: 'independent' });
  close(ind.fetch(null, { dataKey: 'learn' }).values[0]!.subarray(0, 2), [10, 5]);
});

test('fetch: date, [start, end], open ends, instrument level, col_set groups', () => {
  const h = createDataHandlerLP(provider, { data_loader: LOADER });
  assert.deepEqual(h.fetch('2020-01-06', { dataKey: 'raw' }).instruments, ['AAA', 'BBB', 'CCC']);
  const range = h.fetch(['2020-01-07', null], { dataKey: 'raw', colSet: 'feature' });
  assert.deepEqual(range.columns, ['CLOSE', 'PREV']);
  assert.equal(range.dates[0], '2020-01-07');
  assert.equal(range.dates.length, 5 + 5 + 2);
  const lab = h.fetch([null, '2020-01-03'], { colSet: 'label' });
  assert.deepEqual(lab.columns, ['RET1']);
  assert.equal(lab.dates.length, 4);
  const both = h.fetch(null, { colSet: ['label', 'feature'] });
  assert.deepEqual(both.columns, ['RET1', 'CLOSE', 'PREV']);
  const ccc = h.fetch('CCC', { level: 'instrument' });
  assert.equal(ccc.dates.length, 5);
  assert.deepEqual(h.getCols('feature'), ['CLOSE', 'PREV']);
  assert.throws(() => h.fetch(null, { colSet: 'feat' }), { code: 'FETCH_ARGS', path: 'col_set' });
});

test('Alpha158 on the tiny provider: 158 features + LABEL0; KMID/ROC5/LABEL0 by hand; default learn processors', () => {
  const h = createAlpha158(provider, { instruments: ['AAA'] });
  const raw = h.fetch(null, { dataKey: 'raw' });
  assert.equal(raw.columns.length, 159);
  const col = (n: string) => raw.values[raw.columns.indexOf(n)]!;
  // close 10..17, open = close − 1 → KMID = 1/(close − 1)
  close(col('KMID'), [10, 11, 12, 13, 14, 15, 16, 17].map((c) => 1 / (c - 1)));
  close(col('ROC5'), [NaN, NaN, NaN, NaN, NaN, 10 / 15, 11 / 16, 12 / 17]);
  close(col('LABEL0'), [12 / 11 - 1, 13 / 12 - 1, 14 / 13 - 1, 15 / 14 - 1, 16 / 15 - 1, 17 / 16 - 1, NaN, NaN]);
  close(col('VWAP0'), Array(8).fill(NaN));
  assert.deepEqual(h.learnProcessors.map((p) => p.className), ['DropnaLabel', 'CSZScoreNorm']);
  assert.deepEqual(h.inferProcessors, []);
  // learn: DropnaLabel drops the last two days; CSZScoreNorm on one instrument per day → NaN (ddof 1)
  const learn = h.fetch(null, { dataKey: 'learn', colSet: 'label' });
  assert.equal(learn.dates.length, 6);
});

test('Alpha158 feature_config (qtask extension) and custom label; Alpha360 needs a fit window like qlib', () => {
  const h = createAlpha158(provider, {
    feature_config: { kbar: {}, rolling: { windows: [2], include: ['MA'] } },
    label: [['Ref($close, -1)/$close - 1'], ['LABEL1']],
  });
  assert.deepEqual(h.columns().map((c) => c.name), ['KMID', 'KLEN', 'KMID2', 'KUP', 'KUP2', 'KLOW', 'KLOW2', 'KSFT', 'KSFT2', 'MA2', 'LABEL1']);
  assert.throws(() => createAlpha360(provider, {}), { code: 'HANDLER_CONFIG', path: 'handler.kwargs.fit_start_time' });
  const a360 = createAlpha360(provider, { fit_start_time: '2020-01-02', fit_end_time: '2020-01-08', instruments: ['AAA'] });
  assert.equal(a360.columns().length, 361);
  const infer = a360.fetch(null, { colSet: 'feature' });
  // ProcessInf → ZScoreNorm → Fillna: no NaN remains
  for (const v of infer.values) for (const x of v) assert.ok(!Number.isNaN(x));
});

test('createHandler resolves qlib class/module_path pairs', () => {
  const h = createHandler(provider, { class: 'Alpha158', module_path: 'qlib.contrib.data.handler', kwargs: { instruments: ['CCC'] } });
  assert.equal(h.className, 'Alpha158');
  assert.equal(createHandler(provider, { class: 'DataHandlerLP', module_path: 'qlib.data.dataset.handler', kwargs: { data_loader: LOADER } }).className, 'DataHandlerLP');
});

test('bad handler configs: typed errors with path and hint, nothing loaded', () => {
  const cases: Array<[unknown, string, string]> = [
    [{ class: 'Alpha159', module_path: 'qlib.contrib.data.handler' }, 'HANDLER_UNKNOWN_CLASS', 'handler.class'],
    [{ class: 'Alpha158', module_path: 'my.handlers' }, 'HANDLER_UNKNOWN_CLASS', 'handler.module_path'],
    [{ class: 'Alpha158', kwargs: { start: '2020-01-01' } }, 'HANDLER_CONFIG', 'handler.kwargs.start'],
    [{ class: 'Alpha158', kwargs: { start_time: '2020-02-30' } }, 'HANDLER_CONFIG', 'handler.kwargs.start_time'],
    [{ class: 'Alpha158', kwargs: { start_time: '2020-01-08', end_time: '2020-01-02' } }, 'HANDLER_CONFIG', 'handler.kwargs.start_time'],
    [{ class: 'Alpha158', kwargs: { infer_processors: ['DropnaLabel'] } }, 'PROCESSOR_NOT_FOR_INFER', 'handler.kwargs.infer_processors[0]'],
    [{ class: 'Alpha158', kwargs: { infer_processors: [{ class: 'RobustZScoreNorm', kwargs: { fields_group: 'feature' } }] } }, 'HANDLER_CONFIG', 'handler.kwargs.fit_start_time'],
    [{ class: 'Alpha158', kwargs: { instruments: [] } }, 'HANDLER_CONFIG', 'handler.kwargs.instruments'],
    [{ class: 'Alpha158', kwargs: { process_type: 'both' } }, 'HANDLER_CONFIG', 'handler.kwargs.process_type'],
    [{ class: 'Alpha158', kwargs: { freq: '1min' } }, 'HANDLER_CONFIG', 'handler.kwargs.freq'],
    [{ class: 'Alpha158', kwargs: { feature_config: { rolling: { include: ['MA', 'MACD'] } } } }, 'HANDLER_CONFIG', 'handler.kwargs.feature_config.rolling.include'],
    [{ class: 'Alpha158', kwargs: { label: [['Ref($close, -2', 'x'], ['A', 'B']] } }, 'EXPR_SYNTAX', 'handler.kwargs.label[0][0]'],
    [{ class: 'DataHandlerLP', kwargs: {} }, 'HANDLER_CONFIG', 'handler.kwargs.data_loader'],
    [{ class: 'DataHandlerLP', kwargs: { data_loader: { config: { feature: [['$close', '$open'], ['A']] } } } }, 'HANDLER_CONFIG', 'handler.kwargs.data_loader.config.feature'],
    [{ class: 'DataHandlerLP', kwargs: { data_loader: { config: { feature: [['Mean($close)'], ['A']] } } } }, 'EXPR_ARGS', 'handler.kwargs.data_loader.config.feature[0][0]'],
    ['file:///tmp/handler.pkl', 'HANDLER_CONFIG', 'handler'],
  ];
  for (const [spec, code, path] of cases) {
    assert.throws(
      () => createHandler(provider, spec),
      (e: unknown) => {
        if (!(e instanceof HandlerConfigError)) throw e;
        assert.equal(e.path, path, `${JSON.stringify(spec)} path`);
        assert.ok(e.code === code || (code.startsWith('EXPR_') && e.code.startsWith('EXPR_')), `${JSON.stringify(spec)}: code ${e.code}, want ${code}`);
        assert.ok(e.hint && e.hint.length > 0, `${JSON.stringify(spec)}: hint`);
        return true;
      },
    );
  }
});
