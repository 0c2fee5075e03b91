/**
 * pandas `a.rolling(N, min_periods=1).cov(b)` / `.corr(b)`: only rows where both are valid count;
 * sample covariance (ddof=1) and Pearson correlation over those pairs; fewer than 2 pairs gives
 * NaN; a side whose paired values are all equal gives covariance exactly 0 and correlation NaN
 * (0/0), as pandas 3 does.
 *
 * Recomputed per window (O(n·N)) from deviations against the window's first pair, which avoids
 * the cancellation that makes pandas 1.x's `mean(ab) − mean(a)·mean(b)` lose digits when the
 * correlation is near zero; pandas 3 returns values within ~1e-9 of the exact ones too.
 */
import { f64 } from '../arena.ts';
function twoPass(a: Float64Array, b: Float64Array, N: number, corr: boolean): Float64Array {
  const n = a.length;
  const w = N === 0 ? n : N;
  const out = f64(n);
  for (let t = 0; t < n; t++) {
    const start = t - w + 1 < 0 ? 0 : t - w + 1;
    // One pass over deviations from the window's first pair: as exact as two passes for data
    // whose spread is small next to its level, and a side is constant iff its deviations are all 0.
    let cnt = 0;
    let ka = NaN;
    let kb = NaN;
    let sa = 0;
    let sb = 0;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let j = start; j <= t; j++) {
      const x = a[j];
      const y = b[j];
      if (x === x && y === y) {
        if (cnt === 0) {
          ka = x;
          kb = y;
        }
        cnt++;
        const dx = x - ka;
        const dy = y - kb;
        sa += dx;
        sb += dy;
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
      }
    }
    if (cnt < 2) {
      out[t] = NaN;
      continue;
    }
    if (saa === 0 || sbb === 0) {
      out[t] = corr ? NaN : 0;
      continue;
    }
    const cab = sab - (sa * sb) / cnt;
    if (!corr) {
      out[t] = cab / (cnt - 1);
      continue;
    }
    const caa = saa - (sa * sa) / cnt;
    const cbb = sbb - (sb * sb) / cnt;
    out[t] = cab / Math.sqrt(caa * cbb);
  }
  return out;
}

export const rollingCov = (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, false);
export const rollingCorr = (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, true);
