/**
 * Order statistics over sliding windows. Two strategies:
 * - windows up to `SORTED_WINDOW_MAX` rows keep the window's valid values in a sorted buffer
 *   (binary search, then a memmove of at most N values): Rank and Quantile are O(log N) per row
 *   plus the move, which for Alpha158's N ≤ 60 is several times faster than a tree;
 * - longer and expanding windows (`N = 0`) rank every valid value among the series' distinct
 *   values once (a sort) and keep the window's counts (and sums, for Mad) in a Fenwick tree over
 *   those ranks: O(log n) per row, so O(n log n) overall whatever the window.
 */
import { f64, i32, onArenaRelease, f64Scratch, i32Scratch } from '../arena.ts';

class Fenwick {
  readonly cnt: Int32Array;
  readonly sum: Float64Array | undefined;
  private readonly top: number;
  constructor(
    readonly size: number,
    withSums: boolean,
  ) {
    this.cnt = i32(size + 1);
    this.sum = withSums ? f64(size + 1) : undefined;
    let top = 1;
    while (top * 2 <= size) top *= 2;
    this.top = top;
  }
  update(rank: number, dc: number, dv: number): void {
    for (let i = rank + 1; i <= this.size; i += i & -i) {
      this.cnt[i] += dc;
      if (this.sum) this.sum[i] += dv;
    }
  }
  /** Count of values with rank < r. */
  countBelow(r: number): number {
    let c = 0;
    for (let i = r; i > 0; i -= i & -i) c += this.cnt[i];
    return c;
  }
  sumBelow(r: number): number {
    let s = 0;
    const sum = this.sum!;
    for (let i = r; i > 0; i -= i & -i) s += sum[i];
    return s;
  }
  /** Rank of the k-th smallest value in the tree (k 0-based). */
  kth(k: number): number {
    let pos = 0;
    let rem = k;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.size && this.cnt[next] <= rem) {
        pos = next;
        rem -= this.cnt[next];
      }
    }
    return pos; // 0-based rank
  }
}

interface Ranked {
  /** Distinct valid values, ascending. */
  distinct: Float64Array;
  /** Rank of x[i] in `distinct`, or -1 for NaN. */
  rankOf: Int32Array;
}

function rankValues(x: Float64Array): Ranked {
  let m = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === x[i]) m++;
  const sorted = f64(m);
  m = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === x[i]) sorted[m++] = x[i];
  sorted.sort();
  let d = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[d++] = sorted[i];
  const distinct = sorted.subarray(0, d);
  const rankOf = i32(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v !== v) {
      rankOf[i] = -1;
      continue;
    }
    let lo = 0;
    let hi = d - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (distinct[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    rankOf[i] = lo;
  }
  return { distinct, rankOf };
}

/** Drives a Fenwick tree through the windows, calling `emit(t, tree, nValid)` for every row. */
function slide(
  x: Float64Array,
  N: number,
  withSums: boolean,
  emit: (t: number, tree: Fenwick, nValid: number, ranked: Ranked) => number,
): Float64Array {
  const n = x.length;
  const w = N === 0 ? n : N;
  const ranked = rankValues(x);
  const tree = new Fenwick(Math.max(1, ranked.distinct.length), withSums);
  const out = f64(n);
  let valid = 0;
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0 && ranked.rankOf[old] >= 0) {
      tree.update(ranked.rankOf[old], -1, -x[old]);
      valid--;
    }
    if (ranked.rankOf[t] >= 0) {
      tree.update(ranked.rankOf[t], 1, x[t]);
      valid++;
    }
    out[t] = valid === 0 ? NaN : emit(t, tree, valid, ranked);
  }
  return out;
}

/**
 * pandas `rolling.rank(pct=True)` (method "average", ascending): the average rank of x_t among the
 * window's valid values divided by their count. NaN when x_t is NaN.
 */
function fenwickRank(x: Float64Array, N: number): Float64Array {
  return slide(x, N, false, (t, tree, nValid, { rankOf }) => {
    const r = rankOf[t];
    if (r < 0) return NaN;
    const below = tree.countBelow(r);
    const equal = tree.countBelow(r + 1) - below;
    return (below + (equal + 1) / 2) / nValid;
  });
}

/** pandas `rolling.quantile(q)` with linear interpolation over the window's valid values. */
function fenwickQuantile(x: Float64Array, N: number, q: number): Float64Array {
  return slide(x, N, false, (_t, tree, nValid, { distinct }) => {
    if (nValid === 1) return distinct[tree.kth(0)];
    const h = q * (nValid - 1);
    const lo = Math.floor(h);
    const vlo = distinct[tree.kth(lo)];
    if (h === lo) return vlo;
    const vhi = distinct[tree.kth(lo + 1)];
    return vlo + (vhi - vlo) * (h - lo);
  });
}

/** pandas `rolling.median()`: the middle value, or the mean of the two middle values. */
function fenwickMedian(x: Float64Array, N: number): Float64Array {
  return slide(x, N, false, (_t, tree, nValid, { distinct }) => {
    const mid = nValid >> 1;
    if (nValid % 2 === 1) return distinct[tree.kth(mid)];
    return (distinct[tree.kth(mid - 1)] + distinct[tree.kth(mid)]) / 2;
  });
}

/** qlib's `Mad`: mean absolute deviation from the window mean, `mean(|v - mean(v)|)` over valid v. */
function fenwickMad(x: Float64Array, N: number): Float64Array {
  // Shift by a reference value so the Fenwick sums stay small and cancel less.
  let ref = NaN;
  for (let i = 0; i < x.length; i++) if (x[i] === x[i]) { ref = x[i]; break; }
  const xs = Number.isNaN(ref) ? x : x.map((v) => v - ref);
  return slide(xs, N, true, (_t, tree, nValid, { distinct }) => {
    const total = tree.sumBelow(tree.size);
    const m = total / nValid;
    // Number of distinct values <= m.
    let lo = 0;
    let hi = distinct.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (distinct[mid] <= m) lo = mid + 1;
      else hi = mid;
    }
    const cLe = tree.countBelow(lo);
    const sLe = tree.sumBelow(lo);
    const dev = m * cLe - sLe + (total - sLe) - m * (nValid - cLe);
    return Math.max(0, dev / nValid);
  });
}

