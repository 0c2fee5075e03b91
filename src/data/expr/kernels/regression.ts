/**
 * Rolling OLS of the values against their row positions, a port of qlib's Cython kernels
 * (`qlib/data/_libs/rolling.pyx`): running sums over a window pre-filled with N NaNs, positions
 * 1..N with the newest row at N, NaN rows skipped but keeping their positions. The same
 * update order is kept so results agree with qlib's to rounding. `N = 0` (expanding) uses a
 * window as long as the series, which gives the same fit as qlib's `expanding.pyx`.
 */
import { f64, f64Scratch } from '../arena.ts';

type Stat = 'slope' | 'rsquare' | 'resi';

function rollingRegression(x: Float64Array, N: number, stat: Stat): Float64Array {
  const n = x.length;
  const w = N === 0 ? Math.max(1, n) : N;
  const out = f64(n);
  // Ring buffer of the last w values (pre-filled with NaN, as qlib's deque is).
  const ring = f64Scratch(w).fill(NaN);
  let head = 0;
  let naCount = w;
  let iSum = 0;
  let xSum = 0;
  let x2Sum = 0;
  let ySum = 0;
  let y2Sum = 0;
  let xySum = 0;
  for (let t = 0; t < n; t++) {
    const val = x[t];
    // Every position moves one step older.
    xySum -= ySum;
    x2Sum += iSum - 2 * xSum;
    xSum -= iSum;
    const leaving = ring[head];
    if (leaving === leaving) {
      iSum -= 1;
      ySum -= leaving;
      y2Sum -= leaving * leaving;
    } else naCount -= 1;
    ring[head] = val;
    head = head + 1 === w ? 0 : head + 1;
    if (val !== val) naCount += 1;
    else {
      iSum += 1;
      xSum += w;
      x2Sum += w * w;
      ySum += val;
      y2Sum += val * val;
      xySum += w * val;
    }
    const cnt = w - naCount;
    if (cnt < 2) {
      // 0/0 in exact arithmetic; the running sums can leave a rounding residue that would give ±inf.
      out[t] = NaN;
      continue;
    }
    const num = cnt * xySum - xSum * ySum;
    const den = cnt * x2Sum - xSum * xSum;
    if (stat === 'slope') out[t] = num / den;
    else if (stat === 'rsquare') {
      const r = num / Math.sqrt(den * (cnt * y2Sum - ySum * ySum));
      out[t] = r * r;
    } else {
      const slope = num / den;
      const xMean = xSum / cnt;
      const yMean = ySum / cnt;
      const interp = yMean - slope * xMean;
      out[t] = val - (slope * w + interp);
    }
  }
  return out;
}

export function rollingSlope(x: Float64Array, N: number): Float64Array {
  return rollingRegression(x, N, 'slope');
}

/** r² of the fit, before qlib's constant-window mask (applied by the evaluator). */
export function rollingRsquare(x: Float64Array, N: number): Float64Array {
  return rollingRegression(x, N, 'rsquare');
}

export function rollingResi(x: Float64Array, N: number): Float64Array {
  return rollingRegression(x, N, 'resi');
}
