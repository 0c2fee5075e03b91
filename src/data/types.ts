/**
 * Contracts between the data substrate's parts: the on-disk provider (qlib's bin format), the
 * expression engine, and handlers/datasets. Positions are indices into the provider's trading
 * calendar (`calendars/day.txt`), inclusive on both ends, as in qlib.
 */

/** Raw per-instrument series by calendar index. */
export interface FieldSource {
  /** The trading calendar, `YYYY-MM-DD`, sorted. */
  calendarDays(): readonly string[];
  /**
   * Values of `field` (without `$`, e.g. `close`) for `instrument` over calendar indices
   * `[startIdx, endIdx]` (inclusive; either may lie outside the calendar or the instrument's
   * data — those positions are NaN). Length is `endIdx - startIdx + 1`.
   */
  load(instrument: string, field: string, startIdx: number, endIdx: number): Float64Array;
  /** Field names available for the instrument (e.g. `open`, `close`, `volume`, `factor`). */
  fields(instrument: string): string[];
  /**
   * Optional: first and last calendar index stored for the field (the `.bin` span), undefined when
   * there is none. qlib's series start there, which changes partial windows right after a listing;
   * without it the expression engine uses the first/last non-NaN rows.
   */
  dataRange?(instrument: string, field: string): { first: number; last: number } | undefined;
}

/** An instrument's membership span in a universe file (`instruments/<market>.txt`). */
export interface InstrumentSpan {
  instrument: string;
  start: string;
  end: string;
}

/**
 * A columnar panel: rows are (date, instrument) pairs ordered by date, then instrument (qlib's
 * `(datetime, instrument)` index); each column is one Float64Array of length `dates.length`.
 * Models read columns directly — no row objects.
 */
export interface Panel {
  /** Row dates (`YYYY-MM-DD`), one per row. */
  dates: string[];
  /** Row instruments, one per row. */
  instruments: string[];
  /** Column names, e.g. `KMID`, `ROC5`, `LABEL0`. */
  columns: string[];
  /** Column group of each column (`feature` or `label`), qlib's first column level. */
  groups: string[];
  /** Column data, `values[c][r]`. */
  values: Float64Array[];
}
