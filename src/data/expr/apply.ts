/** Applies one operator to already-evaluated arguments, with numpy/pandas dtype and NaN rules. */
import { f64, onArenaRelease, f64Scratch } from './arena.ts';
import type { ExprNode } from './ast.ts';
import { rollingMax, rollingMin, rollingIdxMax, rollingIdxMin } from './kernels/extrema.ts';
import { npLogf } from './kernels/npLogf.ts';
import { rollingCount, rollingKurt, rollingMean, rollingSkew, rollingStd, rollingSum, rollingVar } from './kernels/moments.ts';
import { rollingMad, rollingMedian, rollingQuantile, rollingRank } from './kernels/order.ts';
import { rollingCorr, rollingCov } from './kernels/pair.ts';
import { rollingResi, rollingRsquare, rollingSlope } from './kernels/regression.ts';
import { ewmMean, expandingEma, rollingWma } from './kernels/weighted.ts';
import type { ResolvedOptions } from './options.ts';
import { alignTo, isSeries, unionRange, type DType, type Operand, type Series } from './series.ts';

const fround = Math.fround;

function emptyLike(): Series {
  return { lo: 0, values: f64(0), dtype: 'f64' };
}

/** numpy's result dtype for arithmetic between the given operands (scalars adopt the array's dtype). */
function arithmeticDtype(ops: Operand[]): DType {
  const kinds = ops.filter(isSeries).map((s) => s.dtype);
  if (kinds.includes('f64')) return 'f64';
  if (kinds.includes('f32')) return 'f32';
  return 'f64';
}

/**
 * One loop per operator (rather than a per-element callback) so V8 inlines the arithmetic. Scalar
 * operands are broadcast into an array first, which keeps every loop monomorphic (array, array).
 */
type PairLoop = (a: Float64Array, b: Float64Array, out: Float64Array) => void;

const PAIR_LOOPS: Record<string, PairLoop> = {
  Add: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i]; },
  Sub: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i]; },
  Mul: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]; },
  Div: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] / b[i]; },
  // numpy: 1**nan == 1 (C pow); JS gives NaN.
  Power: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] === 1 ? 1 : Math.pow(a[i], b[i]); },
  Greater: (a, b, out) => {
    for (let i = 0; i < out.length; i++) {
      const x = a[i];
      const y = b[i];
      out[i] = x !== x || y !== y ? NaN : x > y ? x : y;
    }
  },
  Less: (a, b, out) => {
    for (let i = 0; i < out.length; i++) {
      const x = a[i];
      const y = b[i];
      out[i] = x !== x || y !== y ? NaN : x < y ? x : y;
    }
  },
  Gt: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] > b[i] ? 1 : 0; },
  Ge: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] >= b[i] ? 1 : 0; },
  Lt: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] < b[i] ? 1 : 0; },
  Le: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] <= b[i] ? 1 : 0; },
  Eq: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] === b[i] ? 1 : 0; },
  Ne: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] !== b[i] ? 1 : 0; },
  And: (a, b, out) => {
    for (let i = 0; i < out.length; i++) {
      const x = a[i];
      const y = b[i];
      out[i] = x !== x || y !== y ? NaN : x !== 0 && y !== 0 ? 1 : 0;
    }
  },
  Or: (a, b, out) => {
    for (let i = 0; i < out.length; i++) {
      const x = a[i];
      const y = b[i];
      out[i] = x !== x || y !== y ? NaN : x !== 0 || y !== 0 ? 1 : 0;
    }
  },
};

/**
 * float32 arithmetic with the rounding in the same loop: numpy rounds every float32 result, and a
 * separate rounding pass over the output cost about as much as the operation itself. Each value is
 * the same `fround(op(x, y))` the two-pass version computed. Greater/Less return one of their
 * (already float32) inputs, so they need no rounding loop.
 */
const ROUNDED_PAIR_LOOPS: Record<string, PairLoop> = {
  Add: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = fround(a[i] + b[i]); },
  Sub: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = fround(a[i] - b[i]); },
  Mul: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = fround(a[i] * b[i]); },
  Div: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = fround(a[i] / b[i]); },
};

/** Operators whose float32 result is one of the (float32) inputs or NaN: rounding again changes nothing. */
const SELECTING_OPS = new Set(['Greater', 'Less']);

const BOOL_RESULT = new Set(['Gt', 'Ge', 'Lt', 'Le', 'Eq', 'Ne', 'And', 'Or']);

