import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Panel } from '../../src/data/types.ts';
import {
  buildProcessor, buildProcessors, CSRankNorm, CSZScoreNorm, CSZFillna, DropCol, DropnaLabel, DropnaProcessor, FilterCol, Fillna,
  MinMaxNorm, ProcessInf, RobustZScoreNorm, ZScoreNorm,
} from '../../src/data/processor/index.ts';
import { HandlerConfigError } from '../../src/data/handler/errors.ts';

const N = NaN;

/** 3 dates × 3 instruments; columns f1, f2 (feature) and LABEL0 (label). */
function panel(): Panel {
  const dates = ['2020-01-01', '2020-01-01', '2020-01-01', '2020-01-02', '2020-01-02', '2020-01-02', '2020-01-03', '2020-01-03', '2020-01-03'];
  return {
    dates,
    instruments: ['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C'],
    columns: ['f1', 'f2', 'LABEL0'],
    groups: ['feature', 'feature', 'label'],
    values: [
      Float64Array.from([1, 2, 3, 4, N, 6, 7, 8, 100]),
      Float64Array.from([5, 5, 5, Infinity, 1, 3, -Infinity, N, N]),
      Float64Array.from([0.1, N, 0.3, 0.2, 0.2, 0.5, N, N, N]),
    ],
  };
}

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `[${i}] expected NaN, got ${a}`);
    else if (!Number.isFinite(e)) assert.equal(a, e, `[${i}]`);
    else assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `[${i}] expected ${e}, got ${a}`);
  }
}

test('DropnaLabel drops rows whose label is NaN and keeps the input intact', () => {
  const p = panel();
  const out = new DropnaLabel().transform(p);
  assert.deepEqual(out.dates, ['2020-01-01', '2020-01-01', '2020-01-02', '2020-01-02', '2020-01-02']);
  assert.deepEqual(out.instruments, ['A', 'C', 'A', 'B', 'C']);
  close(out.values[0]!, [1, 3, 4, N, 6]);
  assert.equal(p.dates.length, 9);
  assert.equal(new DropnaLabel().isForInfer(), false);
});

test('DropnaProcessor on all columns drops any-NaN rows; ±inf counts as a value', () => {
  const out = new DropnaProcessor().transform(panel());
  assert.deepEqual(out.instruments, ['A', 'C', 'A', 'C']);
  close(out.values[1]!, [5, 5, Infinity, 3]);
});

test('Fillna fills NaN in its group only, leaves inf, and copies on write', () => {
  const p = panel();
  const out = new Fillna('feature', -1).transform(p);
  close(out.values[0]!, [1, 2, 3, 4, -1, 6, 7, 8, 100]);
  close(out.values[1]!, [5, 5, 5, Infinity, 1, 3, -Infinity, -1, -1]);
  assert.equal(out.values[2], p.values[2], 'label column untouched and shared');
  assert.ok(Number.isNaN(p.values[0]![4]!), 'input not modified');
  const all = new Fillna().transform(p);
  close(all.values[2]!, [0.1, 0, 0.3, 0.2, 0.2, 0.5, 0, 0, 0]);
});

test('ProcessInf replaces ±inf by the day mean of the finite values (NaN when none)', () => {
  const out = new ProcessInf().transform(panel());
  // day 2: finite values 1, 3 → mean 2; day 3: no finite value → NaN
  close(out.values[1]!, [5, 5, 5, 2, 1, 3, N, N, N]);
});

test('ZScoreNorm: pooled nanmean/nanstd (ddof 0) over the fit window, applied to all rows', () => {
  const p: Panel = { ...panel(), values: [panel().values[0]!, Float64Array.from([5, 5, 5, 5, 5, 5, 9, 9, 9]), panel().values[2]!] };
  const z = new ZScoreNorm('2020-01-01', '2020-01-02', 'feature');
  z.fit(p);
  // f1 fit rows: 1,2,3,4,6 → mean 3.2, var = (4.84+1.44+0.04+0.64+7.84)/5 = 2.96
  const sd = Math.sqrt(2.96);
  const out = z.transform(p);
  close(out.values[0]!, [1, 2, 3, 4, N, 6, 7, 8, 100].map((x) => (x - 3.2) / sd));
  // f2 is constant in the fit window → left unchanged
  close(out.values[1]!, [5, 5, 5, 5, 5, 5, 9, 9, 9]);
  assert.equal(out.values[2], p.values[2]);
});

