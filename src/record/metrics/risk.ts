/**
 * qlib's `risk_analysis` (contrib/evaluate.py). Default `mode='sum'`: returns accumulate by summation
 * (qlib's design, so the curve is not skewed exponentially):
 * mean, std (ddof=1), annualized_return = mean × N, information_ratio = mean / std × √N,
 * max_drawdown = min(cumsum − cummax(cumsum)) — the running max starts at the first cumulative
 * value, not at 0. `mode='product'` compounds instead. NaN entries are skipped as pandas does.
 */
import { RecordError } from '../errors.ts';
import { nanMean, nanStd } from './stats.ts';

export interface RiskMetrics {
  mean: number;
  std: number;
  annualized_return: number;
  information_ratio: number;
  max_drawdown: number;
}

export interface RiskOptions {
  /** Scaler N; when given, `freq` is ignored (qlib warns). Default: from `freq`. */
  N?: number;
  /** Analysis frequency → N: day 238, week 50, month 12, minute 240 × 238, divided by a count prefix (`5min`). Default `day`. */
  freq?: string;
  /** `sum` (default, qlib's) or `product`. */
  mode?: 'sum' | 'product';
}

const FREQ_SCALER: Record<string, number> = { minute: 240 * 238, day: 238, week: 50, month: 12 };
const FREQ_ALIASES: Record<string, string> = { min: 'minute', minute: 'minute', d: 'day', day: 'day', w: 'week', week: 'week', mon: 'month', month: 'month' };

/** qlib's `Freq.parse` reduced to what risk analysis needs: `[count, unit]`. */
export function parseFreq(freq: string): [number, 'minute' | 'day' | 'week' | 'month'] {
  const m = /^([0-9]*)([a-z]+)$/.exec(freq.trim().toLowerCase());
  const unit = m ? FREQ_ALIASES[m[2]!] : undefined;
  if (!m || !unit) {
    throw new RecordError('RECORD_INPUT', `unknown frequency ${JSON.stringify(freq)}`, { path: 'freq', hint: 'use day, week, month, minute (optionally with a count, e.g. 1day, 5min)' });
  }
  const count = m[1] === '' ? 1 : Number(m[1]);
  if (!(count > 0)) throw new RecordError('RECORD_INPUT', `frequency count must be positive in ${JSON.stringify(freq)}`, { path: 'freq', hint: 'e.g. 1day' });
  return [count, unit as 'minute' | 'day' | 'week' | 'month'];
}

export function riskScaler(freq: string): number {
  const [count, unit] = parseFreq(freq);
  return FREQ_SCALER[unit]! / count;
}

export function riskAnalysis(r: ArrayLike<number>, options: RiskOptions = {}): RiskMetrics {
  const mode = options.mode ?? 'sum';
  if (mode !== 'sum' && mode !== 'product') {
    throw new RecordError('RECORD_INPUT', `risk analysis mode ${JSON.stringify(mode)} is not supported`, { path: 'mode', hint: 'use sum (qlib default) or product' });
  }
  if (options.N !== undefined && !(Number.isFinite(options.N) && options.N > 0)) {
    throw new RecordError('RECORD_INPUT', `N must be a positive number, got ${options.N}`, { path: 'N', hint: 'e.g. 238 for daily returns' });
  }
  const N = options.N ?? riskScaler(options.freq ?? 'day');
  const values: number[] = [];
  for (let i = 0; i < r.length; i++) if (!Number.isNaN(r[i]!)) values.push(r[i]!);
  if (values.length === 0) {
    throw new RecordError('RECORD_EMPTY', 'the return series is empty (or all NaN)', { path: 'returns', hint: 'the backtest produced no trading days; check its start/end dates' });
  }
  let mean: number;
  let std: number;
  let annualized: number;
  let mdd = Infinity;
  if (mode === 'sum') {
    mean = nanMean(values);
    std = nanStd(values, 1);
    annualized = mean * N;
    let c = 0;
    let peak = -Infinity;
    for (const v of values) {
      c += v;
      if (c > peak) peak = c;
      if (c - peak < mdd) mdd = c - peak;
    }
  } else {
    let curve = 1;
    let peak = -Infinity;
    for (const v of values) {
      curve *= 1 + v;
      if (curve > peak) peak = curve;
      if (curve / peak - 1 < mdd) mdd = curve / peak - 1;
    }
    mean = curve ** (1 / values.length) - 1;
    std = nanStd(values.map((v) => Math.log(1 + v)), 1);
    annualized = curve ** (N / values.length) - 1;
  }
  return { mean, std, annualized_return: annualized, information_ratio: (mean / std) * Math.sqrt(N), max_drawdown: mdd };
}
