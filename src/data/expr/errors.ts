import { QtaskError } from '../../errors.ts';

/**
 * Codes:
 * - `EXPR_PARSE`: the text is not a valid expression (unexpected token, unclosed parenthesis, …)
 * - `EXPR_UNKNOWN_OPERATOR`: `Name(` names no registered operator
 * - `EXPR_ARITY`: an operator got too few or too many arguments
 * - `EXPR_ARG`: an argument has the wrong type or value (window not a non-negative integer, q outside [0,1], …)
 * - `EXPR_FIELD`: a `$field` the data source does not have
 * - `EXPR_CHAINED_COMPARISON`: `a < b < c`, which qlib silently turns into `b < c`
 * - `EXPR_UNSUPPORTED`: syntax or operators qlib has but this engine does not implement (`$$pit`, `TResample`, …)
 * - `EXPR_NOT_SERIES`: the whole expression is a constant, so there is no series to evaluate
 */
export type ExpressionErrorCode =
  | 'EXPR_PARSE'
  | 'EXPR_UNKNOWN_OPERATOR'
  | 'EXPR_ARITY'
  | 'EXPR_ARG'
  | 'EXPR_FIELD'
  | 'EXPR_CHAINED_COMPARISON'
  | 'EXPR_UNSUPPORTED'
  | 'EXPR_NOT_SERIES';

/**
 * A problem with an expression, located at a 1-based `column` of `expression`. The message ends
 * with the expression and a caret line under the offending token, so it reads well in a terminal.
 */
export class ExpressionError extends QtaskError {
  readonly column: number;
  readonly expression: string;
  /** The message without the caret lines. */
  readonly reason: string;

  constructor(
    code: ExpressionErrorCode,
    reason: string,
    expression: string,
    column: number,
    details: { path?: string; hint?: string } = {},
  ) {
    const caret = `${' '.repeat(Math.max(0, column - 1))}^`;
    super(code, `${reason} at column ${column}\n  ${expression}\n  ${caret}`, details);
    this.column = column;
    this.expression = expression;
    this.reason = reason;
  }

  /** The same error with `path` set (e.g. `features[3]`), for callers evaluating lists. */
  withPath(path: string): ExpressionError {
    const e = new ExpressionError(this.code as ExpressionErrorCode, this.reason, this.expression, this.column, {
      path,
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
    });
    return e;
  }
}
