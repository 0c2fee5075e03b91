import { QtaskError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

/**
 * Records, metrics and backtest problems. Codes:
 * - `RECORD_INPUT`: a prediction/label/return series of the wrong shape (missing `score`/label
 *   column, lengths that differ, a non-finite option).
 * - `RECORD_EMPTY`: nothing to compute on (empty series, no overlapping dates, empty backtest range).
 * - `BACKTEST_CONFIG`: an unknown strategy/exchange option value (deal price, limit threshold, …).
 * - `BACKTEST_DATA`: the price source cannot serve the backtest (dates outside the calendar).
 * - `RECORD_CLASS`: a record config naming a class (or module path) qtask does not implement.
 * - `RECORD_DEPENDENCY`: a record needs an artifact an earlier record should have written.
 */
export class RecordError extends QtaskError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
  }
}
