/**
 * Order statistics over sliding windows in O(n log n): every valid value gets its rank among the
 * distinct values of the whole series once (a sort), and a Fenwick tree over those ranks holds the
 * window's counts (and sums, for Mad). Rank, Quantile, Med and Mad then cost O(log n) per row for
 * any window length, including expanding (`N = 0`).
 */

class Fenwick {
  readonly cnt: Int32Array;
  readonly sum: Float64Array | undefined;
  private readonly top: number;
  constructor(
    readonly size: number,
    withSums: boolean,
  ) {
    this.cnt = new Int32Array(size + 1);
    this.sum = withSums ? new Float64Array(size + 1) : undefined;
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
  const sorted = new Float64Array(m);
  m = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === x[i]) sorted[m++] = x[i];
  sorted.sort();
  let d = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[d++] = sorted[i];
  const distinct = sorted.subarray(0, d);
  const rankOf = new Int32Array(x.length);
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
  const out = new Float64Array(n);
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
export function rollingRank(x: Float64Array, N: number): Float64Array {
  return slide(x, N, false, (t, tree, nValid, { rankOf }) => {
    const r = rankOf[t];
    if (r < 0) return NaN;
    const below = tree.countBelow(r);
    const equal = tree.countBelow(r + 1) - below;
    return (below + (equal + 1) / 2) / nValid;
  });
}

/** pandas `rolling.quantile(q)` with linear interpolation over the window's valid values. */
export function rollingQuantile(x: Float64Array, N: number, q: number): Float64Array {
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
export function rollingMedian(x: Float64Array, N: number): Float64Array {
  return slide(x, N, false, (_t, tree, nValid, { distinct }) => {
    const mid = nValid >> 1;
    if (nValid % 2 === 1) return distinct[tree.kth(mid)];
    return (distinct[tree.kth(mid - 1)] + distinct[tree.kth(mid)]) / 2;
  });
}

/** qlib's `Mad`: mean absolute deviation from the window mean, `mean(|v - mean(v)|)` over valid v. */
export function rollingMad(x: Float64Array, N: number): Float64Array {
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
