/**
 * The handler's panel copies evaluated series into rows with qlib's final float32 cast; float32 and
 * bool series are copied without rounding again (they are float32 already). The panel must equal
 * `evaluateMany`, which rounds every output, bit for bit, for every kind of operator result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { evaluateMany } from '../../src/data/expr/evaluate.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

const EXPRS = [
  '$close', '($close-$open)/$open', 'Ref($close, 3)/$close', 'Mean($close, 5)/$close', 'Delta($close, 2)', 'Sign($close-$open)',
  'Log($close)', 'Abs($open-$close)', '$close > $open', 'Not($close > $open)', 'Ref($close > $open, 1)', 'If($close > $open, $close, 0.1)',
  'Greater($close, $open)', 'Std($close, 4)', 'EMA($close, 3)', '$close * 1.1', 'Corr($close, $open, 5)', 'Rank($close, 4)',
];

test('panel values equal evaluateMany bit for bit (float32 cast, every result dtype, gaps and late listings)', () => {
  const n = 60;
  const cal = MemorySource.weekdays(n);
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const col = (len: number): number[] => Array.from({ length: len }, () => (rnd() < 0.08 ? NaN : 1 + rnd() * 99.123456789));
  const data: Record<string, Record<string, { start: number; values: number[] }>> = {};
  const names = ['AAA', 'BBB', 'CCC', 'DDD'];
  names.forEach((name, k) => {
    const start = k * 7;
    data[name] = { close: { start, values: col(n - start) }, open: { start, values: col(n - start) } };
  });
  const source = new MemorySource(cal, data);
  const spans = names.map((instrument) => ({ instrument, start: cal[0] as string, end: cal[n - 1] as string }));
  const panel = assemblePanel(source, [{ group: 'feature', fields: EXPRS, names: EXPRS }], spans, 0, n - 1, { threads: 1 });
  const expected = evaluateMany(EXPRS, names, 0, n - 1, source);
  let checked = 0;
  for (let r = 0; r < panel.dates.length; r++) {
    const i = names.indexOf(panel.instruments[r] as string);
    const t = cal.indexOf(panel.dates[r] as string);
    for (let e = 0; e < EXPRS.length; e++) {
      const got = (panel.values[e] as Float64Array)[r] as number;
      const want = (expected[e] as Float64Array[])[i]?.[t] as number;
      assert.ok(Object.is(got, want), `${EXPRS[e]} ${panel.instruments[r]} ${panel.dates[r]}: ${got} vs ${want}`);
      checked++;
    }
  }
  assert.ok(checked > 3000, `checked ${checked} cells`);
});
