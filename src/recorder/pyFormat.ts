/**
 * Text formats MLflow's Python FileStore writes, reproduced byte for byte so files written by qtask
 * and by MLflow look the same: metric values as Python's `repr(float)`, params/tags as `str(value)`.
 */

/** Python's `repr(float(v))`: `1.0`, `0.1`, `1e-05`, `1.5e+16`, `nan`, `inf`, `-inf`. */
export function pythonFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument gives the shortest digits that round-trip, like Python's repr.
  const [mantissa, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${digits[0]}${frac}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, '0');
  const fracPart = digits.length > exp + 1 ? digits.slice(exp + 1) : '0';
  return `${sign}${intPart}.${fracPart}`;
}

/** A param or tag value as the string MLflow stores. */
export type LoggableValue = string | number | boolean | null | readonly unknown[] | { readonly [k: string]: unknown };

/**
 * Python's `str(value)` for the scalars qlib logs (so a param logged from a YAML config reads the same
 * as qlib's: `True`, `None`, `0.05`, `20`); arrays and objects become JSON (Python would print its
 * own repr, which nothing can parse back).
 */
export function pythonStr(value: LoggableValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloatRepr(value);
  return JSON.stringify(value);
}
