/**
 * Sliding-window sum/mean/count/var/std/skew/kurt with pandas 1.5+ semantics for
 * `rolling(N, min_periods=1)`: NaN rows are skipped (they still occupy a row of the window), the
 * window at row t is the last `min(N, t+1)` rows, and a window whose valid values are all equal
 * gives exactly mean = that value, var = 0, skew = 0, kurt = -3 (pandas' "consecutive same value"
 * rule). Sums are Kahan-compensated like pandas'. `N = 0` means an expanding window.
 */

function windowOf(n: number, N: number): number {
  return N === 0 ? n : N;
}

/** Kahan-compensated running sum with pandas' add/remove order. */
class KahanSum {
  sum = 0;
  private comp = 0;
  add(v: number): void {
    const y = v - this.comp;
    const t = this.sum + y;
    this.comp = t - this.sum - y;
    this.sum = t;
  }
  reset(): void {
    this.sum = 0;
    this.comp = 0;
  }
}

/** Tracks the run of equal values among the valid values added so far (pandas never shortens it on removal). */
class SameRun {
  count = 0;
  prev = NaN;
  add(v: number): void {
    if (v === this.prev) this.count++;
    else this.count = 1;
    this.prev = v;
  }
}

export function rollingCount(x: Float64Array, N: number): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = new Float64Array(n);
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
  const out = new Float64Array(n);
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

/** Sample variance (ddof=1 by default) with Welford updates, as pandas' `roll_var`. */
export function rollingVar(x: Float64Array, N: number, ddof = 1): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = new Float64Array(n);
  let nobs = 0;
  let mean = 0;
  let ssq = 0;
  const run = new SameRun();
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0) {
      const v = x[old];
      if (v === v) {
        nobs--;
        if (nobs > 0) {
          const delta = v - mean;
          mean -= delta / nobs;
          ssq -= ((nobs + 1) * delta * delta) / nobs;
        } else {
          mean = 0;
          ssq = 0;
        }
      }
    }
    const v = x[t];
    if (v === v) {
      nobs++;
      run.add(v);
      const delta = v - mean;
      mean += delta / nobs;
      ssq += ((nobs - 1) * delta * delta) / nobs;
    }
    if (nobs > ddof && nobs >= 1) {
      if (nobs === 1 || run.count >= nobs) out[t] = 0;
      else {
        const r = ssq / (nobs - ddof);
        out[t] = r < 0 ? 0 : r;
      }
    } else out[t] = NaN;
  }
  return out;
}

export function rollingStd(x: Float64Array, N: number): Float64Array {
  const v = rollingVar(x, N);
  for (let i = 0; i < v.length; i++) v[i] = Math.sqrt(v[i]);
  return v;
}

/** Values shifted by their rounded mean, as pandas does before its skew/kurt power sums. */
function shiftedByMean(x: Float64Array): Float64Array {
  let sum = 0;
  let cnt = 0;
  let min = Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v === v) {
      sum += v;
      cnt++;
      if (v < min) min = v;
    }
  }
  const copy = Float64Array.from(x);
  if (cnt === 0) return copy;
  let m = sum / cnt;
  if (min - m > -1e5) {
    m = Math.round(m);
    for (let i = 0; i < copy.length; i++) copy[i] -= m;
  }
  return copy;
}

function rollingHigherMoment(x: Float64Array, N: number, order: 3 | 4): Float64Array {
  const n = x.length;
  const w = windowOf(n, N);
  const out = new Float64Array(n);
  const xs = shiftedByMean(x);
  const s1 = new KahanSum();
  const s2 = new KahanSum();
  const s3 = new KahanSum();
  const s4 = new KahanSum();
  const run = new SameRun();
  let nobs = 0;
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0) {
      const v = xs[old];
      if (v === v) {
        nobs--;
        s1.add(-v);
        s2.add(-v * v);
        s3.add(-v * v * v);
        if (order === 4) s4.add(-v * v * v * v);
      }
    }
    const v = xs[t];
    if (v === v) {
      nobs++;
      run.add(v);
      s1.add(v);
      s2.add(v * v);
      s3.add(v * v * v);
      if (order === 4) s4.add(v * v * v * v);
    }
    if (nobs === 0) {
      out[t] = NaN;
      s1.reset();
      s2.reset();
      s3.reset();
      s4.reset();
      continue;
    }
    const d = nobs;
    const A = s1.sum / d;
    if (order === 3) {
      const B = s2.sum / d - A * A;
      const C = s3.sum / d - A * A * A - 3 * A * B;
      if (nobs < 3) out[t] = NaN;
      else if (run.count >= nobs) out[t] = 0;
      else if (B <= 1e-14) out[t] = NaN;
      else {
        const R = Math.sqrt(B);
        out[t] = (Math.sqrt(d * (d - 1)) * C) / ((d - 2) * R * R * R);
      }
    } else {
      let R = A * A;
      const B = s2.sum / d - R;
      R = R * A;
      const C = s3.sum / d - R - 3 * A * B;
      R = R * A;
      const D = s4.sum / d - R - 6 * B * A * A - 4 * C * A;
      if (nobs < 4) out[t] = NaN;
      else if (run.count >= nobs) out[t] = -3;
      else if (B <= 1e-14) out[t] = NaN;
      else {
        const K = ((d * d - 1) * D) / (B * B) - 3 * (d - 1) ** 2;
        out[t] = K / ((d - 2) * (d - 3));
      }
    }
  }
  return out;
}

export function rollingSkew(x: Float64Array, N: number): Float64Array {
  return rollingHigherMoment(x, N, 3);
}

export function rollingKurt(x: Float64Array, N: number): Float64Array {
  return rollingHigherMoment(x, N, 4);
}
