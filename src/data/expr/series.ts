/**
 * A node's value for one instrument: values for calendar rows `lo .. lo+values.length-1`, the
 * rows that exist in qlib's pandas Series (data rows inside the loaded window). Rows outside do not
 * exist: rolling windows never reach them and the final output is NaN there.
 *
 * `dtype` mirrors numpy's: `f32` for raw fields and arithmetic between them, `f64` after any
 * rolling operator, `bool` for comparisons. It decides where float32 rounding applies.
 */
import { f64Scratch } from './arena.ts';
export type DType = 'f32' | 'f64' | 'bool';

export interface Series {
  lo: number;
  values: Float64Array;
  dtype: DType;
}

export type Operand = Series | number;

export const isSeries = (o: Operand): o is Series => typeof o !== 'number';

export function hiOf(s: Series): number {
  return s.lo + s.values.length - 1;
}

/** Values of `s` on rows `lo..hi`, NaN where `s` has no row; shares memory when already aligned. */
export function alignTo(s: Series, lo: number, hi: number): Float64Array {
  const len = hi - lo + 1;
  if (s.lo === lo && s.values.length === len) return s.values;
  const out = f64Scratch(Math.max(0, len)).fill(NaN);
  const from = Math.max(lo, s.lo);
  const to = Math.min(hi, hiOf(s));
  if (to >= from) out.set(s.values.subarray(from - s.lo, to - s.lo + 1), from - lo);
  return out;
}

/**
 * pandas aligns two Series on the union of their indexes. Empty Series add no rows. The hull is
 * used when the two do not overlap (only possible with Mask/ChangeInstrument), where pandas'
 * union would skip the gap.
 */
export function unionRange(parts: Series[]): { lo: number; hi: number } | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of parts) {
    if (s.values.length === 0) continue;
    lo = Math.min(lo, s.lo);
    hi = Math.max(hi, hiOf(s));
  }
  return lo === Infinity ? undefined : { lo, hi };
}
