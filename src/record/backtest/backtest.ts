/**
 * A daily backtest as qlib's `backtest_daily` with a `SimulatorExecutor(time_per_step='day')`: on
 * each trading day t the strategy reads the signal of the previous calendar day (t − 1), its orders
 * are dealt at day t's deal price (sells, then buys), holdings are then revalued at day t's close,
 * and one report row is written (qlib's `Account.update_report`).
 */
import type { FieldSource, Panel } from '../../data/types.ts';
import { RecordError } from '../errors.ts';
import { Exchange } from './exchange.ts';
import type { ExchangeOptions, Trade } from './exchange.ts';
import { Position } from './position.ts';
import { TopkDropoutStrategy } from './topkDropout.ts';
import type { TopkDropoutOptions } from './topkDropout.ts';

/** Signal: per date, instrument → score. */
export type Signal = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Builds a Signal from a prediction panel (column `score`, else the first column). */
export function signalFromPanel(pred: Panel, path = 'pred'): Signal {
  if (pred.columns.length === 0) throw new RecordError('RECORD_INPUT', 'the prediction has no columns', { path, hint: 'a prediction panel has a score column' });
  const c = pred.columns.indexOf('score');
  const col = pred.values[c >= 0 ? c : 0]!;
  const out = new Map<string, Map<string, number>>();
  for (let r = 0; r < pred.dates.length; r++) {
    const d = pred.dates[r]!;
    let m = out.get(d);
    if (!m) out.set(d, (m = new Map()));
    m.set(pred.instruments[r]!, col[r]!);
  }
  return out;
}

export interface BacktestOptions {
  /** Price data (LocalProvider or MemorySource). */
  source: FieldSource;
  /** Per-date scores. */
  signal: Signal;
  /** First trading day (inclusive, `YYYY-MM-DD`). Required. */
  start_time: string;
  /** Last trading day (inclusive). Required. */
  end_time: string;
  strategy: TopkDropoutOptions;
  /** Initial cash. Default 100000000 (qlib's 1e8). */
  account?: number;
  /**
   * Benchmark instrument(s) whose mean daily close-to-close return is `bench` (NaN → 0). When none of
   * them exists in `source`, the benchmark becomes the equal-weight mean return of the signal's
   * instruments and a warning says so; null gives a zero benchmark. Default `SH000300` (qlib's).
   */
  benchmark?: string | readonly string[] | null;
  exchange_kwargs?: ExchangeOptions;
}

/** One day of qlib's `report_normal_1day`; rates are relative to the previous day's account value. */
export interface ReportRow {
  date: string;
  /** Account value: cash + holdings at close. */
  account: number;
  /** (account − previous account + cost) / previous account: the return before costs. */
  return: number;
  total_turnover: number;
  turnover: number;
  total_cost: number;
  cost: number;
  /** Value of the holdings. */
  value: number;
  cash: number;
  bench: number;
}

export interface PositionSnapshot {
  date: string;
  cash: number;
  now_account_value: number;
  stocks: Record<string, { amount: number; price: number; count_day: number; weight: number }>;
}

export interface BacktestResult {
  report: ReportRow[];
  positions: PositionSnapshot[];
  /** Every order with its outcome (dealAmount 0 when refused), by day. */
  trades: { date: string; trades: Trade[] }[];
  warnings: string[];
  /** True when trade-unit rounding was off because some `$factor` was missing. */
  tradeWithAdjPrice: boolean;
}

