/**
 * Element-wise arithmetic on float32 series rounds inside the operation's loop (one pass) and
 * Greater/Less skip rounding (they return one of their float32 inputs). Both must equal the
 * two-pass definition — compute in float64, then `Math.fround` every result — bit for bit,
 * including NaN, ±Infinity, -0, subnormals, float32 overflow and scalar operands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyPair } from '../../src/data/expr/apply.ts';
import type { Operand, Series } from '../../src/data/expr/series.ts';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 2 ** -126, 1e-12];

const f32value = fc.oneof(
  fc.constantFrom(...SPECIAL).map(Math.fround),
  fc.double({ noNaN: false }).map(Math.fround),
  fc.float({ min: -1e6, max: 1e6, noNaN: true }),
);

function twoPass(op: string, x: number, y: number): number {
  const raw =
    op === 'Add' ? x + y
    : op === 'Sub' ? x - y
    : op === 'Mul' ? x * y
    : op === 'Div' ? x / y
    : op === 'Greater' ? (x !== x || y !== y ? NaN : x > y ? x : y)
    : x !== x || y !== y ? NaN : x < y ? x : y;
  return Math.fround(raw);
}

const f32Series = (values: number[], lo = 0): Series => ({ lo, values: Float64Array.from(values), dtype: 'f32' });

test('float32 Add/Sub/Mul/Div/Greater/Less equal fround(op(x, y)) bit for bit, series and scalar operands', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('Add', 'Sub', 'Mul', 'Div', 'Greater', 'Less'),
      fc.array(fc.tuple(f32value, f32value), { minLength: 1, maxLength: 40 }),
      fc.constantFrom('series', 'left scalar', 'right scalar'),
      fc.double({ noNaN: false }),
      (op, pairs, shape, scalar) => {
        const xs = pairs.map((p) => p[0]);
        const ys = pairs.map((p) => p[1]);
        const a: Operand = shape === 'left scalar' ? scalar : f32Series(xs);
        const b: Operand = shape === 'right scalar' ? scalar : f32Series(ys);
        const out = applyPair(op, a, b);
        assert.equal(out.dtype, 'f32');
        assert.equal(out.values.length, pairs.length);
        for (let i = 0; i < pairs.length; i++) {
          // numpy casts a scalar to float32 before a float32 operation
          const x = shape === 'left scalar' ? Math.fround(scalar) : (xs[i] as number);
          const y = shape === 'right scalar' ? Math.fround(scalar) : (ys[i] as number);
          const want = twoPass(op, x, y);
          assert.ok(Object.is(out.values[i], want), `${op}(${x}, ${y}) = ${out.values[i]}, want ${want}`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('misaligned float32 series: rows only one side has are NaN on the other, then rounded the same way', () => {
  const a = f32Series([1.5, Math.fround(0.1), 3], 10);
  const b = f32Series([Math.fround(0.2), 4], 11);
  const out = applyPair('Add', a, b);
  assert.equal(out.lo, 10);
  assert.deepEqual([...out.values], [NaN, Math.fround(Math.fround(0.1) + Math.fround(0.2)), 7]);
  // a float64 operand makes the result float64: no rounding at all
  const c: Series = { lo: 10, values: Float64Array.from([0.1, 0.2, 0.3]), dtype: 'f64' };
  const mixed = applyPair('Mul', a, c);
  assert.equal(mixed.dtype, 'f64');
  assert.ok(Object.is(mixed.values[1], Math.fround(0.1) * 0.2));
});
