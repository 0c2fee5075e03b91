/**
 * Corr/Cov over fixed windows use O(n) sliding sums (kernels/pair.ts); they must agree with the
 * per-window reference on data with NaN runs, constant stretches, level jumps and near-zero
 * correlation, with NaN (and exact 0 covariance) in the same rows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactPairKernels, rollingCorr, rollingCov } from '../../src/data/expr/kernels/pair.ts';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function series(r: () => number, n: number, level: number): Float64Array {
  const out = new Float64Array(n);
  let x = level;
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.05) x += (r() - 0.5) * level * 0.5; // jump
    else if (u < 0.35) {
      // unchanged: constant stretches
    } else x += (r() - 0.5) * level * 0.01;
    out[i] = r() < 0.04 ? NaN : Math.fround(x);
  }
  // a NaN run and a long constant run
  for (let i = 100; i < 130 && i < n; i++) out[i] = NaN;
  for (let i = 200; i < 290 && i < n; i++) out[i] = out[199] as number;
  return out;
}

test('sliding Corr/Cov equal the per-window reference (1e-9 relative, same NaN rows)', () => {
  const r = prng(7);
  let rows = 0;
  for (let k = 0; k < 12; k++) {
    const a = series(r, 600, [44, 0.01, 1e4][k % 3] as number);
    const b = k % 4 === 0 ? a.map((v) => Math.log(v + 1)) : series(r, 600, [15, 1e6, 1][k % 3] as number);
    for (const N of [2, 5, 10, 20, 30, 60]) {
      for (const [name, fast, exact] of [
        ['Corr', rollingCorr, exactPairKernels.corr],
        ['Cov', rollingCov, exactPairKernels.cov],
      ] as const) {
        const got = fast(a, b, N);
        const want = exact(a, b, N);
        for (let t = 0; t < a.length; t++) {
          const g = got[t] as number;
          const w = want[t] as number;
          rows++;
          if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${name} k=${k} N=${N} t=${t}: ${g} vs NaN`);
          else if (w === 0) assert.equal(g, 0, `${name} k=${k} N=${N} t=${t}`);
          else assert.ok(Math.abs(g - w) <= 1e-9 * Math.abs(w) + 1e-12, `${name} k=${k} N=${N} t=${t}: ${g} vs ${w}`);
        }
      }
    }
  }
  assert.ok(rows > 80_000);
});