function findIndex(calendar: readonly string[], date: string, side: 'start' | 'end'): number {
  let lo = 0;
  let hi = calendar.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (calendar[mid]! < date) lo = mid + 1;
    else hi = mid;
  }
  if (side === 'start') return lo;
  return lo < calendar.length && calendar[lo] === date ? lo : lo - 1;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function runBacktest(opts: BacktestOptions): BacktestResult {
  for (const k of ['start_time', 'end_time'] as const) {
    if (typeof opts[k] !== 'string' || !DATE_RE.test(opts[k])) {
      throw new RecordError('BACKTEST_CONFIG', `${k} must be a YYYY-MM-DD date, got ${JSON.stringify(opts[k])}`, { path: `backtest.${k}`, hint: 'e.g. 2019-01-02' });
    }
  }
  const account = opts.account ?? 1e8;
  if (typeof account !== 'number' || !(account > 0) || !Number.isFinite(account)) {
    throw new RecordError('BACKTEST_CONFIG', `account must be a positive number, got ${JSON.stringify(account)}`, { path: 'backtest.account', hint: 'initial cash, e.g. 100000000' });
  }
  const strategy = new TopkDropoutStrategy(opts.strategy);
  const calendar = opts.source.calendarDays();
  const startIdx = findIndex(calendar, opts.start_time, 'start');
  const endIdx = findIndex(calendar, opts.end_time, 'end');
  if (startIdx > endIdx || startIdx >= calendar.length || endIdx < 0) {
    throw new RecordError('RECORD_EMPTY', `no trading day between ${opts.start_time} and ${opts.end_time}`, {
      path: 'backtest.start_time',
      hint: calendar.length ? `the calendar spans ${calendar[0]} … ${calendar[calendar.length - 1]}` : 'the data source has an empty calendar',
    });
  }
  const codes = new Set<string>();
  for (const m of opts.signal.values()) for (const c of m.keys()) codes.add(c);
  const warnings: string[] = [];
  const exchange = new Exchange(opts.source, [...codes], startIdx, endIdx, opts.exchange_kwargs ?? {});
  if (exchange.tradeWithAdjPrice && exchange.opts.tradeUnit !== null) {
    warnings.push(`$factor is missing on some days with a close: trade_unit ${exchange.opts.tradeUnit} is not applied (qlib's adjusted-price mode)`);
  }

  const benchSpec = opts.benchmark === undefined ? 'SH000300' : opts.benchmark;
  let benchCodes: string[] = [];
  if (benchSpec !== null) {
    const wanted = typeof benchSpec === 'string' ? [benchSpec] : [...benchSpec];
    benchCodes = wanted.filter((c) => opts.source.fields(c).length > 0);
    if (benchCodes.length === 0) {
      benchCodes = [...codes].sort();
      warnings.push(`benchmark ${wanted.join(', ')} is not in the data: using the equal-weight mean return of the ${benchCodes.length} signal instruments`);
    }
  }
  const benchReturn = (t: number): number => {
    let s = 0;
    let n = 0;
    for (const c of benchCodes) {
      // qlib evaluates `$close/Ref($close,1)-1` in float32; rounding the same way keeps `bench` bit-compatible
      const r = Math.fround(Math.fround(exchange.close(c, t) / exchange.close(c, t - 1)) - 1);
      if (!Number.isNaN(r)) {
        s += r;
        n++;
      }
    }
    return n === 0 ? 0 : s / n;
  };

  const position = new Position(account);
  const report: ReportRow[] = [];
  const positions: PositionSnapshot[] = [];
  const trades: BacktestResult['trades'] = [];
  let totalCost = 0;
  let totalTurnover = 0;
  let lastValue = account;
  for (let t = startIdx; t <= endIdx; t++) {
    const date = calendar[t]!;
    const score = t >= 1 ? opts.signal.get(calendar[t - 1]!) : undefined;
    const dayTrades: Trade[] = [];
    if (score && score.size > 0) {
      for (const o of strategy.decide(score, position, exchange, t)) {
        dayTrades.push(exchange.deal(o.instrument, t, o.direction, o.amount, position));
      }
    }
    let dayCost = 0;
    let dayTurnover = 0;
    for (const tr of dayTrades) {
      dayCost += tr.cost;
      dayTurnover += tr.value;
    }
    totalCost += dayCost;
    totalTurnover += dayTurnover;
    for (const code of position.stocks()) {
      const h = position.holdings.get(code)!;
      if (!exchange.isSuspended(code, t)) h.price = exchange.close(code, t);
      h.count += 1;
    }
    const value = position.value();
    report.push({
      date,
      account: value,
      return: (value - lastValue + dayCost) / lastValue,
      total_turnover: totalTurnover,
      turnover: dayTurnover / lastValue,
      total_cost: totalCost,
      cost: dayCost / lastValue,
      value: position.stockValue(),
      cash: position.cash,
      bench: benchReturn(t),
    });
    const stocks: PositionSnapshot['stocks'] = {};
    for (const code of position.stocks()) {
      const h = position.holdings.get(code)!;
      stocks[code] = { amount: h.amount, price: h.price, count_day: h.count, weight: (h.amount * h.price) / value };
    }
    positions.push({ date, cash: position.cash, now_account_value: value, stocks });
    trades.push({ date, trades: dayTrades });
    lastValue = value;
  }
  return { report, positions, trades, warnings, tradeWithAdjPrice: exchange.tradeWithAdjPrice };
}
