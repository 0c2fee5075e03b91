/** Weighted averages: qlib's `WMA` and `EMA`. */
import { f64 } from '../arena.ts';

/**
 * qlib's `WMA(x, N)`: weights `w_i = i / Σk` for i = 1..L (L the window length, newest largest).
 * With `divideByCount` (qlib's behaviour) the result is `nanmean(w·x) = Σ w_i x_i / n_valid`,
 * a weighted average divided again by the valid count; without it, the weighted average over the
 * valid values `Σ w_i x_i / Σ_valid w_i`. O(n) via running Σx and Σ(row·x).
 */
export function rollingWma(x: Float64Array, N: number, divideByCount: boolean): Float64Array {
  const n = x.length;
  const w = N === 0 ? n : N;
  const out = f64(n);
  let sx = 0; // Σ x_j over valid j in window
  let sjx = 0; // Σ j·x_j, j = row index + 1
  let sj = 0; // Σ j over valid j
  let valid = 0;
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0) {
      const v = x[old];
      if (v === v) {
        sx -= v;
        sjx -= (old + 1) * v;
        sj -= old + 1;
        valid--;
      }
    }
    const v = x[t];
    if (v === v) {
      sx += v;
      sjx += (t + 1) * v;
      sj += t + 1;
      valid++;
    }
    if (valid === 0) {
      out[t] = NaN;
      continue;
    }
    const L = Math.min(w, t + 1);
    const base = t + 1 - L; // row j has weight index i = j - base
    const weighted = sjx - base * sx; // Σ i·x_i
    if (divideByCount) out[t] = weighted / ((L * (L + 1)) / 2) / valid;
    else out[t] = weighted / (sj - base * valid);
  }
  return out;
}

/**
 * pandas `ewm(alpha, adjust=True, ignore_na=False, min_periods=1).mean()`: NaN rows age the
 * weights once an observation has been seen, and leave the output at its previous value.
 */
export function ewmMean(x: Float64Array, alpha: number): Float64Array {
  const n = x.length;
  const out = f64(n);
  if (n === 0) return out;
  const oldWtFactor = 1 - alpha;
  const newWt = 1;
  let avg = x[0];
  let nobs = avg === avg ? 1 : 0;
  out[0] = nobs >= 1 ? avg : NaN;
  let oldWt = 1;
  for (let i = 1; i < n; i++) {
    const cur = x[i];
    const isObs = cur === cur;
    if (isObs) nobs++;
    if (avg === avg) {
      oldWt *= oldWtFactor;
      if (isObs) {
        if (avg !== cur) avg = (oldWt * avg + newWt * cur) / (oldWt + newWt);
        oldWt += newWt;
      }
    } else if (isObs) avg = cur;
    out[i] = nobs >= 1 ? avg : NaN;
  }
  return out;
}

/**
 * qlib's `EMA(x, 0)`: an expanding apply where the window of length L gets weights
 * `a^(L-1-k)`, `a = 1 - 2/(1+L)`, normalised over all L rows (NaN rows included), then
 * `nansum(w·x)`. The weights change with L, so this is O(n²); it is rarely used.
 */
export function expandingEma(x: Float64Array): Float64Array {
  const n = x.length;
  const out = f64(n);
  let seen = false;
  for (let t = 0; t < n; t++) {
    if (x[t] === x[t]) seen = true;
    if (!seen) {
      out[t] = NaN;
      continue;
    }
    const L = t + 1;
    const a = 1 - 2 / (1 + L);
    let wsum = 0;
    let acc = 0;
    let p = 1; // a^(L-1-k), walking k from newest to oldest
    for (let k = t; k >= 0; k--) {
      wsum += p;
      if (x[k] === x[k]) acc += p * x[k];
      p *= a;
    }
    out[t] = acc / wsum;
  }
  return out;
}
