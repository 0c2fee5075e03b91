/** NaN-skipping statistics with numpy/pandas semantics (nanmedian, nanstd, pct rank). */

/** In-place quickselect: after it, `a[k]` is the k-th smallest of `a[lo..hi]`. */
function select(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median-of-three pivot keeps sorted and constant inputs linear
    const x = a[lo] as number, y = a[mid] as number, z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * Median of the first `n` values of `buf` (no NaN among them), reordering `buf`. Even count: mean of
 * the two middle values, as numpy.
 */
export function medianInPlace(buf: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const k = n >>> 1;
  select(buf, k, 0, n - 1);
  const upper = buf[k] as number;
  if (n % 2 === 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < k; i++) if ((buf[i] as number) > lower) lower = buf[i] as number;
  return (lower + upper) / 2;
}

/** `np.nanmedian` of `values[from..to)`; `scratch` must hold `to - from` numbers. */
export function nanMedian(values: Float64Array, from = 0, to = values.length, scratch: Float64Array = new Float64Array(to - from)): number {
  let n = 0;
  for (let r = from; r < to; r++) {
    const x = values[r] as number;
    if (!Number.isNaN(x)) scratch[n++] = x;
  }
  return medianInPlace(scratch, n);
}

/** NaN-skipping mean and standard deviation (two-pass) of `values[from..to)`. NaN when too few values. */
export function nanMeanStd(values: Float64Array, from: number, to: number, ddof: number): { mean: number; std: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let r = from; r < to; r++) {
    const x = values[r] as number;
    if (!Number.isNaN(x)) {
      sum += x;
      count++;
    }
  }
  if (count === 0) return { mean: NaN, std: NaN, count };
  const mean = sum / count;
  if (count - ddof <= 0) return { mean, std: NaN, count };
  let ss = 0;
  for (let r = from; r < to; r++) {
    const x = values[r] as number;
    if (!Number.isNaN(x)) ss += (x - mean) * (x - mean);
  }
  return { mean, std: Math.sqrt(ss / (count - ddof)), count };
}

/**
 * pandas `rank(pct=True)` (method average, NaN kept as NaN, denominator = number of non-NaN values)
 * of `values[from..to)`, written into `out[from..to)`.
 */
export function pctRankInto(values: Float64Array, from: number, to: number, out: Float64Array): void {
  const idx: number[] = [];
  for (let r = from; r < to; r++) {
    if (Number.isNaN(values[r])) out[r] = NaN;
    else idx.push(r);
  }
  idx.sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
  const n = idx.length;
  let i = 0;
  while (i < n) {
    let j = i;
    const v = values[idx[i] as number] as number;
    while (j + 1 < n && values[idx[j + 1] as number] === v) j++;
    // 1-based ranks i+1 … j+1 share their average
    const rank = (i + j + 2) / 2 / n;
    for (let k = i; k <= j; k++) out[idx[k] as number] = rank;
    i = j + 1;
  }
}
