/** IC / Rank IC / ICIR, long-short returns and risk_analysis against values worked out by hand from the definitions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calcIc, summarizeIc, calcLongShortReturn, annualize, riskAnalysis, riskScaler } from '../../src/record/metrics/index.ts';
import { RecordError } from '../../src/record/errors.ts';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Sample mean and ddof=1 std of a short list, written out independently of the implementation. */
function meanStd(xs: number[]): [number, number] {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))];
}

// 3 dates × 4 stocks, rows deliberately not in date order.
// D1: pred 1,2,3,4 / label .1,.2,.3,.4           → IC 1, Rank IC 1
// D2: pred 1,2,3,4 / label 1,3,2,4               → deviations ±1.5/±.5: Σpl = 4, Σp² = Σl² = 5 → 0.8 (ranks equal values → 0.8)
// D3: pred 1,2,NaN,4 / label 2,1,5,2             → pairwise drop → p 1,2,4, l 2,1,2:
//     Pearson Σpl = 1/3, Σp² = 42/9, Σl² = 6/9 → 1/(2√7); ranks p 1,2,3, l 2.5,1,2.5 → Σ = 0 → Rank IC 0
const rows: [string, string, number, number][] = [
  ['2020-01-03', 'A', 1, 2], ['2020-01-01', 'A', 1, 0.1], ['2020-01-02', 'A', 1, 1],
  ['2020-01-03', 'B', 2, 1], ['2020-01-01', 'B', 2, 0.2], ['2020-01-02', 'B', 2, 3],
  ['2020-01-03', 'C', NaN, 5], ['2020-01-01', 'C', 3, 0.3], ['2020-01-02', 'C', 3, 2],
  ['2020-01-03', 'D', 4, 2], ['2020-01-01', 'D', 4, 0.4], ['2020-01-02', 'D', 4, 4],
];
const dates = rows.map((r) => r[0]);
const pred = Float64Array.from(rows, (r) => r[2]);
const label = Float64Array.from(rows, (r) => r[3]);

test('calcIc: per-date Pearson and Spearman (average ties, pairwise NaN drop), dates ascending', () => {
  const s = calcIc(pred, label, dates);
  assert.deepEqual(s.dates, ['2020-01-01', '2020-01-02', '2020-01-03']);
  close(s.ic[0]!, 1);
  close(s.ic[1]!, 0.8);
  close(s.ic[2]!, 1 / (2 * Math.sqrt(7)));
  close(s.ric[0]!, 1);
  close(s.ric[1]!, 0.8);
  close(s.ric[2]!, 0);
});

test('summarizeIc: IC = mean, ICIR = mean / std(ddof=1), same for Rank IC; nothing annualised', () => {
  const m = summarizeIc(calcIc(pred, label, dates));
  const [icMean, icStd] = meanStd([1, 0.8, 1 / (2 * Math.sqrt(7))]);
  close(m.IC, icMean);
  close(m.ICIR, icMean / icStd);
  close(m['Rank IC'], 0.6);
  // ranks 1, .8, 0: deviations .4, .2, −.6 → Σ² = .56 → var .28
  close(m['Rank ICIR'], 0.6 / Math.sqrt(0.28), 1e-12);
  // and what qlib 0.9.7's calc_ic + SigAnaRecord print for the same rows (pandas 3.1.1)
  close(m.IC, 0.6629940788348712, 1e-15);
  close(m.ICIR, 1.569176450261775, 1e-14);
  close(m['Rank ICIR'], 1.1338934190276815, 1e-15);
});

test('calcIc: a date with < 2 complete pairs or a constant side is NaN and skipped by the summary', () => {
  const d = ['x1', 'x1', 'x1', 'x2', 'x2', 'x3', 'x3', 'x3'];
  const p = Float64Array.from([1, 2, 3, 1, NaN, 1, 2, 3]);
  const l = Float64Array.from([1, 2, 4, 5, 6, 7, 7, 7]);
  const s = calcIc(p, l, d);
  assert.ok(!Number.isNaN(s.ic[0]!));
  assert.ok(Number.isNaN(s.ic[1]!), 'one pair');
  assert.ok(Number.isNaN(s.ic[2]!), 'constant label');
  assert.ok(Number.isNaN(s.ric[2]!));
  const m = summarizeIc(s);
  close(m.IC, s.ic[0]!);
  assert.ok(Number.isNaN(m.ICIR), 'std of one value (ddof=1) is NaN');
});

