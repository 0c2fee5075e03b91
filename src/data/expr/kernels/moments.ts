/**
 * Sliding-window sum/mean/count/var/std/skew/kurt with pandas 3 semantics for
 * `rolling(N, min_periods=1)`: NaN rows are skipped (they still occupy a row of the window) and the
 * window at row t is the last `min(N, t+1)` rows. Sum and mean follow pandas' Kahan kernels,
 * including its "consecutive same value" rule (an all-equal window gives exactly that value).
 * `N = 0` means an expanding window.
 */
import { f64, f64Scratch } from '../arena.ts';

function windowOf(n: number, N: number): number {
  return N === 0 ? n : N;
}

export function rollingCount(x: Float64Array, N: number): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = f64Scratch(n);
  let c = 0;
  for (let t = 0; t < n; t++) {
    if (x[t] === x[t]) c++;
    const old = t - w;
    if (old >= 0 && x[old] === x[old]) c--;
    out[t] = c;
  }
  return out;
}

function rollingSumMean(x: Float64Array, N: number, mean: boolean): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = f64Scratch(n);
  // Kahan sum and pandas' consecutive-same-value run, inlined (this is the hottest kernel).
  let sum = 0;
  let comp = 0;
  let runCount = 0;
  let runPrev = NaN;
  let nobs = 0;
  let neg = 0;
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0) {
      const v = x[old];
      if (v === v) {
        nobs--;
        const y = -v - comp;
        const s2 = sum + y;
        comp = s2 - sum - y;
        sum = s2;
        if (v < 0) neg--;
      }
    }
    const v = x[t];
    if (v === v) {
      nobs++;
      const y = v - comp;
      const s2 = sum + y;
      comp = s2 - sum - y;
      sum = s2;
      if (v === runPrev) runCount++;
      else runCount = 1;
      runPrev = v;
      if (v < 0) neg++;
    }
    if (nobs === 0) {
      out[t] = NaN;
      sum = 0;
      comp = 0;
      continue;
    }
    if (mean) {
      let r = sum / nobs;
      if (runCount >= nobs) r = runPrev;
      else if (neg === 0 && r < 0) r = 0;
      else if (neg === nobs && r > 0) r = 0;
      out[t] = r;
    } else {
      out[t] = runCount >= nobs ? runPrev * nobs : sum;
    }
  }
  return out;
}

export function rollingSum(x: Float64Array, N: number): Float64Array {
  return rollingSumMean(x, N, false);
}

export function rollingMean(x: Float64Array, N: number): Float64Array {
  return rollingSumMean(x, N, true);
}

/** pandas' `InvCondTol`: an update that leaves fewer than ~3 significant digits marks the window for recomputation. */
const INV_COND_TOL = 2.220446049250313e-16 * 1e3;

/**
 * Sample variance (ddof=1 by default), a port of pandas 3's `roll_var`: Welford updates with Kahan
 * compensation (separate for adds and removes), removes before adds, and a from-scratch
 * recomputation of the window whenever an update looks like catastrophic cancellation. Unlike
 * pandas 1.5 there is no "all values equal → exactly 0" shortcut; the recomputation gives 0 there.
 */
export function rollingVar(x: Float64Array, N: number, ddof = 1): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = f64(n);
  // State lives in locals and the add step is written out twice: a closure over mutable state
  // made this kernel 2-3x slower.
  let nobs = 0;
  let mean = 0;
  let ssq = 0;
  let compAdd = 0;
  let compRemove = 0;
  let unstable = false;
  for (let t = 0; t < n; t++) {
    const start = t - w + 1 < 0 ? 0 : t - w + 1;
    const recompute = t === 0 || start >= t;
    if (!recompute) {
      const old = t - w;
      if (old >= 0) {
        const val = x[old];
        if (val === val) {
          const prevM2 = ssq;
          nobs--;
          if (nobs) {
            const prevMean = mean - compRemove;
            const y = val - compRemove;
            const d = y - mean;
            compRemove = d + mean - y;
            mean = mean - d / nobs;
            ssq = ssq - (val - prevMean) * (val - mean);
            if (prevM2 * INV_COND_TOL > ssq) unstable = true;
          } else {
            mean = 0;
            ssq = 0;
            unstable = false;
          }
        }
      }
      const val = x[t];
      if (val === val) {
        const prevM2 = ssq;
        nobs++;
        const prevMean = mean - compAdd;
        const y = val - compAdd;
        const d = y - mean;
        compAdd = d + mean - y;
        mean = mean + d / nobs;
        ssq = ssq + (val - prevMean) * (val - mean);
        if (prevM2 * INV_COND_TOL > ssq) unstable = true;
      }
    }
    if (recompute || unstable) {
      mean = ssq = nobs = compAdd = compRemove = 0;
      for (let j = start; j <= t; j++) {
        const val = x[j];
        if (val !== val) continue;
        nobs++;
        const prevMean = mean - compAdd;
        const y = val - compAdd;
        const d = y - mean;
        compAdd = d + mean - y;
        mean = mean + d / nobs;
        ssq = ssq + (val - prevMean) * (val - mean);
      }
      unstable = false;
    }
    out[t] = nobs >= 1 && nobs > ddof ? ssq / (nobs - ddof) : NaN;
  }
  return out;
}

