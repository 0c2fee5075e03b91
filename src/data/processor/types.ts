import type { Panel } from '../types.ts';

/**
 * A data processor, as qlib's `qlib.data.dataset.processor.Processor`: `fit` learns statistics (only
 * the fit-window processors do anything there), `transform` returns the processed panel. `transform`
 * never writes into its input's arrays: a changed column is a new array, unchanged columns are shared.
 */
export interface Processor {
  /** qlib class name, e.g. `RobustZScoreNorm`. */
  readonly className: string;
  /**
   * Learns parameters from `panel` (the previous processor's output). Fit-window processors use only
   * rows dated in `[fitStart, fitEnd]` (inclusive; null = open); both default to the processor's own
   * `fit_start_time` / `fit_end_time`.
   */
  fit(panel: Panel, fitStart?: string | null, fitEnd?: string | null): void;
  transform(panel: Panel): Panel;
  /** False for processors that drop rows by label (DropnaLabel): only allowed among learn processors. */
  isForInfer(): boolean;
  /** The kwargs, qlib-shaped, for display and serialisation. */
  toConfig(): { class: string; kwargs: Record<string, unknown> };
}