test('RobustZScoreNorm: median / MAD·1.4826 with clipping to ±3', () => {
  const p = panel();
  const r = new RobustZScoreNorm('2020-01-01', '2020-01-03', 'feature', true);
  r.fit(p);
  // f1 valid: 1,2,3,4,6,7,8,100 → median 5; |x-5|: 4,3,2,1,1,2,3,95 → MAD 2.5
  const s = (2.5 + 1e-12) * 1.4826;
  const clip = (z: number) => Math.max(-3, Math.min(3, z));
  close(r.transform(p).values[0]!, [1, 2, 3, 4, N, 6, 7, 8, 100].map((x) => (Number.isNaN(x) ? N : clip((x - 5) / s))));
  // f2 valid: 5,5,5,inf,1,3,-inf → median 5; |x-5|: 0,0,0,inf,4,2,inf → MAD 2
  const s2 = (2 + 1e-12) * 1.4826;
  close(r.transform(p).values[1]!, [0, 0, 0, 3, clip((1 - 5) / s2), clip((3 - 5) / s2), -3, N, N]);
  const noClip = new RobustZScoreNorm('2020-01-01', '2020-01-03', 'feature', false);
  noClip.fit(p);
  close(noClip.transform(p).values[0]!.subarray(8), [(100 - 5) / s]);
});

test('fit window is inclusive and fit(panel, start, end) overrides the configured one', () => {
  const p = panel();
  const m = new MinMaxNorm('2020-01-01', '2020-01-01', 'feature');
  m.fit(p);
  close(m.transform(p).values[0]!.subarray(0, 3), [0, 0.5, 1]);
  m.fit(p, '2020-01-03', '2020-01-03');
  close(m.transform(p).values[0]!.subarray(6), [0, 1 / 93, 1]);
  assert.throws(() => new ZScoreNorm('2020-01-01', '2020-01-02').transform(p), { code: 'PROCESSOR_NOT_FITTED' });
});

test('CSZScoreNorm: per-day (x-mean)/std with ddof 1; one valid value → NaN; robust method', () => {
  const out = new CSZScoreNorm('label').transform(panel());
  // day1: 0.1, 0.3 → mean .2, std .141421; day2: .2,.2,.5 → mean .3, std .173205; day3 all NaN
  const s1 = Math.sqrt(0.02);
  const s2 = Math.sqrt(0.03);
  close(out.values[2]!, [-0.1 / s1, N, 0.1 / s1, -0.1 / s2, -0.1 / s2, 0.2 / s2, N, N, N], 1e-9);
  const robust = new CSZScoreNorm('feature', 'robust').transform(panel());
  // f1 day3: 7,8,100 → median 8, |dev| 1,0,92 → MAD 1
  close(robust.values[0]!.subarray(6), [-1 / 1.4826, 0, 3]);
});

test('CSRankNorm: (pct rank − 0.5)·3.46 per day, average ties, NaN kept', () => {
  const out = new CSRankNorm('feature').transform(panel());
  const f = (r: number) => (r - 0.5) * 3.46;
  close(out.values[0]!, [f(1 / 3), f(2 / 3), f(1), f(1 / 2), N, f(1), f(1 / 3), f(2 / 3), f(1)]);
  // f2 day1: all 5 → average rank 2 of 3; day2: inf largest
  close(out.values[1]!.subarray(0, 6), [f(2 / 3), f(2 / 3), f(2 / 3), f(1), f(1 / 3), f(2 / 3)]);
  close(out.values[1]!.subarray(6), [f(1), N, N]);
});