/** pandas' `zsqrt`: the square root of the rolling variance, with negative rounding residue giving 0. */
export function rollingStd(x: Float64Array, N: number): Float64Array {
  const v = rollingVar(x, N);
  for (let i = 0; i < v.length; i++) v[i] = v[i] < 0 ? 0 : Math.sqrt(v[i]);
  return v;
}

/**
 * Skewness/kurtosis with pandas 3's definitions: central moment sums m2, m3, m4 of the window's
 * valid values; skew = m3/m2^1.5 · n√(n−1)/(n−2), kurt = (n−1)/((n−2)(n−3)) · (n(n+1)·m4/m2² − 3(n−1));
 * all valid values equal or m2 ≤ n·1e-14 → NaN (pandas 3; pandas 1.5–2.x gave 0 / −3 for equal values);
 * fewer than 3 / 4 values → NaN.
 *
 * Computed two-pass per window (O(n·N)), not with running sums: pandas 3.1 returns values within
 * ~1e-11 of the exact ones, and running power sums or online moment updates lose several digits
 * after a large value (a volume spike) leaves the window. Expanding windows (N = 0) only add
 * values, so they use exact-enough online updates, O(n).
 */
function rollingHigherMoment(x: Float64Array, N: number, order: 3 | 4): Float64Array {
  const n = x.length;
  const out = f64(n);
  const finish = (t: number, cnt: number, m2: number, m3: number, m4: number, allEqual: boolean): void => {
    const d = cnt;
    if (cnt < order) out[t] = NaN;
    // pandas 1.5–2.x returned 0 / −3 for an all-equal window; pandas 3 (and so qlib on it) gives NaN.
    else if (allEqual) out[t] = NaN;
    else if (m2 <= d * 1e-14) out[t] = NaN;
    else if (order === 3) out[t] = (m3 / (m2 * Math.sqrt(m2))) * ((d * Math.sqrt(d - 1)) / (d - 2));
    else out[t] = ((d - 1) / ((d - 2) * (d - 3))) * (d * (d + 1) * (m4 / (m2 * m2)) - 3 * (d - 1));
  };
  if (N === 0) {
    let cnt = 0;
    let mean = 0;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let first = NaN;
    let allEqual = true;
    for (let t = 0; t < n; t++) {
      const v = x[t];
      if (v === v) {
        if (cnt === 0) first = v;
        else if (v !== first) allEqual = false;
        cnt++;
        const k = cnt;
        const delta = v - mean;
        const dn = delta / k;
        const term1 = delta * dn * (k - 1);
        m4 += dn * (-4 * m3 + dn * (6 * m2 + term1 * (k * k - 3 * k + 3)));
        m3 += dn * (term1 * (k - 2) - 3 * m2);
        m2 += term1;
        mean += dn;
      }
      finish(t, cnt, m2, m3, m4, allEqual);
    }
    return out;
  }
  for (let t = 0; t < n; t++) {
    const start = t - N + 1 < 0 ? 0 : t - N + 1;
    let cnt = 0;
    let sum = 0;
    let first = NaN;
    let allEqual = true;
    for (let j = start; j <= t; j++) {
      const v = x[j];
      if (v === v) {
        if (cnt === 0) first = v;
        else if (v !== first) allEqual = false;
        cnt++;
        sum += v;
      }
    }
    if (cnt < order) {
      out[t] = NaN;
      continue;
    }
    const mean = sum / cnt;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (let j = start; j <= t; j++) {
      const v = x[j];
      if (v === v) {
        const d = v - mean;
        const d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
      }
    }
    finish(t, cnt, m2, m3, m4, allEqual);
  }
  return out;
}

export function rollingSkew(x: Float64Array, N: number): Float64Array {
  return rollingHigherMoment(x, N, 3);
}

export function rollingKurt(x: Float64Array, N: number): Float64Array {
  return rollingHigherMoment(x, N, 4);
}
