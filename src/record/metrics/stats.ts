/**
 * NaN-skipping statistics with pandas' semantics (`Series.mean()`, `Series.std(ddof=1)`, pairwise
 * `Series.corr`), shared by the IC, long-short and risk metrics.
 */

/** pandas `Series.mean()`: NaN skipped; NaN when nothing is left. */
export function nanMean(x: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

/** pandas `Series.std(ddof)`: NaN skipped, two-pass; NaN when fewer than `ddof + 1` values. */
export function nanStd(x: ArrayLike<number>, ddof = 1): number {
  const m = nanMean(x);
  let ss = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isNaN(v)) {
      ss += (v - m) * (v - m);
      n++;
    }
  }
  return n - ddof <= 0 ? NaN : Math.sqrt(ss / (n - ddof));
}

/** Pearson correlation of two equal-length samples (no NaN inside). NaN for n < 2 or a constant side. */
function pearsonDense(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  const r = sab / Math.sqrt(saa * sbb);
  // Rounding can push |r| a hair past 1; pandas clips the same way.
  return Math.max(-1, Math.min(1, r));
}

/** Keeps the positions where both samples are non-NaN (pandas' pairwise deletion in `corr`). */
export function pairwiseComplete(a: ArrayLike<number>, b: ArrayLike<number>, idx?: readonly number[]): [Float64Array, Float64Array] {
  const rows = idx ?? Array.from({ length: a.length }, (_, i) => i);
  const xa: number[] = [];
  const xb: number[] = [];
  for (const r of rows) {
    const va = a[r]!;
    const vb = b[r]!;
    if (!Number.isNaN(va) && !Number.isNaN(vb)) {
      xa.push(va);
      xb.push(vb);
    }
  }
  return [Float64Array.from(xa), Float64Array.from(xb)];
}

/** Average ranks (1-based, ties share their mean rank), scipy/pandas `rankdata(method='average')`. */
export function averageRanks(x: Float64Array): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i]! - x[j]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]!] === x[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/** pandas `a.corr(b)`: Pearson over the rows where both are non-NaN. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>, idx?: readonly number[]): number {
  const [xa, xb] = pairwiseComplete(a, b, idx);
  return pearsonDense(xa, xb);
}

/** pandas `a.corr(b, method='spearman')`: drop incomplete pairs, average-tie ranks, then Pearson. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>, idx?: readonly number[]): number {
  const [xa, xb] = pairwiseComplete(a, b, idx);
  if (xa.length < 2) return NaN;
  return pearsonDense(averageRanks(xa), averageRanks(xb));
}

/** Row indices grouped by date, dates ascending (pandas `groupby` sorts its keys). */
export function groupRowsByDate(dates: readonly string[]): { dates: string[]; rows: number[][] } {
  const map = new Map<string, number[]>();
  for (let r = 0; r < dates.length; r++) {
    const d = dates[r]!;
    let g = map.get(d);
    if (!g) map.set(d, (g = []));
    g.push(r);
  }
  const keys = [...map.keys()].sort();
  return { dates: keys, rows: keys.map((k) => map.get(k)!) };
}
