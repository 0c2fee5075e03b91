/**
 * pandas `a.rolling(N, min_periods=1).cov(b)` / `.corr(b)`: only rows where both are valid count;
 * `cov = (mean(ab) - mean(a)mean(b)) · n/(n-1)`, `corr = cov / sqrt(var(a)·var(b))` with the
 * variances over the same paired rows. Fewer than 2 pairs gives NaN.
 */
import { rollingCount, rollingMean, rollingVar } from './moments.ts';

function paired(a: Float64Array, b: Float64Array): [Float64Array, Float64Array, Float64Array] {
  const n = a.length;
  const pa = new Float64Array(n);
  const pb = new Float64Array(n);
  const prod = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const both = a[i] === a[i] && b[i] === b[i];
    pa[i] = both ? a[i] : NaN;
    pb[i] = both ? b[i] : NaN;
    prod[i] = both ? a[i] * b[i] : NaN;
  }
  return [pa, pb, prod];
}

function covariance(pa: Float64Array, pb: Float64Array, prod: Float64Array, N: number): Float64Array {
  const mxy = rollingMean(prod, N);
  const mx = rollingMean(pa, N);
  const my = rollingMean(pb, N);
  const cnt = rollingCount(pa, N);
  const out = new Float64Array(pa.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = cnt[i] === 0 ? NaN : (mxy[i] - mx[i] * my[i]) * (cnt[i] / (cnt[i] - 1));
  }
  return out;
}

export function rollingCov(a: Float64Array, b: Float64Array, N: number): Float64Array {
  const [pa, pb, prod] = paired(a, b);
  return covariance(pa, pb, prod, N);
}

export function rollingCorr(a: Float64Array, b: Float64Array, N: number): Float64Array {
  const [pa, pb, prod] = paired(a, b);
  const cov = covariance(pa, pb, prod, N);
  const va = rollingVar(pa, N);
  const vb = rollingVar(pb, N);
  for (let i = 0; i < cov.length; i++) cov[i] = cov[i] / Math.sqrt(va[i] * vb[i]);
  return cov;
}
