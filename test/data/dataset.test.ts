import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { createDataset, DatasetH, type Segment } from '../../src/data/dataset/index.ts';
import { createAlpha158 } from '../../src/data/handler/index.ts';
import { DAYS, tinyProvider, close } from './handler-helpers.ts';

const dir = tinyProvider();
after(() => rmSync(dir, { recursive: true, force: true }));
const provider = new LocalProvider(dir);

// The shape of qlib's workflow YAML (examples/benchmarks/Linear), dates unquoted.
const YAML = `
class: DatasetH
module_path: qlib.data.dataset
kwargs:
  handler:
    class: Alpha158
    module_path: qlib.contrib.data.handler
    kwargs:
      instruments: all
      start_time: 2020-01-02
      end_time: 2020-01-13
      fit_start_time: 2020-01-02
      fit_end_time: 2020-01-07
      infer_processors:
        - class: RobustZScoreNorm
          kwargs:
            fields_group: feature
            clip_outlier: true
        - class: Fillna
          kwargs:
            fields_group: feature
      learn_processors:
        - class: DropnaLabel
        - class: CSRankNorm
          kwargs:
            fields_group: label
  segments:
    train: [2020-01-02, 2020-01-07]
    valid: [2020-01-08, 2020-01-08]
    test: [2020-01-09, 2020-01-13]
`;

test('DatasetH from a qlib YAML dataset section: segments, prepare(colSet, dataKey) → columnar panels', () => {
  const ds = createDataset(provider, parseYaml(YAML));
  assert.deepEqual(ds.segments['train'], ['2020-01-02', '2020-01-07']);
  const train = ds.prepare('train', { colSet: ['feature', 'label'], dataKey: 'learn' });
  assert.equal(train.columns.length, 159);
  assert.ok(train.values.every((v) => v instanceof Float64Array && v.length === train.dates.length));
  assert.ok(train.dates.every((d) => d >= '2020-01-02' && d <= '2020-01-07'));
  // learn: DropnaLabel ran, and CSRankNorm put labels in (−1.73, 1.73]
  const label = train.values[158]!;
  for (const x of label) assert.ok(x > -1.74 && x <= 1.73 + 1e-12);
  // infer features: RobustZScoreNorm clipped to ±3 and Fillna left no NaN
  const test_ = ds.prepare('test', { colSet: 'feature' });
  assert.equal(test_.columns.length, 158);
  for (const v of test_.values) for (const x of v) assert.ok(x >= -3 && x <= 3);
  assert.deepEqual([...new Set(test_.dates)], DAYS.slice(5));
  const [a, b] = ds.prepare(['valid', 'test'], { colSet: 'label', dataKey: 'raw' });
  assert.equal(a!.dates.length, 3); // AAA, BBB and CCC (its last day) on 2020-01-08
  assert.ok(b!.dates.length > 0);
  const day: Segment = ['2020-01-06', '2020-01-06'];
  const rng = ds.prepare(day, { dataKey: 'raw', colSet: 'feature' });
  assert.deepEqual(rng.instruments, ['AAA', 'BBB', 'CCC']);
});

test('DatasetH with a handler instance; segments are views of the same data', () => {
  const h = createAlpha158(provider, { instruments: ['AAA'], learn_processors: [] });
  const ds = new DatasetH(h, { first: ['2020-01-02', '2020-01-03'], rest: ['2020-01-06', null] });
  const first = ds.prepare('first', { colSet: 'label', dataKey: 'raw' });
  close(first.values[0]!, [12 / 11 - 1, 13 / 12 - 1]);
  const rest = ds.prepare('rest', { colSet: 'label', dataKey: 'raw' });
  assert.equal(rest.dates.length, 6);
});

test('bad dataset configs and prepare arguments are typed errors with paths', () => {
  const base = parseYaml(YAML) as { kwargs: Record<string, unknown> };
  const cases: Array<[unknown, string, string]> = [
    [{ ...base, class: 'TSDatasetH' }, 'DATASET_UNKNOWN_CLASS', 'dataset.class'],
    [{ ...base, kwargs: { ...base.kwargs, segments: { train: ['2020-01-07', '2020-01-02'] } } }, 'DATASET_SEGMENT', 'dataset.kwargs.segments.train[0]'],
    [{ ...base, kwargs: { ...base.kwargs, segments: { train: '2020' } } }, 'DATASET_SEGMENT', 'dataset.kwargs.segments.train'],
    [{ ...base, kwargs: { ...base.kwargs, segments: { train: ['2020-01-02', 'soon'] } } }, 'HANDLER_CONFIG', 'dataset.kwargs.segments.train[1]'],
    [{ ...base, kwargs: { segments: {} } }, 'HANDLER_CONFIG', 'dataset.kwargs.handler'],
    [{ ...base, kwargs: { ...base.kwargs, step_len: 20 } }, 'HANDLER_CONFIG', 'dataset.kwargs.step_len'],
  ];
  for (const [spec, code, path] of cases) assert.throws(() => createDataset(provider, spec), { code, path }, JSON.stringify(spec).slice(0, 80));
  const ds = createDataset(provider, parseYaml(YAML));
  assert.throws(() => ds.prepare('training'), { code: 'DATASET_SEGMENT', path: 'segments.training' });
  assert.throws(() => ds.prepare('train', { dataKey: 'processed' as 'raw' }), { code: 'FETCH_ARGS' });
});
