import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evaluate,
  evaluateEach,
  evaluateMany,
  ExpressionCache,
  ExpressionError,
  type EvaluateOptions,
} from '../../src/data/expr/index.ts';
import { createSeriesEvaluator } from '../../src/data/expr/evaluate.ts';
import { MemorySource, type MemorySeries } from '../../src/data/memorySource.ts';
import { QtaskError } from '../../src/errors.ts';
import type { FieldSource } from '../../src/data/types.ts';

const NaN_ = NaN;
const cal = MemorySource.weekdays(40);

/** A MemorySource that counts loads, to check that a batch loads each (instrument, field) once. */
class CountingSource extends MemorySource {
  loads = new Map<string, number>();
  override load(instrument: string, field: string, s: number, e: number): Float64Array {
    const k = `${instrument}/${field}`;
    this.loads.set(k, (this.loads.get(k) ?? 0) + 1);
    return super.load(instrument, field, s, e);
  }
}

const ramp = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
const close = ramp(40, (i) => 100 + i + (i % 3) * 0.5);
const open = ramp(40, (i) => 99 + i);
const source = new MemorySource(cal, {
  A: { close, open },
  B: { close: ramp(40, (i) => 50 - i * 0.25), open: ramp(40, (i) => 50) },
  // Listed at calendar index 10, with a suspension (NaN rows) at 15..17.
  L: { close: { start: 10, values: ramp(20, (i) => (i >= 5 && i <= 7 ? NaN : 10 + i)) } satisfies MemorySeries },
});

const ev = (expr: string, inst: string, s: number, e: number, extra: Partial<EvaluateOptions> = {}): Float64Array =>
  evaluate(expr, { source, instrument: inst, startIdx: s, endIdx: e, float32: false, ...extra });

test('values at the range start use the history before it (qlib loads lft extra rows)', () => {
  for (const expr of ['Mean($close,5)', 'Std($close,10)', 'Slope($close,6)', 'Corr($close,$open,5)', 'Max(Ref($close,3),4)', 'Rank($close,7)']) {
    const full = ev(expr, 'A', 0, 39);
    const part = ev(expr, 'A', 20, 30);
    // Running sums make the last bits depend on where the series starts (in pandas too).
    part.forEach((v, i) => assert.ok(Math.abs(v - full[20 + i]) <= 1e-12 * Math.max(1, Math.abs(v)), `${expr}[${i}]`));
  }
  // And it is not just the partial window: Mean($close,5) at 20 averages rows 16..20.
  const m = ev('Mean($close,5)', 'A', 20, 20)[0];
  assert.ok(Math.abs(m - close.slice(16, 21).reduce((a, b) => a + b) / 5) < 1e-12);
});

test('negative Ref reads future rows past the range end, NaN past the data', () => {
  const r = ev('Ref($close,-2)', 'A', 30, 39);
  assert.equal(r[0], close[32]);
  assert.equal(r[7], close[39]);
  assert.ok(Number.isNaN(r[8]) && Number.isNaN(r[9]));
  const label = ev('Ref($close, -2)/Ref($close, -1) - 1', 'A', 10, 10)[0];
  assert.ok(Math.abs(label - (close[12] / close[11] - 1)) < 1e-12);
});

test('before listing there are no rows: NaN even for Count and comparisons; windows start at the listing', () => {
  const cnt = ev('Count($close,5)', 'L', 5, 14);
  assert.deepEqual(Array.from(cnt.subarray(0, 5)), [NaN_, NaN_, NaN_, NaN_, NaN_]);
  assert.deepEqual(Array.from(cnt.subarray(5)), [1, 2, 3, 4, 5]);
  const gt = ev('$close > 0', 'L', 8, 11);
  assert.deepEqual(Array.from(gt), [NaN_, NaN_, 1, 1]);
  // IdxMax counts from the oldest row of the partial window at the listing.
  assert.deepEqual(Array.from(ev('IdxMax($close,5)', 'L', 10, 12)), [1, 2, 3]);
});