/** Windows up to this many rows use the sorted-buffer strategy. */
export const SORTED_WINDOW_MAX = 128;

const enum Stat {
  Rank,
  Quantile,
  Median,
  Mad,
}

function lowerBound(buf: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buf[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(buf: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buf[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Every row's window, sorted: row t's valid values are `rows[t*w .. t*w + len[t])`, ascending. */
interface SortedWindows {
  w: number;
  rows: Float64Array;
  len: Int32Array;
}

/**
 * Rank, Quantile and Med of the same series and window (Alpha158 asks for Rank($close,N) and two
 * quantiles of it) share one pass of sorted-buffer maintenance, memoised by array identity
 * (evaluated series are never mutated).
 */
let sortedMemo = new WeakMap<Float64Array, Map<number, SortedWindows>>();
onArenaRelease(() => {
  sortedMemo = new WeakMap();
});

function sortedWindows(x: Float64Array, w: number): SortedWindows {
  let perW = sortedMemo.get(x);
  if (!perW) sortedMemo.set(x, (perW = new Map()));
  const hit = perW.get(w);
  if (hit) return hit;
  const n = x.length;
  const rows = f64Scratch(n * w);
  const lens = i32Scratch(n);
  const buf = f64Scratch(w + 1);
  let len = 0;
  for (let t = 0; t < n; t++) {
    const old = t - w;
    if (old >= 0) {
      const v = x[old];
      if (v === v) {
        const at = lowerBound(buf, len, v);
        for (let i = at + 1; i < len; i++) buf[i - 1] = buf[i];
        len--;
      }
    }
    const v = x[t];
    if (v === v) {
      const at = upperBound(buf, len, v);
      for (let i = len; i > at; i--) buf[i] = buf[i - 1];
      buf[at] = v;
      len++;
    }
    const base = t * w;
    for (let i = 0; i < len; i++) rows[base + i] = buf[i];
    lens[t] = len;
  }
  const result = { w, rows, len: lens };
  perW.set(w, result);
  return result;
}

function sortedWindow(x: Float64Array, w: number, stat: Stat, q: number): Float64Array {
  const n = x.length;
  const out = f64Scratch(n);
  const { rows, len: lens } = sortedWindows(x, w);
  for (let t = 0; t < n; t++) {
    const len = lens[t];
    if (len === 0) {
      out[t] = NaN;
      continue;
    }
    const base = t * w;
    switch (stat) {
      case Stat.Rank: {
        const v = x[t];
        if (v !== v) {
          out[t] = NaN;
          break;
        }
        let lo = base;
        let hi = base + len;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (rows[mid] < v) lo = mid + 1;
          else hi = mid;
        }
        const below = lo - base;
        let eq = lo;
        while (eq < base + len && rows[eq] === v) eq++;
        out[t] = (below + (eq - lo + 1) / 2) / len;
        break;
      }
      case Stat.Quantile: {
        if (len === 1) {
          out[t] = rows[base];
          break;
        }
        const h = q * (len - 1);
        const lo = Math.floor(h);
        const a = rows[base + lo];
        out[t] = h === lo ? a : a + (rows[base + lo + 1] - a) * (h - lo);
        break;
      }
      case Stat.Median: {
        const mid = len >> 1;
        out[t] = len % 2 === 1 ? rows[base + mid] : (rows[base + mid - 1] + rows[base + mid]) / 2;
        break;
      }
      case Stat.Mad: {
        let sum = 0;
        for (let i = 0; i < len; i++) sum += rows[base + i];
        const m = sum / len;
        let dev = 0;
        for (let i = 0; i < len; i++) dev += Math.abs(rows[base + i] - m);
        out[t] = dev / len;
        break;
      }
    }
  }
  return out;
}

const useSorted = (N: number): boolean => N > 0 && N <= SORTED_WINDOW_MAX;

/**
 * pandas `rolling.rank(pct=True)` (method "average", ascending): the average rank of x_t among the
 * window's valid values divided by their count. NaN when x_t is NaN.
 */
export function rollingRank(x: Float64Array, N: number): Float64Array {
  return useSorted(N) ? sortedWindow(x, N, Stat.Rank, 0) : fenwickRank(x, N);
}

/** pandas `rolling.quantile(q)` with linear interpolation over the window's valid values. */
export function rollingQuantile(x: Float64Array, N: number, q: number): Float64Array {
  return useSorted(N) ? sortedWindow(x, N, Stat.Quantile, q) : fenwickQuantile(x, N, q);
}

/** pandas `rolling.median()`: the middle value, or the mean of the two middle values. */
export function rollingMedian(x: Float64Array, N: number): Float64Array {
  return useSorted(N) ? sortedWindow(x, N, Stat.Median, 0.5) : fenwickMedian(x, N);
}

/** qlib's `Mad`: mean absolute deviation from the window mean, `mean(|v - mean(v)|)` over valid v. */
export function rollingMad(x: Float64Array, N: number): Float64Array {
  return useSorted(N) ? sortedWindow(x, N, Stat.Mad, 0) : fenwickMad(x, N);
}

/** The tree-based versions, exported so tests can check both strategies against each other. */
export const fenwickKernels = { rank: fenwickRank, quantile: fenwickQuantile, median: fenwickMedian, mad: fenwickMad };