export function applyPair(op: string, a: Operand, b: Operand): Series {
  const series = [a, b].filter(isSeries);
  const range = unionRange(series);
  if (!range) return emptyLike();
  const { lo, hi } = range;
  const n = hi - lo + 1;
  const dtype: DType = BOOL_RESULT.has(op) ? 'bool' : arithmeticDtype([a, b]);
  const round = dtype === 'f32';
  const out = f64Scratch(n);
  const av = isSeries(a) ? alignTo(a, lo, hi) : f64Scratch(n).fill(round ? fround(a) : a);
  const bv = isSeries(b) ? alignTo(b, lo, hi) : f64Scratch(n).fill(round ? fround(b) : b);
  const fused = round ? ROUNDED_PAIR_LOOPS[op] : undefined;
  if (fused) fused(av, bv, out);
  else {
    PAIR_LOOPS[op](av, bv, out);
    if (round && !SELECTING_OPS.has(op)) for (let i = 0; i < n; i++) out[i] = fround(out[i]);
  }
  return { lo, values: out, dtype };
}

export function applyElem(op: string, x: Series, opts: ResolvedOptions): Series {
  const v = x.values;
  const n = v.length;
  const out = f64Scratch(n);
  switch (op) {
    case 'Abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(v[i]);
      return { lo: x.lo, values: out, dtype: x.dtype };
    case 'Sign':
      // qlib casts to float32 first, so bool input works and the result is float32.
      for (let i = 0; i < n; i++) out[i] = v[i] !== v[i] ? NaN : Math.sign(v[i]) + 0;
      return { lo: x.lo, values: out, dtype: opts.float32 ? 'f32' : 'f64' };
    case 'Log': {
      // float32 input goes through numpy's own float32 log algorithm, so results match bit for bit.
      if (x.dtype === 'f32') for (let i = 0; i < n; i++) out[i] = npLogf(v[i]);
      else for (let i = 0; i < n; i++) out[i] = Math.log(v[i]);
      return { lo: x.lo, values: out, dtype: x.dtype === 'f32' ? 'f32' : 'f64' };
    }
    case 'Not':
      for (let i = 0; i < n; i++) out[i] = v[i] !== v[i] ? NaN : v[i] === 0 ? 1 : 0;
      return { lo: x.lo, values: out, dtype: 'bool' };
    default:
      throw new Error(`internal: unknown element-wise operator ${op}`);
  }
}

export function applyIf(cond: Series, a: Operand, b: Operand, opts: ResolvedOptions): Series {
  const range = unionRange([cond, ...[a, b].filter(isSeries)]);
  if (!range) return emptyLike();
  const { lo, hi } = range;
  const n = hi - lo + 1;
  const c = alignTo(cond, lo, hi);
  const av = isSeries(a) ? alignTo(a, lo, hi) : undefined;
  const bv = isSeries(b) ? alignTo(b, lo, hi) : undefined;
  const dtype = arithmeticDtype([a, b]);
  const round = dtype === 'f32';
  const as = typeof a === 'number' ? (round ? fround(a) : a) : 0;
  const bs = typeof b === 'number' ? (round ? fround(b) : b) : 0;
  const out = f64Scratch(n);
  for (let i = 0; i < n; i++) {
    const ci = c[i];
    if (ci !== ci && !opts.ifNanIsTrue) out[i] = NaN;
    else if (ci !== 0) out[i] = av ? av[i] : as;
    else out[i] = bv ? bv[i] : bs;
  }
  return { lo, values: out, dtype };
}

export function applyRef(x: Series, N: number): Series {
  const v = x.values;
  const n = v.length;
  const out = f64Scratch(n);
  if (N === 0) out.fill(n > 0 ? v[0] : NaN);
  else if (N >= n || -N >= n) out.fill(NaN);
  else if (N > 0) {
    // A plain shift: native fill + copy instead of a branch per row.
    out.fill(NaN, 0, N);
    out.set(v.subarray(0, n - N), N);
  } else {
    out.set(v.subarray(-N, n), 0);
    out.fill(NaN, n + N, n);
  }
  // A shifted bool Series becomes object/float in pandas; treat it as float from here on.
  return { lo: x.lo, values: out, dtype: x.dtype === 'bool' ? 'f64' : x.dtype };
}

export function applyDelta(x: Series, N: number): Series {
  const v = x.values;
  const n = v.length;
  const out = f64Scratch(n);
  const round = x.dtype === 'f32';
  for (let t = 0; t < n; t++) {
    const prev = N === 0 ? v[0] : t - N >= 0 ? v[t - N] : NaN;
    out[t] = round ? fround(v[t] - prev) : v[t] - prev;
  }
  return { lo: x.lo, values: out, dtype: x.dtype === 'bool' ? 'f64' : x.dtype };
}

