/**
 * The O(n) / O(n log n) kernels against naive per-window implementations written straight from the
 * pandas/qlib definitions, on random series with NaN runs, ties, windows longer than the data and
 * expanding windows (N = 0).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { evaluate } from '../../src/data/expr/index.ts';
import { MemorySource } from '../../src/data/memorySource.ts';

type Stat = (w: number[], t: number, start: number) => number;

const valid = (w: number[]): number[] => w.filter((v) => !Number.isNaN(v));
const mean = (v: number[]): number => v.reduce((s, a) => s + a, 0) / v.length;
const allEqual = (v: number[]): boolean => v.every((a) => a === v[0]);
const variance = (v: number[]): number => {
  if (v.length < 2) return NaN;
  if (allEqual(v)) return 0;
  const m = mean(v);
  return v.reduce((s, a) => s + (a - m) ** 2, 0) / (v.length - 1);
};
const central = (v: number[], k: number): number => {
  const m = mean(v);
  return v.reduce((s, a) => s + (a - m) ** k, 0) / v.length;
};
const sorted = (v: number[]): number[] => [...v].sort((a, b) => a - b);
const quantile = (v: number[], q: number): number => {
  const s = sorted(v);
  const h = q * (s.length - 1);
  const lo = Math.floor(h);
  return lo === h ? s[lo] : s[lo] + (s[lo + 1] - s[lo]) * (h - lo);
};

/** Per-window reference definitions; the window is the raw rows (NaN included). */
const REF: Record<string, Stat> = {
  Mean: (w) => (valid(w).length ? mean(valid(w)) : NaN),
  Sum: (w) => (valid(w).length ? valid(w).reduce((s, a) => s + a, 0) : NaN),
  Count: (w) => valid(w).length,
  Var: (w) => variance(valid(w)),
  Std: (w) => Math.sqrt(variance(valid(w))),
  Skew: (w) => {
    const v = valid(w);
    const n = v.length;
    if (n < 3) return NaN;
    if (allEqual(v)) return NaN;
    const m2 = central(v, 2);
    if (m2 <= 1e-14) return NaN;
    return (Math.sqrt(n * (n - 1)) / (n - 2)) * (central(v, 3) / m2 ** 1.5);
  },
  Kurt: (w) => {
    const v = valid(w);
    const n = v.length;
    if (n < 4) return NaN;
    if (allEqual(v)) return NaN;
    const m2 = central(v, 2);
    if (m2 <= 1e-14) return NaN;
    return ((n * n - 1) * central(v, 4) / (m2 * m2) - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3));
  },
  Max: (w) => (valid(w).length ? Math.max(...valid(w)) : NaN),
  Min: (w) => (valid(w).length ? Math.min(...valid(w)) : NaN),
  Med: (w) => (valid(w).length ? quantile(valid(w), 0.5) : NaN),
  'Quantile@0.3': (w) => (valid(w).length ? quantile(valid(w), 0.3) : NaN),
  Rank: (w) => {
    const cur = w[w.length - 1];
    const v = valid(w);
    if (Number.isNaN(cur) || !v.length) return NaN;
    const below = v.filter((a) => a < cur).length;
    const eq = v.filter((a) => a === cur).length;
    return (below + (eq + 1) / 2) / v.length;
  },
  IdxMax: (w) => {
    if (!valid(w).length) return NaN;
    const nan = w.findIndex((a) => Number.isNaN(a));
    if (nan >= 0) return nan + 1;
    return w.indexOf(Math.max(...w)) + 1;
  },
  IdxMin: (w) => {
    if (!valid(w).length) return NaN;
    const nan = w.findIndex((a) => Number.isNaN(a));
    if (nan >= 0) return nan + 1;
    return w.indexOf(Math.min(...w)) + 1;
  },
  Mad: (w) => {
    const v = valid(w);
    if (!v.length) return NaN;
    const m = mean(v);
    return mean(v.map((a) => Math.abs(a - m)));
  },
  WMA: (w) => {
    const L = w.length;
    const tot = (L * (L + 1)) / 2;
    const terms = w.map((a, i) => ((i + 1) / tot) * a).filter((a) => !Number.isNaN(a));
    return terms.length ? mean(terms) : NaN;
  },
  Slope: (w) => {
    const pts = w.map((a, i) => [i + 1, a]).filter(([, a]) => !Number.isNaN(a));
    if (pts.length < 2) return NaN;
    const mx = mean(pts.map((p) => p[0]));
    const my = mean(pts.map((p) => p[1]));
    const sxy = pts.reduce((s, [a, b]) => s + (a - mx) * (b - my), 0);
    const sxx = pts.reduce((s, [a]) => s + (a - mx) ** 2, 0);
    return sxy / sxx;
  },
  Rsquare: (w) => {
    const v = valid(w);
    const pts = w.map((a, i) => [i + 1, a]).filter(([, a]) => !Number.isNaN(a));
    if (pts.length < 2) return NaN;
    if (Math.abs(Math.sqrt(variance(v))) <= 2e-5) return NaN;
    const mx = mean(pts.map((p) => p[0]));
    const my = mean(pts.map((p) => p[1]));
    const sxy = pts.reduce((s, [a, b]) => s + (a - mx) * (b - my), 0);
    const sxx = pts.reduce((s, [a]) => s + (a - mx) ** 2, 0);
    const syy = pts.reduce((s, [, b]) => s + (b - my) ** 2, 0);
    return (sxy * sxy) / (sxx * syy);
  },
  Resi: (w) => {
    const L = w.length;
    const cur = w[L - 1];
    const pts = w.map((a, i) => [i + 1, a]).filter(([, a]) => !Number.isNaN(a));
    if (pts.length < 2 || Number.isNaN(cur)) return NaN;
    const mx = mean(pts.map((p) => p[0]));
    const my = mean(pts.map((p) => p[1]));
    const slope = pts.reduce((s, [a, b]) => s + (a - mx) * (b - my), 0) / pts.reduce((s, [a]) => s + (a - mx) ** 2, 0);
    return cur - (slope * L + (my - slope * mx));
  },
};

