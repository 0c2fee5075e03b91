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
import { f64Scratch } from '../arena.ts';
function twoPass(a: Float64Array, b: Float64Array, N: number, corr: boolean): Float64Array {
  const n = a.length;
  const w = N === 0 ? n : N;
  const out = f64Scratch(n);
  for (let t = 0; t < n; t++) out[t] = windowStat(a, b, t - w + 1 < 0 ? 0 : t - w + 1, t, corr);
  return out;
}

/**
 * The same numbers in O(n) for fixed windows: running sums of deviations from a reference pair,
 * re-anchored (recomputed from scratch) every `w` rows so rounding cannot accumulate, and any
 * row whose centred sums look like cancellation (|c| below `CANCEL_TOL` of the raw sums) is
 * recomputed exactly by `windowStat`. Constant sides are detected exactly, not from the sums:
 * a side is constant in the window iff no valid pair after the window's first one changed it.
 */
const CANCEL_TOL = 1e-6;

// One pass over deviations from the window's first pair: as exact as two passes for data whose
// spread is small next to its level, and a side is constant iff its deviations are all 0.
function windowStat(a: Float64Array, b: Float64Array, start: number, t: number, corr: boolean): number {
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
  if (cnt < 2) return NaN;
  if (saa === 0 || sbb === 0) return corr ? NaN : 0;
  const cab = sab - (sa * sb) / cnt;
  if (!corr) return cab / (cnt - 1);
  return cab / Math.sqrt((saa - (sa * sa) / cnt) * (sbb - (sb * sb) / cnt));
}

function sliding(a: Float64Array, b: Float64Array, w: number, corr: boolean): Float64Array {
  const n = a.length;
  const out = f64Scratch(n);
  // chgA/chgB: the latest valid pair whose a (b) differs from the previous valid pair's.
  let lastChgA = -1;
  let lastChgB = -1;
  let prevA = NaN;
  let prevB = NaN;
  let first = 0; // first valid pair inside the window (or t+1 when none)
  let ka = 0;
  let kb = 0;
  let cnt = 0;
  let sa = 0;
  let sb = 0;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  let anchoredAt = -w; // row of the last from-scratch recomputation
  for (let t = 0; t < n; t++) {
    const start = t - w + 1 < 0 ? 0 : t - w + 1;
    const x = a[t];
    const y = b[t];
    const valid = x === x && y === y;
    if (valid) {
      if (prevA === prevA && x !== prevA) lastChgA = t;
      if (prevB === prevB && y !== prevB) lastChgB = t;
      prevA = x;
      prevB = y;
    }
    while (first < start || (first <= t && !(a[first] === a[first] && b[first] === b[first]))) first++;
    if (t - anchoredAt >= w) {
      // Re-anchor: reference = the window's first valid pair, sums from scratch.
      anchoredAt = t;
      cnt = 0;
      sa = sb = sab = saa = sbb = 0;
      if (first <= t) {
        ka = a[first] as number;
        kb = b[first] as number;
      }
      for (let j = first; j <= t; j++) {
        const u = a[j] as number;
        const v = b[j] as number;
        if (u === u && v === v) {
          cnt++;
          const dx = u - ka;
          const dy = v - kb;
          sa += dx;
          sb += dy;
          sab += dx * dy;
          saa += dx * dx;
          sbb += dy * dy;
        }
      }
    } else {
      const old = t - w;
      if (old >= 0) {
        const u = a[old] as number;
        const v = b[old] as number;
        if (u === u && v === v) {
          cnt--;
          const dx = u - ka;
          const dy = v - kb;
          sa -= dx;
          sb -= dy;
          sab -= dx * dy;
          saa -= dx * dx;
          sbb -= dy * dy;
        }
      }
      if (valid) {
        if (cnt === 0) {
          // Empty window: restart the sums at this pair (drops any rounding residue).
          ka = x;
          kb = y;
          sa = sb = sab = saa = sbb = 0;
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
    const constA = lastChgA <= first;
    const constB = lastChgB <= first;
    if (constA || constB) {
      out[t] = corr ? NaN : 0;
      continue;
    }
    const cab = sab - (sa * sb) / cnt;
    const caa = saa - (sa * sa) / cnt;
    const cbb = sbb - (sb * sb) / cnt;
    if (caa <= CANCEL_TOL * saa || cbb <= CANCEL_TOL * sbb || Math.abs(cab) <= CANCEL_TOL * Math.sqrt(saa * sbb)) {
      out[t] = windowStat(a, b, start, t, corr);
      continue;
    }
    out[t] = corr ? cab / Math.sqrt(caa * cbb) : cab / (cnt - 1);
  }
  return out;
}

/** Fixed windows use the O(n) sliding sums; expanding windows (`N = 0`) the per-window loop. */
function pairStat(a: Float64Array, b: Float64Array, N: number, corr: boolean): Float64Array {
  return N > 0 && process.env['QTASK_EXACT_CORR'] !== '1' ? sliding(a, b, N, corr) : twoPass(a, b, N, corr);
}

export const rollingCov = (a: Float64Array, b: Float64Array, N: number): Float64Array => pairStat(a, b, N, false);
export const rollingCorr = (a: Float64Array, b: Float64Array, N: number): Float64Array => pairStat(a, b, N, true);

/** The per-window reference versions, exported so tests can compare both strategies. */
export const exactPairKernels = { cov: (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, false), corr: (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, true) };
