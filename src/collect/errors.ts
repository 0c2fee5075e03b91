import { QtaskError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

/**
 * Collecting and ensembling problems. Codes:
 * - `NO_RECORDERS`: the experiment has no run that passes the status filter and `recFilterFunc`.
 * - `DUPLICATE_REC_KEY`: two recorders map to one key (the message lists their ids; qlib kept the oldest, W40).
 * - `REC_KEY`: `recKeyFunc` failed or returned something that is not a key.
 * - `COLLECT_PROCESSOR`: a `processList` entry is neither a function nor has `process`.
 * - `ENSEMBLE_EMPTY`: an ensemble was given no predictions at all.
 * - `ENSEMBLE_INPUT`: an ensemble member is not a Panel, or its columns differ from the others'.
 * - `DUPLICATE_ROW`: one prediction holds a (date, instrument) row twice.
 * - `NO_ARTIFACTS`: no selected recorder has any requested artifact.
 * - `VALIDATION`: an artifact key not in `artifactsPath`.
 * - `GROUP_FUNC`: `Group` without a `groupFunc` / `ens`.
 * - `COLLECT_OUTPUT`: an output path whose extension names no supported format (.csv, .parquet), or a result that is not Panels.
 */
export class CollectError extends QtaskError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
  }
}
