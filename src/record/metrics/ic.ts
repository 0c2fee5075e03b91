/**
 * qlib's `calc_ic` (contrib/eva/alpha.py): per date, the Pearson IC and the Spearman Rank IC of the
 * prediction against the label, with pandas' pairwise NaN deletion; and SigAnaRecord's summary.
 */
import { RecordError } from '../errors.ts';
import { groupRowsByDate, nanMean, nanStd, pearson, spearman } from './stats.ts';

export interface IcSeries {
  /** Dates, ascending; one per distinct input date. */
  dates: string[];
  /** Per-date Pearson correlation; NaN for a date with fewer than 2 complete pairs or a constant side. */
  ic: Float64Array;
  /** Per-date Spearman (average-tie ranks) correlation, NaN under the same conditions. */
  ric: Float64Array;
}

/** SigAnaRecord's metrics, under qlib's metric names. Means/stds over dates, NaN skipped, std ddof=1; nothing annualised. */
export interface IcSummary {
  IC: number;
  ICIR: number;
  'Rank IC': number;
  'Rank ICIR': number;
}

export function assertAligned(pred: ArrayLike<number>, label: ArrayLike<number>, dates: readonly string[], path: string): void {
  if (pred.length !== label.length || pred.length !== dates.length) {
    throw new RecordError('RECORD_INPUT', `pred (${pred.length}), label (${label.length}) and dates (${dates.length}) must have one entry per row`, {
      path,
      hint: 'pass the columns of one (datetime, instrument) panel, or align pred and label first (alignPredLabel)',
    });
  }
  if (pred.length === 0) {
    throw new RecordError('RECORD_EMPTY', 'no rows to evaluate', { path, hint: 'the prediction is empty; check the test segment covers dates with data' });
  }
}

/** Per-date IC and Rank IC. `pred`, `label`, `dates` are row-aligned (same (date, instrument) rows). */
export function calcIc(pred: ArrayLike<number>, label: ArrayLike<number>, dates: readonly string[]): IcSeries {
  assertAligned(pred, label, dates, 'calcIc');
  const groups = groupRowsByDate(dates);
  const ic = new Float64Array(groups.dates.length);
  const ric = new Float64Array(groups.dates.length);
  groups.rows.forEach((rows, k) => {
    ic[k] = pearson(pred, label, rows);
    ric[k] = spearman(pred, label, rows);
  });
  return { dates: groups.dates, ic, ric };
}

export function summarizeIc(s: IcSeries): IcSummary {
  const icMean = nanMean(s.ic);
  const ricMean = nanMean(s.ric);
  return {
    IC: icMean,
    ICIR: icMean / nanStd(s.ic, 1),
    'Rank IC': ricMean,
    'Rank ICIR': ricMean / nanStd(s.ric, 1),
  };
}
