/**
 * Fused element-wise kernels (src/data/expr/fuse.ts) must give exactly what the operator-by-operator
 * path gives: same float32 rounding, NaN rules and alignment fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateMany } from '../../src/data/expr/evaluate.ts';
import { compileFused } from '../../src/data/expr/fuse.ts';
import { Plan } from '../../src/data/expr/plan.ts';
import { parseExpression } from '../../src/data/expr/parse.ts';
import { resolveOptions } from '../../src/data/expr/options.ts';
import { alpha158FeatureConfig } from '../../src/data/handler/alpha158.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

const EXPRS = [
  ...alpha158FeatureConfig().fields.slice(0, 13),
  '($close-$open)/($high-$low+1e-12)',
  'Greater($open, $close) - Less($low, 0.1)',
  'Power($close, 2) + Power(1, $open)',
  'Abs($close - $open) * Sign($open - 3)',
  'Log($close) - Log($open + 1)',
  'If($close > $open, $close, 0.3) + If(Not($open), 1, $low)',
  'If($close > $open, If($high >= $low, 1, 2), $open)',
  'And($close, $open) + Or($close < 1, $open == 2) + ($high != $low) + ($high <= $close)',
  '-$close * 0.1 + 3 / $open',
];

const N = 30;
const cal = MemorySource.weekdays(N);

/** Values with NaNs, zeros, ones, negatives and non-float32 numbers. */
const value = fc.oneof(
  fc.constant(NaN),
  fc.constant(0),
  fc.constant(1),
  fc.constant(2),
  fc.double({ min: -5, max: 5, noNaN: true }),
  fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
);
const column = fc.array(value, { minLength: N, maxLength: N });

function same(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

test('fused kernels equal the operator-by-operator results bit for bit (float32 and float64, any If rule)', () => {
  fc.assert(
    fc.property(column, column, column, column, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 5 }), (o, h, l, c, float32, qlibCompat, late) => {
      // Instrument B's close starts later than its other fields: alignment, so no fusion there.
      const source = new MemorySource(cal, {
        A: { open: o, high: h, low: l, close: c },
        B: { open: o, high: h, low: l, close: { start: late, values: c.slice(late) } },
      });
      const fused = evaluateMany(EXPRS, ['A', 'B'], 0, N - 1, source, { float32, qlibCompat });
      const plain = evaluateMany(EXPRS, ['A', 'B'], 0, N - 1, source, { float32, qlibCompat, fuse: false });
      for (let e = 0; e < EXPRS.length; e++) {
        for (let i = 0; i < 2; i++) {
          if (!same(fused[e]![i]!, plain[e]![i]!)) return false;
        }
      }
      return true;
    }),
    { numRuns: 150 },
  );
});

test('compileFused takes element-wise trees of two or more operators and leaves the rest', () => {
  const opts = resolveOptions({});
  const plan = new Plan(opts);
  const id = (e: string): number => plan.add(parseExpression(e));
  assert.deepEqual(compileFused(plan, id('($close-$open)/$open'), opts)?.fields, ['close', 'open']);
  assert.equal(compileFused(plan, id('($close-$open)/$open'), opts)?.dtype, 'f32');
  assert.equal(compileFused(plan, id('$close > $open + 1'), opts)?.dtype, 'bool');
  assert.equal(compileFused(plan, id('$close/$open'), opts), null, 'one operator: applyPair is as fast');
  assert.equal(compileFused(plan, id('Ref($close,5)/$close'), opts), null, 'Ref is not row by row');
  assert.equal(compileFused(plan, id('Mean($close,5)/$close'), opts), null);
  assert.equal(compileFused(plan, id('$close'), opts), null);
});

test('a kernel computes float32 arithmetic with float32 rounding after each operation', () => {
  const opts = resolveOptions({});
  const plan = new Plan(opts);
  const k = compileFused(plan, plan.add(parseExpression('($close-$open)/$open')), opts);
  assert.ok(k);
  const close = new Float64Array([Math.fround(10.1), NaN, 3]);
  const open = new Float64Array([Math.fround(3.3), 1, 0]);
  const out = new Float64Array(3);
  k.run([close, open], out, 3);
  assert.equal(out[0], Math.fround(Math.fround(close[0]! - open[0]!) / open[0]!));
  assert.ok(Number.isNaN(out[1]));
  assert.equal(out[2], Infinity);
});