test('calcLongShortReturn: N = floor(n × 0.2); (top-N mean − bottom-N mean)/2; Long-Avg is the market mean (qlib naming)', () => {
  // one date, 10 stocks: pred = i, label = 0.01·i² → N = 2: long = (0.81+0.64)/2, short = (0+0.01)/2
  const n = 10;
  const d = Array.from({ length: n }, () => 'd');
  const p = Float64Array.from({ length: n }, (_, i) => i);
  const l = Float64Array.from({ length: n }, (_, i) => 0.01 * i * i);
  const r = calcLongShortReturn(p, l, d);
  close(r.longShort[0]!, ((0.81 + 0.64) / 2 - (0 + 0.01) / 2) / 2);
  close(r.longAvg[0]!, (0.01 * 285) / 10);
  // NaN pred counted in n (5 rows → N = 1) but never picked
  const r2 = calcLongShortReturn(Float64Array.from([NaN, 1, 2, 3, 4]), Float64Array.from([9, 0.1, 0.2, 0.3, 0.4]), ['e', 'e', 'e', 'e', 'e']);
  close(r2.longShort[0]!, (0.4 - 0.1) / 2);
  close(r2.longAvg[0]!, (9 + 1) / 5);
  const a = annualize([0.01, 0.03], 252);
  close(a.return, 0.02 * 252);
  close(a.sharpe, (0.02 / Math.sqrt(0.0002)) * Math.sqrt(252), 1e-9);
});

test('riskAnalysis (sum mode): mean, std ddof=1, mean×238, IR = mean/std×√238, max drawdown of the cumulative sum', () => {
  // r = .01, −.02, .03, −.01, .005: Σ = .015 → mean .003; deviations .007, −.023, .027, −.013, .002 → Σ² = .00148 → var .00037
  // cumsum .01, −.01, .02, .01, .015; running max .01, .01, .02, .02, .02 → drawdowns 0, −.02, 0, −.01, −.005
  const m = riskAnalysis([0.01, -0.02, 0.03, -0.01, 0.005]);
  close(m.mean, 0.003);
  close(m.std, Math.sqrt(0.00037), 1e-15);
  close(m.annualized_return, 0.003 * 238);
  close(m.information_ratio, (0.003 / Math.sqrt(0.00037)) * Math.sqrt(238), 1e-12);
  close(m.max_drawdown, -0.02);
  // qlib 0.9.7 risk_analysis(pd.Series(r), freq='day'): information_ratio 2.406073396467611
  close(m.information_ratio, 2.406073396467611, 1e-14);
});

test('riskAnalysis: the running max starts at the first cumulative value, not 0; NaN skipped; N from freq', () => {
  // cumsum −.01, −.03, −.025 → peak −.01 → worst −.02 (a peak at 0 would say −.03)
  close(riskAnalysis([-0.01, NaN, -0.02, 0.005]).max_drawdown, -0.02);
  assert.equal(riskScaler('day'), 238);
  assert.equal(riskScaler('1day'), 238);
  assert.equal(riskScaler('week'), 50);
  assert.equal(riskScaler('month'), 12);
  assert.equal(riskScaler('5min'), (240 * 238) / 5);
  close(riskAnalysis([0.01, 0.03], { freq: 'week' }).annualized_return, 0.02 * 50);
  close(riskAnalysis([0.01, 0.03], { N: 252 }).annualized_return, 0.02 * 252);
  // product mode: curve 1.1 × 0.9 = 0.99; peak 1.1 → mdd 0.99/1.1 − 1
  const p = riskAnalysis([0.1, -0.1], { mode: 'product', N: 2 });
  close(p.max_drawdown, 0.99 / 1.1 - 1);
  close(p.mean, Math.sqrt(0.99) - 1);
  close(p.annualized_return, 0.99 - 1);
});

test('bad input: mismatched lengths, empty series, unknown freq → typed errors', () => {
  const code = (fn: () => unknown, c: string): void => {
    assert.throws(fn, (e: unknown) => e instanceof RecordError && e.code === c && typeof e.hint === 'string' && typeof e.path === 'string');
  };
  code(() => calcIc([1, 2], [1], ['a', 'a']), 'RECORD_INPUT');
  code(() => calcIc([], [], []), 'RECORD_EMPTY');
  code(() => calcLongShortReturn([1], [1, 2], ['a']), 'RECORD_INPUT');
  code(() => riskAnalysis([]), 'RECORD_EMPTY');
  code(() => riskAnalysis([NaN, NaN]), 'RECORD_EMPTY');
  code(() => riskAnalysis([0.1], { freq: 'fortnight' }), 'RECORD_INPUT');
  code(() => riskAnalysis([0.1], { N: -1 }), 'RECORD_INPUT');
});