function reference(op: string, x: number[], N: number): number[] {
  const w = N === 0 ? x.length : N;
  return x.map((_, t) => {
    const start = Math.max(0, t - w + 1);
    return REF[op](x.slice(start, t + 1), t, start);
  });
}

function close(a: number, e: number, scale: number): boolean {
  if (Number.isNaN(e) || Number.isNaN(a)) return Number.isNaN(e) && Number.isNaN(a);
  return Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e), scale);
}

/** Series with NaN runs and, when `ties`, values on a coarse grid so windows hold equal values. */
const seriesArb = (ties: boolean) =>
  fc
    .array(
      fc.oneof(
        { weight: 5, arbitrary: ties ? fc.integer({ min: -6, max: 6 }).map((k) => 20 + k / 2) : fc.double({ min: 5, max: 50, noNaN: true }) },
        { weight: 1, arbitrary: fc.constant(NaN) },
      ),
      { minLength: 1, maxLength: 40 },
    )
    .chain((xs) =>
      // Add a NaN run at a random place (suspension), sometimes at the start.
      fc.tuple(fc.nat({ max: xs.length }), fc.nat({ max: 6 })).map(([at, len]) => [...xs.slice(0, at), ...new Array(len).fill(NaN), ...xs.slice(at)]),
    );

function evalOp(op: string, x: number[], N: number): Float64Array {
  const source = new MemorySource(MemorySource.weekdays(x.length), { A: { x } });
  const expr = op.startsWith('Quantile') ? `Quantile($x,${N},0.3)` : `${op}($x,${N})`;
  return evaluate(expr, { source, instrument: 'A', startIdx: 0, endIdx: x.length - 1, float32: false });
}

for (const op of Object.keys(REF)) {
  const minN = op === 'Skew' ? 3 : op === 'Kurt' ? 4 : 1;
  test(`${op} matches the per-window definition (random series, NaN runs, ties, N=0 and N > length, both order-statistic strategies)`, () => {
    fc.assert(
      fc.property(seriesArb(op !== 'Rsquare' && op !== 'Skew' && op !== 'Kurt'), fc.oneof(fc.constant(0), fc.integer({ min: minN, max: 12 }), fc.constant(100), fc.constant(150)), (x, N) => {
        const got = evalOp(op, x, N);
        const want = reference(op, x, N);
        const scale = Math.max(...x.filter((v) => !Number.isNaN(v)).map(Math.abs), 1);
        for (let t = 0; t < x.length; t++) {
          if (!close(got[t], want[t], op === 'Resi' || op === 'Slope' ? scale : 1)) {
            throw new Error(`${op}(N=${N}) at t=${t}: got ${got[t]}, want ${want[t]}; x=${JSON.stringify(x.map((v) => (Number.isNaN(v) ? null : v)))}`);
          }
        }
      }),
      { numRuns: 150, seed: 20261125 },
    );
  });
}

test('Skew and Kurt of an all-equal window are NaN (pandas 3; pandas 1.5 gave 0 and -3)', () => {
  const x = [5, 5, 5, 5, 5, 6, 5];
  const skew = evalOp('Skew', x, 4);
  const kurt = evalOp('Kurt', x, 4);
  assert.ok(Number.isNaN(skew[3]) && Number.isNaN(skew[4]));
  assert.ok(Number.isNaN(kurt[3]) && Number.isNaN(kurt[4]));
  assert.ok(skew[5] > 0, 'a window with one outlier above is right-skewed');
  assert.ok(Number.isNaN(skew[1]), 'fewer than 3 values');
});
