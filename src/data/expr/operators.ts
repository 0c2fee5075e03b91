/**
 * The operator registry: qlib's `OpsList` with each operator's argument kinds, so the parser can
 * reject bad calls with a column before anything is evaluated.
 */

/**
 * - `series`: an expression that yields a series (a literal is rejected, as qlib calls `.load` on it)
 * - `operand`: an expression or a number (numpy broadcasts scalars)
 * - `window`: an int literal ≥ 0 (0 = expanding window)
 * - `shift`: an int literal of any sign (`Ref`)
 * - `span`: an int literal ≥ 0, or a float literal in (0, 1) (`EMA`: span, or alpha)
 * - `quantile`: a number literal in [0, 1]
 * - `number`: a number literal
 * - `string`: a quoted string literal
 */
export type ArgKind = 'series' | 'operand' | 'window' | 'shift' | 'span' | 'quantile' | 'number' | 'string';

/** How an operator extends the loaded window and how it is evaluated. */
export type OpFamily =
  | 'elem' // one series in, one out, row by row
  | 'pair' // numpy binary ufunc on two operands
  | 'if'
  | 'ref'
  | 'delta'
  | 'rolling' // one series, window N
  | 'pairRolling' // two series, window N
  | 'mask' // Mask(x, 'INST')
  | 'changeInstrument' // ChangeInstrument('INST', x)
  | 'feature'; // Feature('close')

export interface OperatorSpec {
  name: string;
  args: readonly ArgKind[];
  family: OpFamily;
  /** Smallest allowed window other than 0 (Skew 3, Kurt 4). Default 1. */
  minWindow?: number;
}

const spec = (name: string, family: OpFamily, args: readonly ArgKind[], minWindow?: number): OperatorSpec =>
  minWindow === undefined ? { name, family, args } : { name, family, args, minWindow };

const rollingNames = [
  'Mean', 'Sum', 'Std', 'Var', 'Max', 'Min', 'Med', 'Mad', 'Count', 'Rank',
  'IdxMax', 'IdxMin', 'WMA', 'Slope', 'Rsquare', 'Resi',
] as const;

export const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map(
  [
    ...['Abs', 'Sign', 'Log', 'Not'].map((n) => spec(n, 'elem', ['series'])),
    ...['Add', 'Sub', 'Mul', 'Div', 'Power', 'Greater', 'Less', 'Gt', 'Ge', 'Lt', 'Le', 'Eq', 'Ne', 'And', 'Or'].map(
      (n) => spec(n, 'pair', ['operand', 'operand']),
    ),
    spec('If', 'if', ['series', 'operand', 'operand']),
    spec('Ref', 'ref', ['series', 'shift']),
    spec('Delta', 'delta', ['series', 'window']),
    ...rollingNames.map((n) => spec(n, 'rolling', ['series', 'window'])),
    spec('Skew', 'rolling', ['series', 'window'], 3),
    spec('Kurt', 'rolling', ['series', 'window'], 4),
    spec('EMA', 'rolling', ['series', 'span']),
    spec('Quantile', 'rolling', ['series', 'window', 'quantile']),
    spec('Corr', 'pairRolling', ['series', 'series', 'window']),
    spec('Cov', 'pairRolling', ['series', 'series', 'window']),
    spec('Mask', 'mask', ['series', 'string']),
    spec('ChangeInstrument', 'changeInstrument', ['string', 'series']),
    spec('Feature', 'feature', ['string']),
  ].map((s) => [s.name, s]),
);

/** qlib operators this engine knows by name but does not implement. */
export const UNSUPPORTED_OPERATORS: ReadonlyMap<string, string> = new Map([
  ['TResample', 'resampling to another frequency is not supported; only daily data is'],
  ['PFeature', 'point-in-time (PIT) financial data is not supported'],
  ['P', 'point-in-time (PIT) financial data is not supported'],
  ['PRef', 'point-in-time (PIT) financial data is not supported'],
]);

/**
 * `Rolling(x, N, "func")` is rewritten to the operator for `func` (pandas' rolling method name).
 * Methods without a dedicated qlib operator are not offered.
 */
export const ROLLING_FUNCS: ReadonlyMap<string, string> = new Map([
  ['mean', 'Mean'],
  ['sum', 'Sum'],
  ['std', 'Std'],
  ['var', 'Var'],
  ['skew', 'Skew'],
  ['kurt', 'Kurt'],
  ['max', 'Max'],
  ['min', 'Min'],
  ['median', 'Med'],
  ['count', 'Count'],
]);