test('a NaN run (suspension) shrinks the valid count but not the window; IdxMax returns the NaN position', () => {
  // L rows 15,16,17 are NaN; window 5 at row 18 holds rows 14..18.
  assert.equal(ev('Count($close,5)', 'L', 18, 18)[0], 2);
  assert.equal(ev('Mean($close,5)', 'L', 18, 18)[0], (14 + 18) / 2);
  assert.equal(ev('IdxMax($close,5)', 'L', 18, 18)[0], 2, 'qlib: position of the first NaN');
  assert.equal(ev('IdxMax($close,5)', 'L', 18, 18, { idxNanPosition: false })[0], 5, 'fixed: the newest row holds the max');
  assert.ok(Number.isNaN(ev('Mean($close,3)', 'L', 17, 17)[0]), 'window of only NaN rows');
  assert.ok(Number.isNaN(ev('Rank($close,5)', 'L', 16, 16)[0]), 'Rank at a NaN row');
  assert.equal(ev('Slope($close,5)', 'L', 16, 16)[0], 1, 'Slope is defined at a NaN row with 2 valid values');
});

test('window longer than the data and N=0 are expanding', () => {
  const n = ev('Mean($close,100)', 'L', 10, 14);
  const z = ev('Mean($close,0)', 'L', 10, 14);
  const want = [10, 10.5, 11, 11.5, 12];
  assert.deepEqual(Array.from(n), want);
  assert.deepEqual(Array.from(z), want);
  assert.deepEqual(Array.from(ev('Sum($close,0)', 'A', 0, 2)), [close[0], close[0] + close[1], close[0] + close[1] + close[2]]);
});

test('Ref(x,0) is the first loaded value; EMA depends on where loading starts (qlib extends N-1 rows)', () => {
  assert.deepEqual(Array.from(ev('Ref($close,0)', 'A', 5, 7)), [close[5], close[5], close[5]]);
  // Ref(x,0) inside Mean(…,3): the load starts 2 rows earlier, so the "first value" is row 3.
  assert.deepEqual(Array.from(ev('Mean(Ref($close,0),3)', 'A', 5, 5)), [close[3]]);
  const ema = ev('EMA($close,4)', 'A', 20, 22);
  // ewm(span=4) from row 17 (= 20 - (4-1)).
  const alpha = 2 / 5;
  let num = 0;
  let den = 0;
  for (let t = 17; t <= 20; t++) {
    num = num * (1 - alpha) + close[t];
    den = den * (1 - alpha) + 1;
  }
  assert.ok(Math.abs(ema[0] - num / den) < 1e-12, `${ema[0]} vs ${num / den}`);
  assert.notEqual(ema[0], ev('EMA($close,4)', 'A', 0, 22)[20], 'a different load start gives a different EMA');
});

test("Delta: qlib's window is one row short, so the first requested row is NaN; the fix loads N rows", () => {
  const q = ev('Delta($close,3)', 'A', 10, 12);
  assert.ok(Number.isNaN(q[0]));
  assert.equal(q[1], close[11] - close[8]);
  const fixed = ev('Delta($close,3)', 'A', 10, 12, { deltaShortWindow: false });
  assert.equal(fixed[0], close[10] - close[7]);
});

test('WMA: qlib divides by the valid count again; the fix is the weighted average', () => {
  const src = new MemorySource(cal, { C: { x: [1, 1, 1, 1] } });
  const q = evaluate('WMA($x,3)', { source: src, instrument: 'C', startIdx: 3, endIdx: 3, float32: false });
  const fixed = evaluate('WMA($x,3)', { source: src, instrument: 'C', startIdx: 3, endIdx: 3, float32: false, qlibCompat: false });
  assert.ok(Math.abs(q[0] - 1 / 3) < 1e-15);
  assert.equal(fixed[0], 1);
});

test('If: a NaN condition picks the left branch in qlib, NaN with ifNanIsTrue=false', () => {
  const src = new MemorySource(cal, { C: { c: [1, 0, NaN], a: [10, 20, 30] } });
  const o = { source: src, instrument: 'C', startIdx: 0, endIdx: 2, float32: false };
  assert.deepEqual(Array.from(evaluate('If($c, $a, -1)', o)), [10, -1, 30]);
  assert.deepEqual(Array.from(evaluate('If($c, $a, -1)', { ...o, ifNanIsTrue: false })), [10, -1, NaN_]);
});

