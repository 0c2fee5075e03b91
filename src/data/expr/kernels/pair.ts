/**
 * pandas `a.rolling(N, min_periods=1).cov(b)` / `.corr(b)`: only rows where both are valid count;
 * sample covariance (ddof=1) and Pearson correlation over those pairs; fewer than 2 pairs gives
 * NaN; a side whose paired values are all equal gives covariance exactly 0 and correlation NaN
 * (0/0), as pandas 3 does.
 *
 * Two-pass per-window covariance/correlation over the rows valid in both series: means first,
 * then Σ(a−ā)(b−b̄), Σ(a−ā)², Σ(b−b̄)². O(n·N), but free of the cancellation that makes
 * `mean(ab) − mean(a)·mean(b)` lose digits when the correlation is near zero.
 */
function twoPass(a: Float64Array, b: Float64Array, N: number, corr: boolean): Float64Array {
  const n = a.length;
  const w = N === 0 ? n : N;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const start = t - w + 1 < 0 ? 0 : t - w + 1;
    let cnt = 0;
    let sa = 0;
    let sb = 0;
    let a0 = NaN;
    let b0 = NaN;
    let aConst = true;
    let bConst = true;
    for (let j = start; j <= t; j++) {
      const x = a[j];
      const y = b[j];
      if (x === x && y === y) {
        if (cnt === 0) {
          a0 = x;
          b0 = y;
        } else {
          if (x !== a0) aConst = false;
          if (y !== b0) bConst = false;
        }
        cnt++;
        sa += x;
        sb += y;
      }
    }
    if (cnt < 2) {
      out[t] = NaN;
      continue;
    }
    if (aConst || bConst) {
      out[t] = corr ? NaN : 0;
      continue;
    }
    const ma = sa / cnt;
    const mb = sb / cnt;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let j = start; j <= t; j++) {
      const x = a[j];
      const y = b[j];
      if (x === x && y === y) {
        const dx = x - ma;
        const dy = y - mb;
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
      }
    }
    out[t] = corr ? sab / Math.sqrt(saa * sbb) : sab / (cnt - 1);
  }
  return out;
}

export const rollingCov = (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, false);
export const rollingCorr = (a: Float64Array, b: Float64Array, N: number): Float64Array => twoPass(a, b, N, true);
