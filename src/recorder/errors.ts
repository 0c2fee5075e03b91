import { QtaskError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

/**
 * Experiment-recorder problems. Codes:
 * - `RUN_CORRUPT`: a run directory whose meta.yaml is missing, unreadable or inconsistent.
 * - `RUN_NOT_FOUND`, `RUN_NAME_AMBIGUOUS` (a name shared by several runs; the message lists the ids).
 * - `EXPERIMENT_NOT_FOUND`, `EXPERIMENT_EXISTS`, `EXPERIMENT_CORRUPT`, `EXPERIMENT_DELETED`, `EXPERIMENT_DEFAULT`.
 * - `RECORDER_KEY` (a param/metric/tag/artifact name MLflow would reject), `PARAM_CHANGED`, `METRIC_VALUE`.
 * - `ARTIFACT_NOT_FOUND`, `ARTIFACT_TYPE` (a value with no portable encoding), `ARTIFACT_PICKLE`, `ARTIFACT_CORRUPT`.
 * - `MLRUNS_URI` (not a local path or `file:` URI), `MLRUNS_LOCK` (the experiment-creation lock stayed taken).
 * - `NO_ACTIVE_RECORDER` (an `R.*` logging call outside `R.start`).
 */
export class RecorderError extends QtaskError {
  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
  }
}
