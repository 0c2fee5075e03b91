import { QtaskError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

/**
 * Online-serving errors. Codes: ONLINE_CONFIG (bad options or config file), ONLINE_UNKNOWN_STRATEGY,
 * ONLINE_NOT_STARTED (routine before firstTrain), ONLINE_CALENDAR (the calendar ends before the
 * routine date, or the date is not a day), ONLINE_STATE (unreadable or foreign state file),
 * ONLINE_PRED (a prediction artifact is missing or malformed).
 */
export class OnlineError extends QtaskError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
    this.name = 'OnlineError';
  }
}