/**
 * Rolling std per (input array, N), shared between `Std` nodes and the Rsquare/Corr masks (Alpha158
 * asks for std($close, N) three times per N). Keyed by array identity: evaluated series are never
 * mutated after they are computed. Callers must not mutate the result.
 */
let stdMemo = new WeakMap<Float64Array, Map<number, Float64Array>>();
onArenaRelease(() => {
  stdMemo = new WeakMap();
});

function sharedStd(x: Float64Array, N: number): Float64Array {
  let perN = stdMemo.get(x);
  if (!perN) stdMemo.set(x, (perN = new Map()));
  let std = perN.get(N);
  if (!std) perN.set(N, (std = rollingStd(x, N)));
  return std;
}

/** Rows where `|rolling std| <= 2e-5` (`np.isclose(std, 0, atol=2e-05)`); qlib forces those to NaN. */
function maskFlatWindows(out: Float64Array, x: Float64Array, N: number): void {
  const std = sharedStd(x, N);
  for (let i = 0; i < out.length; i++) if (Math.abs(std[i]) <= 2e-5) out[i] = NaN;
}

/**
 * pandas' window functions (`rolling`, `expanding`, `ewm`, including `.apply`) first replace ±inf
 * with NaN (`BaseWindow._prep_values`); `count` counts them as valid, and qlib's own Cython
 * kernels (Slope, Rsquare, Resi) get the raw values.
 */
function infToNaN(v: Float64Array): Float64Array {
  let i = 0;
  while (i < v.length && (v[i] - v[i] === 0 || v[i] !== v[i])) i++;
  if (i === v.length) return v;
  const out = f64Scratch(v.length);
  out.set(v);
  for (; i < out.length; i++) if (out[i] === Infinity || out[i] === -Infinity) out[i] = NaN;
  return out;
}

const RAW_INPUT_OPS = new Set(['Count', 'Slope', 'Rsquare', 'Resi']);

export function applyRolling(op: string, x: Series, args: ExprNode[], opts: ResolvedOptions): Series {
  const N = (args[1] as { value: number }).value;
  const raw = x.values;
  const v = RAW_INPUT_OPS.has(op) ? raw : infToNaN(raw);
  let out: Float64Array;
  switch (op) {
    case 'Mean': out = rollingMean(v, N); break;
    case 'Sum': out = rollingSum(v, N); break;
    case 'Count': out = rollingCount(v, N); break;
    case 'Std': out = sharedStd(v, N); break;
    case 'Var': out = rollingVar(v, N); break;
    case 'Skew': out = rollingSkew(v, N); break;
    case 'Kurt': out = rollingKurt(v, N); break;
    case 'Max': out = rollingMax(v, N); break;
    case 'Min': out = rollingMin(v, N); break;
    case 'IdxMax': out = rollingIdxMax(v, N, opts.idxNanPosition); break;
    case 'IdxMin': out = rollingIdxMin(v, N, opts.idxNanPosition); break;
    case 'Med': out = rollingMedian(v, N); break;
    case 'Mad': out = rollingMad(v, N); break;
    case 'Rank': out = rollingRank(v, N); break;
    case 'Quantile': out = rollingQuantile(v, N, (args[2] as { value: number }).value); break;
    case 'WMA': out = rollingWma(v, N, opts.wmaDivideByCount); break;
    case 'EMA':
      out = N === 0 ? expandingEma(v) : N < 1 ? ewmMean(v, N) : ewmMean(v, 2 / (N + 1));
      break;
    case 'Slope': out = rollingSlope(v, N); break;
    case 'Resi': out = rollingResi(v, N); break;
    case 'Rsquare':
      out = rollingRsquare(v, N);
      // qlib masks only the fixed-window form; its expanding branch has no mask.
      if (N !== 0) maskFlatWindows(out, infToNaN(v), N);
      break;
    default:
      throw new Error(`internal: unknown rolling operator ${op}`);
  }
  return { lo: x.lo, values: out, dtype: 'f64' };
}

export function applyPairRolling(op: string, a: Series, b: Series, N: number): Series {
  const range = unionRange([a, b]);
  if (!range) return emptyLike();
  const { lo, hi } = range;
  const av = infToNaN(alignTo(a, lo, hi));
  const bv = infToNaN(alignTo(b, lo, hi));
  let out: Float64Array;
  if (op === 'Cov') out = rollingCov(av, bv, N);
  else {
    out = rollingCorr(av, bv, N);
    maskFlatWindows(out, av, N);
    maskFlatWindows(out, bv, N);
  }
  return { lo, values: out, dtype: 'f64' };
}