test('CSZFillna, DropCol, FilterCol', () => {
  close(new CSZFillna('feature').transform(panel()).values[0]!.subarray(3, 6), [4, 5, 6]);
  assert.deepEqual(new DropCol(['f2']).transform(panel()).columns, ['f1', 'LABEL0']);
  const fc = new FilterCol('feature', ['f2']).transform(panel());
  assert.deepEqual(fc.columns, ['f2', 'LABEL0']);
  assert.deepEqual(fc.groups, ['feature', 'label']);
});

test('buildProcessor accepts qlib config shapes and injects the handler fit window', () => {
  assert.ok(buildProcessor('DropnaLabel', 'p') instanceof DropnaLabel);
  const r = buildProcessor({ class: 'RobustZScoreNorm', module_path: 'qlib.data.dataset.processor', kwargs: { fields_group: 'feature', clip_outlier: false } }, 'p', {
    fitStartTime: '2020-01-01',
    fitEndTime: '2020-01-02',
  });
  assert.ok(r instanceof RobustZScoreNorm);
  assert.deepEqual(r.toConfig().kwargs, { fit_start_time: '2020-01-01', fit_end_time: '2020-01-02', fields_group: 'feature', clip_outlier: false });
  const over = buildProcessor({ class: 'ZScoreNorm', kwargs: { fit_start_time: '2019-01-01', fit_end_time: '2019-06-01' } }, 'p', {
    fitStartTime: '2020-01-01', fitEndTime: '2020-01-02', override: true,
  });
  assert.equal((over as ZScoreNorm).fitStartTime, '2020-01-01');
  const list = buildProcessors([{ class: 'DropnaLabel' }, { class: 'CSZScoreNorm', kwargs: { fields_group: 'label' } }], 'learn');
  assert.deepEqual(list.map((p) => p.className), ['DropnaLabel', 'CSZScoreNorm']);
});

test('bad processor configs are typed errors with the config path', () => {
  const cases: Array<[unknown, string, string]> = [
    [{ class: 'ZscoreNormX' }, 'PROCESSOR_UNKNOWN_CLASS', 'learn[0].class'],
    [{ class: 'zscorenorm', kwargs: {} }, 'PROCESSOR_UNKNOWN_CLASS', 'learn[0].class'],
    [{ class: 'Fillna', kwargs: { fill: 0 } }, 'PROCESSOR_CONFIG', 'learn[0].kwargs.fill'],
    [{ class: 'ZScoreNorm' }, 'PROCESSOR_CONFIG', 'learn[0].kwargs'],
    [{ class: 'RobustZScoreNorm', kwargs: { fit_start_time: '2020-13-01', fit_end_time: '2020-01-02' } }, 'HANDLER_CONFIG', 'learn[0].kwargs.fit_start_time'],
    [{ class: 'CSZScoreNorm', kwargs: { method: 'minmax' } }, 'PROCESSOR_CONFIG', 'learn[0].kwargs.method'],
    [{ class: 'DropnaLabel', module_path: 'my.module' }, 'PROCESSOR_UNKNOWN_CLASS', 'learn[0].module_path'],
    [{ class: 'Fillna', kwargs: { fields_group: 3 } }, 'PROCESSOR_CONFIG', 'learn[0].kwargs.fields_group'],
    [42, 'PROCESSOR_CONFIG', 'learn[0]'],
  ];
  for (const [spec, code, path] of cases) {
    assert.throws(
      () => buildProcessors([spec], 'learn'),
      (e: unknown) => e instanceof HandlerConfigError && e.code === code && e.path === path && typeof e.hint === 'string',
      `${JSON.stringify(spec)} → ${code} at ${path}`,
    );
  }
  assert.throws(() => buildProcessors('DropnaLabel', 'learn'), { code: 'PROCESSOR_CONFIG', path: 'learn' });
  assert.throws(() => new Fillna('extra').transform(panel()), { code: 'PROCESSOR_CONFIG' });
});
