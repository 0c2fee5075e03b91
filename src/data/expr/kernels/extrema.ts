/**
 * Sliding max/min and their 1-based positions with monotone deques, O(n) for any window. Windows
 * follow `rolling(N, min_periods=1)`: the last `min(N, t+1)` rows, NaN rows skipped, NaN output
 * when the window has no valid value. `N = 0` means expanding.
 */
import { f64Scratch, i32Scratch } from '../arena.ts';

function extreme(x: Float64Array, N: number, wantMax: boolean, positions: boolean, nanWins: boolean): Float64Array {
  const n = x.length;
  const w = N === 0 ? n : N;
  const out = f64Scratch(n);
  // Deque of row indices holding valid values, monotone so the front is the window's extreme; an
  // equal later value does not evict an earlier one, so the front is the first occurrence (numpy argmax).
  const dq = i32Scratch(n);
  let head = 0;
  let tail = 0;
  // Rows holding NaN, in order; qlib's `argmax` on a raw window returns the first NaN's position.
  const nans = i32Scratch(n);
  let nanHead = 0;
  let nanTail = 0;
  let valid = 0;
  for (let t = 0; t < n; t++) {
    const start = t - w + 1;
    if (start - 1 >= 0 && x[start - 1] === x[start - 1]) valid--;
    while (head < tail && dq[head] < start) head++;
    while (nanHead < nanTail && nans[nanHead] < start) nanHead++;
    const v = x[t];
    if (v === v) {
      valid++;
      if (wantMax) while (head < tail && x[dq[tail - 1]] < v) tail--;
      else while (head < tail && x[dq[tail - 1]] > v) tail--;
      dq[tail++] = t;
    } else {
      nans[nanTail++] = t;
    }
    if (valid === 0) {
      out[t] = NaN;
      continue;
    }
    const s = start < 0 ? 0 : start;
    if (!positions) out[t] = x[dq[head]];
    else if (nanWins && nanHead < nanTail) out[t] = nans[nanHead] - s + 1;
    else out[t] = dq[head] - s + 1;
  }
  return out;
}

export function rollingMax(x: Float64Array, N: number): Float64Array {
  return extreme(x, N, true, false, false);
}

export function rollingMin(x: Float64Array, N: number): Float64Array {
  return extreme(x, N, false, false, false);
}

/**
 * 1-based position of the window's maximum, counted from the oldest row of the (possibly partial)
 * window. With `nanWins` (qlib's behaviour, numpy `argmax` on a window holding NaN) a NaN anywhere
 * in the window makes the result the first NaN's position; without it NaN rows are ignored.
 */
export function rollingIdxMax(x: Float64Array, N: number, nanWins: boolean): Float64Array {
  return extreme(x, N, true, true, nanWins);
}

export function rollingIdxMin(x: Float64Array, N: number, nanWins: boolean): Float64Array {
  return extreme(x, N, false, true, nanWins);
}
