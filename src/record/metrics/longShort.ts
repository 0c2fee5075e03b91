/**
 * qlib's `calc_long_short_return` (contrib/eva/alpha.py). Per date with n rows, N = floor(n × quantile):
 * long = mean label of the N highest preds, short = mean label of the N lowest,
 * `long_short_r = (long − short) / 2`, and `long_avg_r` = the mean label of the whole date.
 *
 * Naming kept from qlib on purpose: "Long-Avg" is the cross-sectional market mean, not
 * "long minus average" (qlib weakness W43). n counts rows with a NaN pred or label too (qlib does not
 * drop them by default); NaN preds are never picked (pandas `nlargest` drops NaN) and NaN labels are
 * skipped in the means. Ties keep the earlier row (`keep='first'`).
 */
import { assertAligned } from './ic.ts';
import { groupRowsByDate, nanMean, nanStd } from './stats.ts';

export interface LongShortSeries {
  dates: string[];
  longShort: Float64Array;
  longAvg: Float64Array;
}

export function calcLongShortReturn(pred: ArrayLike<number>, label: ArrayLike<number>, dates: readonly string[], quantile = 0.2): LongShortSeries {
  assertAligned(pred, label, dates, 'calcLongShortReturn');
  const groups = groupRowsByDate(dates);
  const longShort = new Float64Array(groups.dates.length);
  const longAvg = new Float64Array(groups.dates.length);
  groups.rows.forEach((rows, k) => {
    const n = Math.floor(rows.length * quantile);
    const valid = rows.filter((r) => !Number.isNaN(pred[r]!));
    // Stable sorts: equal preds keep row order, as nlargest/nsmallest(keep='first').
    const desc = [...valid].sort((a, b) => pred[b]! - pred[a]!);
    const asc = [...valid].sort((a, b) => pred[a]! - pred[b]!);
    const longR = nanMean(desc.slice(0, n).map((r) => label[r]!));
    const shortR = nanMean(asc.slice(0, n).map((r) => label[r]!));
    longShort[k] = (longR - shortR) / 2;
    longAvg[k] = nanMean(rows.map((r) => label[r]!));
  });
  return { dates: groups.dates, longShort, longAvg };
}

/** SigAnaRecord's annualisation: `Ann Return = mean × scaler`, `Ann Sharpe = mean / std × √scaler` (qlib default scaler 252). */
export function annualize(r: ArrayLike<number>, annScaler = 252): { return: number; sharpe: number } {
  const m = nanMean(r);
  return { return: m * annScaler, sharpe: (m / nanStd(r, 1)) * Math.sqrt(annScaler) };
}
