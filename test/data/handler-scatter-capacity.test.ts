/**
 * The one-thread panel path buffers up to 128 instruments per flush when the job is narrow
 * (`scatterCapacity`). With several flushes (the last one partial), late listings, delistings,
 * membership gaps and NaNs, every panel cell must equal `evaluateMany` bit for bit, and the rows
 * must be exactly the (date, instrument) pairs with data inside a membership span.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemblePanel, scatterCapacity, SCATTER_BLOCK } from '../../src/data/handler/assemble.ts';
import { evaluateMany } from '../../src/data/expr/evaluate.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

test('scatterCapacity: narrow jobs buffer more instruments per flush, wide ones stay at SCATTER_BLOCK', () => {
  assert.equal(scatterCapacity(20, 1259), 83);
  assert.equal(scatterCapacity(2, 40), 128);
  assert.equal(scatterCapacity(159, 1259), SCATTER_BLOCK);
  assert.equal(scatterCapacity(0, 0), 128);
});

test('a panel built over several large flushes equals evaluateMany cell for cell', () => {
  const n = 40;
  const cal = MemorySource.weekdays(n);
  let seed = 11;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const names = Array.from({ length: 300 }, (_, k) => `S${String(k).padStart(3, '0')}`);
  const data: Record<string, Record<string, { start: number; values: number[] }>> = {};
  const spans: { instrument: string; start: string; end: string }[] = [];
  names.forEach((name, k) => {
    const start = k % 9 === 0 ? 5 + (k % 13) : 0; // some list late
    const stop = k % 17 === 0 ? n - 6 : n; // some delist early
    const col = (): number[] => Array.from({ length: stop - start }, () => (rnd() < 0.05 ? NaN : 1 + rnd() * 50));
    data[name] = { close: { start, values: col() }, open: { start, values: col() } };
    if (k % 11 === 0) {
      // leaves the universe for a while and comes back
      spans.push({ instrument: name, start: cal[0] as string, end: cal[12] as string });
      spans.push({ instrument: name, start: cal[20] as string, end: cal[n - 1] as string });
    } else spans.push({ instrument: name, start: cal[0] as string, end: cal[n - 1] as string });
  });
  const exprs = ['($close-$open)/$open', 'Mean($close, 3)/$close'];
  assert.ok(scatterCapacity(exprs.length, n) > SCATTER_BLOCK && names.length > 2 * scatterCapacity(exprs.length, n));
  const source = new MemorySource(cal, data);
  const panel = assemblePanel(source, [{ group: 'feature', fields: exprs, names: exprs }], spans, 0, n - 1, { threads: 1 });
  const expected = evaluateMany(exprs, names, 0, n - 1, source);
  const inSpan = (k: number, t: number): boolean => (k % 11 === 0 ? t <= 12 || t >= 20 : true);
  let rows = 0;
  for (let k = 0; k < names.length; k++) {
    const d = data[names[k] as string]?.['close'] as { start: number; values: number[] };
    for (let t = d.start; t < d.start + d.values.length; t++) if (inSpan(k, t)) rows++;
  }
  assert.equal(panel.dates.length, rows);
  let checked = 0;
  for (let r = 0; r < panel.dates.length; r++) {
    const i = names.indexOf(panel.instruments[r] as string);
    const t = cal.indexOf(panel.dates[r] as string);
    assert.ok(inSpan(i, t), `row ${r} (${panel.instruments[r]}, ${panel.dates[r]}) is outside the membership spans`);
    if (r > 0) {
      const prev = `${panel.dates[r - 1]} ${panel.instruments[r - 1]}`;
      assert.ok(prev < `${panel.dates[r]} ${panel.instruments[r]}`, `rows ordered by (date, instrument) at ${r}`);
    }
    for (let e = 0; e < exprs.length; e++) {
      const got = (panel.values[e] as Float64Array)[r] as number;
      const want = (expected[e] as Float64Array[])[i]?.[t] as number;
      assert.ok(Object.is(got, want), `${exprs[e]} ${panel.instruments[r]} ${panel.dates[r]}: ${got} vs ${want}`);
      checked++;
    }
  }
  assert.ok(checked > 15000, `checked ${checked} cells`);
});
