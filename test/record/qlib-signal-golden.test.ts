/** calcIc / calcLongShortReturn / SigAnaRecord's formulas against qlib 0.9.7 on a random panel with NaNs, ties, a constant day. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { calcIc, summarizeIc, calcLongShortReturn, annualize } from '../../src/record/metrics/index.ts';

const g = JSON.parse(readFileSync(new URL('./fixtures/qlib_signal_golden.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const arr = (k: string): Float64Array => Float64Array.from(g[k] as (number | null)[], (x) => (x === null ? NaN : x));
const same = (a: number, b: number, what: string): void => {
  if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `${what}: ${a} vs qlib NaN`);
  else assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs qlib ${b}`);
};

test('per-date IC, Rank IC, long-short and long-avg equal qlib, NaN where qlib has NaN', () => {
  const dates = g.dates as string[];
  const pred = arr('pred');
  const label = arr('label');
  const ic = calcIc(pred, label, dates);
  const ls = calcLongShortReturn(pred, label, dates);
  const [wic, wric, wls, wla] = [arr('ic'), arr('ric'), arr('long_short_r'), arr('long_avg_r')];
  assert.equal(ic.dates.length, 20);
  assert.ok(Number.isNaN(wic[5]!) && Number.isNaN(wic[9]!), 'the fixture has NaN days');
  for (let i = 0; i < 20; i++) {
    same(ic.ic[i]!, wic[i]!, `ic[${i}]`);
    same(ic.ric[i]!, wric[i]!, `ric[${i}]`);
    same(ls.longShort[i]!, wls[i]!, `long_short_r[${i}]`);
    same(ls.longAvg[i]!, wla[i]!, `long_avg_r[${i}]`);
  }
  const m = summarizeIc(ic);
  for (const k of ['IC', 'ICIR', 'Rank IC', 'Rank ICIR'] as const) same(m[k], g[k] as number, k);
  const a = annualize(ls.longShort);
  const b = annualize(ls.longAvg);
  same(a.return, g['Long-Short Ann Return'] as number, 'Long-Short Ann Return');
  same(a.sharpe, g['Long-Short Ann Sharpe'] as number, 'Long-Short Ann Sharpe');
  same(b.return, g['Long-Avg Ann Return'] as number, 'Long-Avg Ann Return');
  same(b.sharpe, g['Long-Avg Ann Sharpe'] as number, 'Long-Avg Ann Sharpe');
});
