/**
 * Every operator against the inventory's Appendix B vectors (computed by qlib's own code paths on
 * pandas 1.5.3), in float64 and with qlib's float32 emulation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate } from '../../src/data/expr/index.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

const N = NaN;
const x = [10, 10.5, 10.2, N, 10.8, 11, 11, 11, 10.6, 10.9];
const y = [100, 120, 90, 95, N, 130, 110, 105, 140, 100];

const VECTORS: Record<string, number[]> = {
  'Ref($x,1)': [N, 10, 10.5, 10.2, N, 10.8, 11, 11, 11, 10.6],
  'Ref($x,-2)': [10.2, N, 10.8, 11, 11, 11, 10.6, 10.9, N, N],
  'Delta($x,3)': [N, N, N, N, 0.3, 0.8, N, 0.2, -0.4, -0.1],
  'Mean($x,3)': [10, 10.25, 10.2333, 10.35, 10.5, 10.9, 10.9333, 11, 10.8667, 10.8333],
  'Sum($x,3)': [10, 20.5, 30.7, 20.7, 21, 21.8, 32.8, 33, 32.6, 32.5],
  'Std($x,3)': [N, 0.353553, 0.251661, 0.212132, 0.424264, 0.141421, 0.11547, 0, 0.23094, 0.208167],
  'Var($x,3)': [N, 0.125, 0.0633333, 0.045, 0.18, 0.02, 0.0133333, 0, 0.0533333, 0.0433333],
  // Appendix B (pandas 1.5.3) has 0 at t=7, the all-equal window [11, 11, 11]; pandas 3, which
  // qlib 0.9.7 runs on today (and which produced the Alpha158 golden values), gives NaN there.
  'Skew($x,3)': [N, N, 0.585583, N, N, N, -1.73205, N, -1.73205, -1.29334],
  'Kurt($x,4)': [N, N, N, N, N, N, N, 4, 4, 2.61547],
  'Max($x,3)': [10, 10.5, 10.5, 10.5, 10.8, 11, 11, 11, 11, 11],
  'Min($x,3)': [10, 10, 10, 10.2, 10.2, 10.8, 10.8, 11, 10.6, 10.6],
  'Med($x,3)': [10, 10.25, 10.2, 10.35, 10.5, 10.9, 11, 11, 11, 10.9],
  'Quantile($x,3,0.8)': [10, 10.4, 10.38, 10.44, 10.68, 10.96, 11, 11, 11, 10.96],
  'Count($x,3)': [1, 2, 3, 2, 2, 2, 3, 3, 3, 3],
  'Rank($x,3)': [1, 1, 0.666667, N, 1, 1, 0.833333, 0.666667, 0.333333, 0.666667],
  'IdxMax($x,3)': [1, 2, 2, 3, 2, 1, 2, 1, 1, 1],
  'IdxMin($x,3)': [1, 1, 1, 3, 2, 1, 1, 1, 3, 2],
  'Mad($x,3)': [0, 0.25, 0.177778, 0.15, 0.3, 0.1, 0.0888889, 0, 0.177778, 0.155556],
  'WMA($x,3)': [10, 5.16667, 3.42222, 2.575, 3.55, 4.55, 3.65556, 3.66667, 3.6, 3.60556],
  'EMA($x,3)': [10, 10.3333, 10.2571, 10.2571, 10.6348, 10.8473, 10.9294, 10.966, 10.7797, 10.8404],
  'Slope($x,3)': [N, 0.5, 0.1, -0.3, 0.3, 0.2, 0.1, 0, -0.2, -0.05],
  'Rsquare($x,3)': [N, 1, 0.157895, 1, 1, 1, 0.75, N, 0.75, 0.0576923],
  'Resi($x,3)': [N, 0, -0.133333, N, 0, -1.77636e-15, -0.0333333, 0, -0.0666667, 0.116667],
  'Corr($x,$y,3)': [N, 1, 0.737043, 1, N, N, N, N, -0.991241, -0.936766],
  'Cov($x,$y,3)': [N, 5, 2.83333, 4.5, N, N, 0, 0, -4.33333, -4.25],
  'Greater($x-Ref($x,1),0)': [N, 0.5, 0, N, N, 0.2, 0, 0, 0, 0.3],
  'Mean($x>Ref($x,1),3)': [0, 0.5, 0.333333, 0.333333, 0, 0.333333, 0.333333, 0.333333, 0, 0.333333],
};

const source = new MemorySource(MemorySource.weekdays(10), { A: { x, y } });

/** Close to the 6 significant digits of the table (absolute 1e-6 near zero, and `rel` relative). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${label}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    assert.ok(!Number.isNaN(a), `${label}[${i}]: expected ${e}, got NaN`);
    const tol = Math.max(1e-6, Math.abs(e) * rel);
    assert.ok(Math.abs(a - e) <= tol, `${label}[${i}]: expected ${e}, got ${a}`);
  }
}

for (const [expr, expected] of Object.entries(VECTORS)) {
  test(`Appendix B: ${expr} (float64)`, () => {
    const got = evaluate(expr, { source, instrument: 'A', startIdx: 0, endIdx: 9, float32: false });
    assertClose(got, expected, 5e-6, expr);
  });
  test(`Appendix B: ${expr} (qlib float32)`, () => {
    const got = evaluate(expr, { source, instrument: 'A', startIdx: 0, endIdx: 9 });
    // float32 leaves move results by ~1e-7 relative; differences of nearly equal values by more.
    assertClose(got, expected, 1e-4, expr);
    for (const v of got) if (!Number.isNaN(v)) assert.equal(v, Math.fround(v), 'final output is float32');
  });
}

test('the float32 path differs from float64 where qlib does (10.2 is not a float32)', () => {
  const f64 = evaluate('$x', { source, instrument: 'A', startIdx: 2, endIdx: 2, float32: false });
  const f32 = evaluate('$x', { source, instrument: 'A', startIdx: 2, endIdx: 2 });
  assert.equal(f64[0], 10.2);
  assert.equal(f32[0], Math.fround(10.2));
  assert.notEqual(f32[0], 10.2);
});

test("Log of float32 follows numpy's SIMD float32 log bit for bit (not the correctly rounded value)", async () => {
  const { npLogf } = await import('../../src/data/expr/kernels/npLogf.ts');
  // (x, np.log(np.float32(x))) from numpy 2.4.6 on AVX-512; fround(Math.log(x)) differs by one ulp for each.
  const pairs: [number, number][] = [
    [27670636, 17.135883331298828], [33178680, 17.317419052124023], [35537324, 17.38609504699707],
    [33100176, 17.31505012512207], [68933552, 18.048654556274414], [31299788, 17.259122848510742],
  ];
  for (const [x, want] of pairs) {
    assert.equal(npLogf(x), want, `log(${x})`);
    assert.notEqual(Math.fround(Math.log(x)), want, 'the case is one where correct rounding differs');
  }
  assert.equal(npLogf(1), 0);
  assert.equal(npLogf(0), -Infinity);
  assert.ok(Number.isNaN(npLogf(-1)));
  assert.equal(npLogf(Infinity), Infinity);
  // In expressions: float32 input uses it, float64 input (a rolling result) uses Math.log.
  const src = new MemorySource(MemorySource.weekdays(2), { V: { v: [27670636, 27670636] } });
  assert.equal(evaluate('Log($v)', { source: src, instrument: 'V', startIdx: 0, endIdx: 0 })[0], 17.135883331298828);
  assert.equal(evaluate('Log(Mean($v,2))', { source: src, instrument: 'V', startIdx: 1, endIdx: 1 })[0], Math.fround(Math.log(27670636)));
});
