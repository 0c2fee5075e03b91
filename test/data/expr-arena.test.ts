/**
 * Recycled scratch arrays (src/data/expr/arena.ts) must not leak values between instruments:
 * memos keyed by array identity (shared Std, sorted windows) are reset when arrays are recycled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, evaluateEachSeries } from '../../src/data/expr/evaluate.ts';
import { ArrayArena, f64 } from '../../src/data/expr/arena.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

const cal = MemorySource.weekdays(80);
const wave = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => 50 + k * Math.sin(i / (k + 1)) + (i % 5) * 0.1 * k);
const source = new MemorySource(cal, {
  A: { close: wave(80, 1), volume: wave(80, 7) },
  B: { close: wave(80, 3), volume: wave(80, 2) },
  // Listed later and shorter: its arrays have another length, so the arena's free lists differ.
  C: { close: { start: 30, values: wave(40, 5) }, volume: { start: 30, values: wave(40, 4) } },
  D: { close: wave(80, 9), volume: wave(80, 1) },
});
const exprs = [
  'Std($close, 10)/$close',
  'Rsquare($close, 10)',
  'Corr($close, Log($volume+1), 10)',
  'Rank($close, 20)',
  'Quantile($close, 20, 0.8)/$close',
  'Quantile($close, 20, 0.2)/$close',
  'IdxMax($high, 5)',
  '($close-Min($close, 5))/(Max($close, 5)-Min($close, 5)+1e-12)',
  'Ref($close, -2)/Ref($close, -1) - 1',
  // Std/Rank of computed (recycled) arrays: the memos keyed by array identity must be reset.
  'Std($close/$volume, 10)',
  'Rank($close*$volume, 10)',
  'Quantile($close*$volume, 10, 0.5)',
];

test('evaluateEachSeries (arena-recycled arrays) equals evaluate() per instrument and expression', () => {
  const insts = ['A', 'B', 'C', 'D', 'A'];
  const seen: number[] = [];
  evaluateEachSeries(exprs.filter((e) => !e.includes('$high')), insts, 5, 70, source, (k, { series, round }) => {
    seen.push(k);
    series.forEach((s, ei) => {
      const want = evaluate(exprs.filter((e) => !e.includes('$high'))[ei] as string, { source, instrument: insts[k] as string, startIdx: 5, endIdx: 70 });
      for (let t = 5; t <= 70; t++) {
        const i = t - s.lo;
        const raw = i >= 0 && i < s.values.length ? (s.values[i] as number) : NaN;
        const got = round ? Math.fround(raw) : raw;
        assert.ok(Object.is(got, want[t - 5]) || got === want[t - 5], `${insts[k]} ${ei} t=${t}: ${got} vs ${want[t - 5]}`);
      }
    });
  });
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

test('an arena recycles arrays after run() and hands them out zeroed', () => {
  const arena = new ArrayArena();
  let first: Float64Array | undefined;
  arena.run(() => {
    first = f64(16).fill(7);
  });
  let second: Float64Array | undefined;
  arena.run(() => {
    second = f64(16);
    const other = f64(16);
    assert.notEqual(other, second);
  });
  assert.equal(second, first);
  assert.ok((second as Float64Array).every((x) => x === 0));
  // Outside an arena: a fresh array every time.
  assert.notEqual(f64(16), f64(16));
});