test('element-wise NaN/inf rules: Greater propagates NaN, x/0 = inf, log(0) = -inf, comparisons with NaN are 0, Ne is 1', () => {
  const src = new MemorySource(cal, { C: { a: [1, NaN, 0, -2], b: [0, 5, 0, 3] } });
  const o = { source: src, instrument: 'C', startIdx: 0, endIdx: 3, float32: false };
  assert.deepEqual(Array.from(evaluate('Greater($a,$b)', o)), [1, NaN_, 0, 3]);
  assert.deepEqual(Array.from(evaluate('Less($a,$b)', o)), [0, NaN_, 0, -2]);
  assert.deepEqual(Array.from(evaluate('$a/$b', o)), [Infinity, NaN_, NaN_, -2 / 3]);
  assert.deepEqual(Array.from(evaluate('Log($a)', o)), [0, NaN_, -Infinity, NaN_]);
  assert.deepEqual(Array.from(evaluate('$a > 0', o)), [1, 0, 0, 0]);
  assert.deepEqual(Array.from(evaluate('$a != $a', o)), [0, 1, 0, 0]);
  assert.deepEqual(Array.from(evaluate('Sign($a)', o)), [1, NaN_, 0, -1]);
  assert.deepEqual(Array.from(evaluate('Abs($a)', o)), [1, NaN_, 0, 2]);
  assert.deepEqual(Array.from(evaluate('Power($b, 2)', o)), [0, 25, 0, 9]);
  assert.deepEqual(Array.from(evaluate('($a > 0) & ($b > 0)', o)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(evaluate('($a > 0) | ($b > 0)', o)), [1, 1, 0, 1]);
  assert.deepEqual(Array.from(evaluate('Not($a > 0)', o)), [0, 1, 1, 1]);
  assert.deepEqual(Array.from(evaluate('-$b', o)), [-0, -5, -0, -3].map((v) => 0 - -v));
});

test('Rank ties average; Std of a constant window is 0 and Corr/Rsquare on it NaN', () => {
  const src = new MemorySource(cal, { C: { x: [1, 1, 1, 2, 2, 2, 2], y: [3, 1, 2, 5, 4, 6, 7] } });
  const o = { source: src, instrument: 'C', startIdx: 0, endIdx: 6, float32: false };
  assert.deepEqual(Array.from(evaluate('Rank($x,3)', o)), [1, 0.75, 2 / 3, 1, 5 / 6, 2 / 3, 2 / 3]);
  const std = Array.from(evaluate('Std($x,3)', o)).slice(2);
  [0, Math.sqrt(1 / 3), Math.sqrt(1 / 3), 0, 0].forEach((e, i) => assert.ok(Math.abs(std[i] - e) < 1e-15, `Std[${i + 2}] = ${std[i]}`));
  assert.equal(std[0], 0, 'constant window: exactly 0');
  assert.equal(std[3], 0);
  const corr = evaluate('Corr($x,$y,3)', o);
  assert.ok(Number.isNaN(corr[2]) && Number.isNaN(corr[5]) && Number.isNaN(corr[6]), 'constant x window');
  assert.ok(corr[3] > 0);
  const r2 = evaluate('Rsquare($x,3)', o);
  assert.ok(Number.isNaN(r2[2]) && Number.isNaN(r2[6]));
});

test('float32 emulation: leaves and f32 arithmetic round to float32; rolling results are float64 until the final cast', () => {
  const src = new MemorySource(cal, { C: { a: [0.1, 0.2, 0.3], b: [0.7, 0.9, 1.1] } });
  const got = evaluate('$a/$b', { source: src, instrument: 'C', startIdx: 0, endIdx: 2 });
  const f = Math.fround;
  assert.deepEqual(Array.from(got), [0, 1, 2].map((i) => f(f([0.1, 0.2, 0.3][i]) / f([0.7, 0.9, 1.1][i]))));
  const mean = evaluate('Mean($a,3)', { source: src, instrument: 'C', startIdx: 2, endIdx: 2 })[0];
  assert.equal(mean, f((f(0.1) + f(0.2) + f(0.3)) / 3));
});

test('Mask and ChangeInstrument evaluate their sub-expression for another instrument', () => {
  const a = ev('Mask($close/Ref($close,1)-1, "B")', 'A', 5, 6);
  const b = ev('$close/Ref($close,1)-1', 'B', 5, 6);
  assert.deepEqual(Array.from(a), Array.from(b));
  const c = ev('$close - ChangeInstrument("B", Mean($close,3))', 'A', 5, 5)[0];
  assert.ok(Math.abs(c - (close[5] - ev('Mean($close,3)', 'B', 5, 5)[0])) < 1e-12);
});

test('evaluateMany equals one-by-one evaluation and loads each field once per instrument', () => {
  const exprs = [
    '$close',
    'Mean($close,5)/$close',
    'Std($close,20)/$close',
    'Ref($close,-2)/Ref($close,-1)-1',
    'EMA($close,5)',
    'Mean(EMA($close,5),3)',
    'Delta($open,2)',
    'Corr($close,Log($open+1),10)',
    'Ref($close,0)',
  ];
  const counting = new CountingSource(cal, { A: { close, open }, B: { close: ramp(40, (i) => 50 - i * 0.25), open: ramp(40, () => 50) } });
  const many = evaluateMany(exprs, ['A', 'B'], 22, 35, counting);
  assert.deepEqual([...counting.loads.values()], [1, 1, 1, 1], 'close and open, once per instrument');
  exprs.forEach((e, ei) =>
    ['A', 'B'].forEach((inst, ii) => {
      const one = evaluate(e, { source: counting, instrument: inst, startIdx: 22, endIdx: 35 });
      assert.deepEqual(Array.from(many[ei][ii]), Array.from(one), `${e} for ${inst}`);
    }),
  );
});

test('evaluateEach streams per instrument and reports progress', () => {
  const seen: number[] = [];
  const progress: string[] = [];
  evaluateEach(['$close', 'Mean($close,3)'], ['A', 'B', 'L'], 0, 9, source, (ii, res) => {
    seen.push(ii);
    assert.equal(res.length, 2);
    assert.equal(res[1].length, 10);
  }, { onProgress: (d, t) => progress.push(`${d}/${t}`) });
  assert.deepEqual(seen, [0, 1, 2]);
  assert.deepEqual(progress, ['1/3', '2/3', '3/3']);
});

test('cache: a repeated batch is served from the cache, results are copies, LRU evicts by bytes', () => {
  const counting = new CountingSource(cal, { A: { close, open } });
  const cache = new ExpressionCache();
  const first = evaluateMany(['Mean($close,5)', 'Std($close,5)'], ['A'], 10, 20, counting, { cache });
  assert.equal(counting.loads.get('A/close'), 1);
  assert.deepEqual(cache.stats(), { hits: 0, misses: 2, evictions: 0, entries: 2, bytes: 2 * 11 * 8 });
  first[0][0][0] = 12345; // mutating a result must not reach the cache
  const again = evaluateMany(['Mean( $close , 5 )', 'Std($close,5)'], ['A'], 10, 20, counting, { cache });
  assert.equal(counting.loads.get('A/close'), 1, 'no load on a full hit');
  assert.equal(cache.stats().hits, 2, 'same canonical text hits');
  assert.notEqual(again[0][0][0], 12345);
  // Another range or other options are different keys.
  evaluateMany(['Mean($close,5)'], ['A'], 10, 21, counting, { cache });
  evaluateMany(['Mean($close,5)'], ['A'], 10, 20, counting, { cache, float32: false });
  assert.equal(cache.stats().hits, 2);
  assert.equal(cache.stats().entries, 4);

  const small = new ExpressionCache({ maxBytes: 3 * 11 * 8 });
  evaluateMany(['$close', '$open', 'Mean($close,2)'], ['A'], 10, 20, counting, { cache: small });
  evaluate('$close', { source: counting, instrument: 'A', startIdx: 10, endIdx: 20, cache: small }); // touch: most recent
  evaluate('Max($close,2)', { source: counting, instrument: 'A', startIdx: 10, endIdx: 20, cache: small });
  const s = small.stats();
  assert.equal(s.evictions, 1);
  assert.equal(s.entries, 3);
  assert.ok(s.bytes <= small.maxBytes);
  const hitsBefore = small.stats().hits;
  evaluate('$close', { source: counting, instrument: 'A', startIdx: 10, endIdx: 20, cache: small });
  assert.equal(small.stats().hits, hitsBefore + 1, '$close survived (recently used)');
  evaluate('$open', { source: counting, instrument: 'A', startIdx: 10, endIdx: 20, cache: small });
  assert.equal(small.stats().hits, hitsBefore + 1, '$open was the least recently used and got evicted');
});

test('bad input: unknown field (with column and path), bad range, constant expression; nothing evaluated', () => {
  const counting = new CountingSource(cal, { A: { close } });
  assert.throws(
    () => evaluateMany(['Mean($close,5)', 'Mean($clsoe, 5)'], ['A'], 0, 9, counting),
    (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_FIELD' && e.column === 6 && e.path === 'exprs[1]' && /\$close/.test(e.hint ?? ''),
  );
  assert.equal(counting.loads.size, 0, 'validation happens before any load');
  assert.throws(
    () => evaluateMany(['Mean($close,5)', 'Mean($close,'], ['A'], 0, 9, counting),
    (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_PARSE' && e.path === 'exprs[1]' && e.column === 13,
  );
  assert.throws(() => evaluate('$close', { source: counting, instrument: 'A', startIdx: 5, endIdx: 2 }), (e: unknown) => e instanceof QtaskError && e.code === 'EXPR_RANGE');
  assert.throws(() => evaluate('1 + 2', { source: counting, instrument: 'A', startIdx: 0, endIdx: 2 }), (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_NOT_SERIES');
  assert.equal(counting.loads.size, 0);
  // An instrument without data is all NaN, as in qlib.
  const none = evaluate('Mean($close,5)', { source: counting, instrument: 'ZZZ', startIdx: 0, endIdx: 3 });
  assert.deepEqual(Array.from(none), [NaN_, NaN_, NaN_, NaN_]);
});

test("a conventional field the data lacks (Alpha158's $vwap on Yahoo data) is NaN, as in qlib", () => {
  const got = evaluate('$vwap/$close', { source, instrument: 'A', startIdx: 0, endIdx: 2 });
  assert.deepEqual(Array.from(got), [NaN_, NaN_, NaN_]);
  assert.throws(
    () => evaluate('$vwap/$close', { source, instrument: 'A', startIdx: 0, endIdx: 2, missingFields: [] }),
    (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_FIELD' && e.column === 1,
  );
});

test('field check: lists instruments\' fields only until every field that must exist is found; fields allowed to be missing need no listing', () => {
  class ListingSource extends MemorySource {
    listed: string[] = [];
    override fields(instrument: string): string[] {
      this.listed.push(instrument);
      return super.fields(instrument);
    }
  }
  const insts = ['A', 'B', 'C', 'D'];
  const src = new ListingSource(cal, { A: { close, open }, B: { close, open }, C: { close, open, extra: close }, D: { close, open } });
  // Preparing an evaluator checks the fields; evaluating an instrument lists its own fields later.
  // $vwap (conventional, absent everywhere) and $close: nothing can raise EXPR_FIELD, nothing is listed.
  createSeriesEvaluator(['$vwap/$close', 'Mean($close,5)'], insts, 0, 9, src);
  assert.deepEqual(src.listed, []);
  // $extra exists only from C on: listing stops there.
  createSeriesEvaluator(['$extra/$vwap'], insts, 0, 9, src);
  assert.deepEqual(src.listed, ['A', 'B', 'C']);
  // A typo is still found (every instrument listed, for the hint) and reported.
  src.listed = [];
  assert.throws(() => createSeriesEvaluator(['$clsoe'], insts, 0, 9, src), (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_FIELD' && /\$close/.test(e.hint ?? ''));
  assert.deepEqual(src.listed, insts);
});

test('options can be passed nested, as {source, instrument, startIdx, endIdx, options}', () => {
  const src = new MemorySource(cal, { C: { x: [1, 1, 1, 1] } });
  const nested = evaluate('WMA($x,3)', { source: src, instrument: 'C', startIdx: 3, endIdx: 3, options: { qlibCompat: false, float32: false } });
  assert.equal(nested[0], 1);
});

test('±inf: pandas-backed window ops skip it like NaN, Count counts it, qlib Slope sees it', () => {
  const src = new MemorySource(cal, { C: { v: [100, 0, 50, 60, 70], w: [1, 2, 3, 4, 5] } });
  const o = { source: src, instrument: 'C', startIdx: 0, endIdx: 4, float32: false };
  // $v/Ref($v,1) is +inf at row 2 (50/0).
  const ratio = evaluate('$v/Ref($v,1)', o);
  assert.equal(ratio[2], Infinity);
  assert.equal(evaluate('Max($v/Ref($v,1),3)', o)[2], 0, 'inf skipped: max of {0}');
  assert.equal(evaluate('Mean($v/Ref($v,1),3)', o)[3], (0 + 60 / 50) / 2);
  assert.equal(evaluate('Count($v/Ref($v,1),3)', o)[3], 3, 'Count counts inf as valid');
  assert.ok(Number.isNaN(evaluate('Slope($v/Ref($v,1),3)', o)[3]), "qlib's Cython slope propagates inf into NaN");
  const corr = evaluate('Corr(Log($v/Ref($v,1)+1), $w, 3)', o);
  assert.ok(Number.isFinite(corr[4]), 'the inf row is dropped from the pairs, not poisoning the window');
});

test('evaluateMany with Mask shares the other instrument per context and matches single evaluation', () => {
  const exprs = ['$close/Mask($close, "B")', 'Corr($close, Mask($close, "B"), 5)', 'Mean(Mask($open, "B"), 3)'];
  const many = evaluateMany(exprs, ['A', 'L'], 12, 20, source);
  exprs.forEach((e, ei) =>
    ['A', 'L'].forEach((inst, ii) => {
      assert.deepEqual(Array.from(many[ei][ii]), Array.from(evaluate(e, { source, instrument: inst, startIdx: 12, endIdx: 20 })), `${e} ${inst}`);
    }),
  );
  assert.ok(many[2][1].every((v) => v === 50), 'Mean of B.open over L rows');
});

test("stored NaN rows at a listing are rows (dataRange or LocalProvider-style stored()); plain sources fall back to trimming", () => {
  // Stored from index 3, first two stored values NaN (suspended right after listing).
  const values = [NaN, NaN, 5, 6, 7];
  const withRange = new MemorySource(cal, { S: { x: { start: 3, values } } });
  const plain = {
    calendarDays: () => cal,
    fields: () => ['x'],
    load: (i: string, f: string, s: number, e: number) => withRange.load(i, f, s, e),
  };
  const storedStyle = { ...plain, stored: () => ({ startIdx: 3, values }) };
  const run = (src: FieldSource) => Array.from(evaluate('IdxMax($x,3)', { source: src, instrument: 'S', startIdx: 5, endIdx: 7 }));
  // qlib: windows at rows 5, 6 are [NaN, NaN, 5] and [NaN, 5, 6] → position of the first NaN (1).
  assert.deepEqual(run(withRange), [1, 1, 3]);
  assert.deepEqual(run(storedStyle), [1, 1, 3]);
  // Without a span the series starts at the first non-NaN row (5): windows [5], [5,6], [5,6,7].
  assert.deepEqual(run(plain), [1, 2, 3]);
  assert.deepEqual(Array.from(evaluate('Count($x,3)', { source: plain, instrument: 'S', startIdx: 3, endIdx: 5 })), [NaN, NaN, 1]);
  assert.deepEqual(Array.from(evaluate('Count($x,3)', { source: withRange, instrument: 'S', startIdx: 3, endIdx: 5 })), [0, 0, 1]);
});
