/**
 * Evaluation options. qlib's output is the default, including its known bugs; each bug has its own
 * flag, and `qlibCompat: false` turns every fix on at once (a per-fix flag still wins).
 */
export interface ExprOptions {
  /** Reproduce qlib's output, bugs included. Default `true`. */
  qlibCompat?: boolean;
  /** `WMA` divides the weighted average by the valid count again (qlib's `nanmean(w·x)`). Default: `qlibCompat`. */
  wmaDivideByCount?: boolean;
  /** `IdxMax`/`IdxMin` return the position of the first NaN when the window holds one (numpy `argmax`). Default: `qlibCompat`. */
  idxNanPosition?: boolean;
  /** `If` treats a NaN condition as true (numpy truthiness); when false a NaN condition gives NaN. Default: `qlibCompat`. */
  ifNanIsTrue?: boolean;
  /**
   * `Delta(x, N)` extends the loaded window by only `N-1` rows (it is a `Rolling` subclass), so at
   * the first requested row `x_{t-N}` is not loaded and the result is NaN. When false the window is
   * extended by `N`. Default: `qlibCompat`.
   */
  deltaShortWindow?: boolean;
  /**
   * Emulate qlib's float32: leaves are rounded to float32, arithmetic between float32 series is
   * rounded to float32 (numpy keeps float32 × float32 in float32; rolling results are float64),
   * and every final output is rounded to float32 as qlib casts it. Default `true`.
   */
  float32?: boolean;
}

export interface ResolvedOptions {
  wmaDivideByCount: boolean;
  idxNanPosition: boolean;
  ifNanIsTrue: boolean;
  deltaShortWindow: boolean;
  float32: boolean;
}

export function resolveOptions(o: ExprOptions = {}): ResolvedOptions {
  const compat = o.qlibCompat ?? true;
  return {
    wmaDivideByCount: o.wmaDivideByCount ?? compat,
    idxNanPosition: o.idxNanPosition ?? compat,
    ifNanIsTrue: o.ifNanIsTrue ?? compat,
    deltaShortWindow: o.deltaShortWindow ?? compat,
    float32: o.float32 ?? true,
  };
}

/** Stable text of resolved options, part of every cache key. */
export function optionsKey(o: ResolvedOptions): string {
  return `${+o.wmaDivideByCount}${+o.idxNanPosition}${+o.ifNanIsTrue}${+o.deltaShortWindow}${+o.float32}`;
}
