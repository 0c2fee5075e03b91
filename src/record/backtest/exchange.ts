/**
 * qlib's `Exchange` (qlib/backtest/exchange.py) for a daily backtest over a `FieldSource`: deal price,
 * suspension (NaN close), price limits from `$change`, trade-unit rounding with `$factor`, the cost
 * formula and the cash/position clipping of `_calc_trade_info_by_order`.
 */
import type { FieldSource } from '../../data/types.ts';
import { RecordError } from '../errors.ts';
import type { Position } from './position.ts';

export type Direction = 'buy' | 'sell';

export interface ExchangeOptions {
  /**
   * Deal price field: `close`, `open` or `vwap` (a leading `$` is accepted), or `[buy, sell]`.
   * A NaN or non-positive deal price falls back to the day's close, as qlib. Default `close`.
   */
  deal_price?: string | readonly [string, string];
  /**
   * Price limit on `$change` (`change >= t` is limit-up: no buying; `change <= -t` is limit-down: no
   * selling); null disables it. Default 0.095 (qlib's benchmark config). `$change` is the stored
   * `change` field when the instrument has one, else close / previous calendar day's close − 1.
   */
  limit_threshold?: number | null;
  /** Buy cost rate. Default 0.0005. */
  open_cost?: number;
  /** Sell cost rate. Default 0.0015. */
  close_cost?: number;
  /** Minimum cost per trade. Default 5. */
  min_cost?: number;
  /** Market impact rate: cost rate += impact_cost × (trade value / day's traded value)². Default 0. */
  impact_cost?: number;
  /**
   * Lot size in unadjusted shares; null trades fractional (adjusted) shares. Default 100 (qlib's
   * region-cn default). Rounding is also disabled — as in qlib — when any `$factor` is missing on a
   * day with a close.
   */
  trade_unit?: number | null;
}

const PRICE_FIELDS = new Set(['close', 'open', 'vwap', 'high', 'low']);

function priceField(v: unknown, path: string): string {
  const s = typeof v === 'string' ? v.replace(/^\$/, '') : '';
  if (!PRICE_FIELDS.has(s)) {
    throw new RecordError('BACKTEST_CONFIG', `unknown deal price ${JSON.stringify(v)}`, { path, hint: 'use close, open or vwap (optionally with $), or [buy, sell]' });
  }
  return s;
}

function nonNegative(v: unknown, dflt: number, path: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RecordError('BACKTEST_CONFIG', `${path} must be a non-negative number, got ${JSON.stringify(v)}`, { path, hint: 'e.g. open_cost: 0.0005, min_cost: 5' });
  }
  return v;
}

export interface ResolvedExchangeOptions {
  buyPrice: string;
  sellPrice: string;
  limitThreshold: number | null;
  openCost: number;
  closeCost: number;
  minCost: number;
  impactCost: number;
  tradeUnit: number | null;
}

export function resolveExchangeOptions(o: ExchangeOptions = {}, path = 'exchange_kwargs'): ResolvedExchangeOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new RecordError('BACKTEST_CONFIG', 'exchange_kwargs must be an object', { path, hint: 'e.g. {deal_price: close, open_cost: 0.0005}' });
  }
  const known = new Set(['deal_price', 'limit_threshold', 'open_cost', 'close_cost', 'min_cost', 'impact_cost', 'trade_unit', 'freq', 'codes']);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new RecordError('BACKTEST_CONFIG', `unknown exchange option ${k}`, { path: `${path}.${k}`, hint: `known: ${[...known].join(', ')}` });
  }
  const dp = o.deal_price ?? 'close';
  let buyPrice: string;
  let sellPrice: string;
  if (Array.isArray(dp)) {
    if (dp.length !== 2) throw new RecordError('BACKTEST_CONFIG', 'deal_price as a list needs [buy, sell]', { path: `${path}.deal_price`, hint: 'e.g. [open, close]' });
    buyPrice = priceField(dp[0], `${path}.deal_price[0]`);
    sellPrice = priceField(dp[1], `${path}.deal_price[1]`);
  } else {
    buyPrice = sellPrice = priceField(dp, `${path}.deal_price`);
  }
  let limitThreshold: number | null = 0.095;
  if (o.limit_threshold === null) limitThreshold = null;
  else if (o.limit_threshold !== undefined) {
    if (typeof o.limit_threshold !== 'number' || !Number.isFinite(o.limit_threshold)) {
      throw new RecordError('BACKTEST_CONFIG', `limit_threshold must be a number or null, got ${JSON.stringify(o.limit_threshold)}`, { path: `${path}.limit_threshold`, hint: 'e.g. 0.095; null disables price limits (qtask does not take qlib expression pairs)' });
    }
    limitThreshold = o.limit_threshold;
  }
  let tradeUnit: number | null = 100;
  if (o.trade_unit === null) tradeUnit = null;
  else if (o.trade_unit !== undefined) {
    if (typeof o.trade_unit !== 'number' || !(o.trade_unit > 0) || !Number.isFinite(o.trade_unit)) {
      throw new RecordError('BACKTEST_CONFIG', `trade_unit must be a positive number or null, got ${JSON.stringify(o.trade_unit)}`, { path: `${path}.trade_unit`, hint: '100 for China A shares, 1 for whole US shares, null for fractional shares' });
    }
    tradeUnit = o.trade_unit;
  }
  return {
    buyPrice,
    sellPrice,
    limitThreshold,
    openCost: nonNegative(o.open_cost, 0.0005, `${path}.open_cost`),
    closeCost: nonNegative(o.close_cost, 0.0015, `${path}.close_cost`),
    minCost: nonNegative(o.min_cost, 5, `${path}.min_cost`),
    impactCost: nonNegative(o.impact_cost, 0, `${path}.impact_cost`),
    tradeUnit,
  };
}

interface Quote {
  close: Float64Array;
  buy: Float64Array;
  sell: Float64Array;
  factor: Float64Array;
  change: Float64Array;
  volume: Float64Array;
}

/** A dealt order: what `deal_order` returns plus the order itself. */
export interface Trade {
  instrument: string;
  direction: Direction;
  /** Requested amount (adjusted shares). */
  amount: number;
  /** Dealt amount after limits, cash and rounding; 0 when refused. */
  dealAmount: number;
  price: number;
  value: number;
  cost: number;
}

/**
 * Quotes for calendar indices `[startIdx - 1, endIdx]` (the extra day serves `$change` and the
 * benchmark's first return). Index arguments below are calendar indices.
 */
export class Exchange {
  readonly opts: ResolvedExchangeOptions;
  /** True when some `$factor` is missing where a close exists: trade-unit rounding is then off (qlib's trade_w_adj_price). */
  readonly tradeWithAdjPrice: boolean;
  private readonly quotes = new Map<string, Quote | null>();
  private readonly base: number;

  constructor(private readonly source: FieldSource, codes: readonly string[], readonly startIdx: number, readonly endIdx: number, opts: ExchangeOptions = {}) {
    this.opts = resolveExchangeOptions(opts);
    this.base = startIdx - 1;
    let adj = false;
    for (const c of codes) {
      const q = this.quote(c);
      if (!q) continue;
      for (let i = 1; i < q.close.length; i++) if (!Number.isNaN(q.close[i]!) && Number.isNaN(q.factor[i]!)) adj = true;
    }
    this.tradeWithAdjPrice = adj;
  }

  private quote(code: string): Quote | null {
    const cached = this.quotes.get(code);
    if (cached !== undefined) return cached;
    const fields = this.source.fields(code);
    if (fields.length === 0) {
      this.quotes.set(code, null);
      return null;
    }
    const load = (f: string): Float64Array => {
      if (!fields.includes(f)) return new Float64Array(this.endIdx - this.base + 1).fill(NaN);
      return this.source.load(code, f, this.base, this.endIdx);
    };
    const close = load('close');
    let change: Float64Array;
    if (fields.includes('change')) change = load('change');
    else {
      // Day before `base` is needed for the first change; one extra read keeps it exact.
      const prev = this.source.load(code, 'close', this.base - 1, this.base - 1)[0]!;
      change = new Float64Array(close.length);
      for (let i = 0; i < close.length; i++) change[i] = close[i]! / (i === 0 ? prev : close[i - 1]!) - 1;
    }
    const q: Quote = {
      close,
      buy: this.opts.buyPrice === 'close' ? close : load(this.opts.buyPrice),
      sell: this.opts.sellPrice === 'close' ? close : this.opts.sellPrice === this.opts.buyPrice ? load(this.opts.buyPrice) : load(this.opts.sellPrice),
      factor: load('factor'),
      change,
      volume: load('volume'),
    };
    this.quotes.set(code, q);
    return q;
  }

  private at(code: string, t: number, field: keyof Quote): number {
    const q = this.quote(code);
    if (!q || t < this.base || t > this.endIdx) return NaN;
    return q[field][t - this.base]!;
  }

  close(code: string, t: number): number {
    return this.at(code, t, 'close');
  }

  factor(code: string, t: number): number {
    return this.at(code, t, 'factor');
  }

  isSuspended(code: string, t: number): boolean {
    return Number.isNaN(this.close(code, t));
  }

  /** qlib's `check_stock_limit`: direction undefined = limited in either direction. */
  isLimited(code: string, t: number, direction?: Direction): boolean {
    const thr = this.opts.limitThreshold;
    if (thr === null) return false;
    const ch = this.at(code, t, 'change');
    const up = ch >= thr;
    const down = ch <= -thr;
    if (direction === 'buy') return up;
    if (direction === 'sell') return down;
    return up || down;
  }

  isTradable(code: string, t: number, direction?: Direction): boolean {
    return !(this.isSuspended(code, t) || this.isLimited(code, t, direction));
  }

  /** Deal price with qlib's fallback to close for NaN or ≤ 1e-8. */
  dealPrice(code: string, t: number, direction: Direction): number {
    const p = this.at(code, t, direction === 'buy' ? 'buy' : 'sell');
    return Number.isNaN(p) || p <= 1e-8 ? this.close(code, t) : p;
  }

  /** `(amount × factor + 0.1) // unit × unit / factor`; unchanged when rounding is off. */
  roundByTradeUnit(amount: number, factor: number): number {
    const unit = this.opts.tradeUnit;
    if (this.tradeWithAdjPrice || unit === null) return amount;
    return (Math.floor((amount * factor + 0.1) / unit) * unit) / factor;
  }

  private buyAmountByCashLimit(price: number, cash: number, costRatio: number): number {
    const minCost = this.opts.minCost;
    if (cash < minCost) return 0;
    const critical = minCost / costRatio + minCost;
    return cash >= critical ? cash / (1 + costRatio) / price : (cash - minCost) / price;
  }

  /**
   * qlib's `deal_order` against `position` (updated in place when something is dealt): refused when
   * suspended or at the limit in the order's direction; sells are clipped to the holding (rounded unless
   * the whole holding), buys to the cash; cost = max(value × rate, min_cost), 0 when value ≤ 1e-5.
   */
  deal(code: string, t: number, direction: Direction, amount: number, position: Position): Trade {
    const refused: Trade = { instrument: code, direction, amount, dealAmount: 0, price: NaN, value: 0, cost: 0 };
    if (!this.isTradable(code, t, direction)) return refused;
    const price = this.dealPrice(code, t, direction);
    const factor = this.factor(code, t);
    const totalVal = this.at(code, t, 'volume') * price;
    let deal = amount;
    const val0 = deal * price;
    const adj = !totalVal || Number.isNaN(totalVal) ? this.opts.impactCost : this.opts.impactCost * (val0 / totalVal) ** 2;
    let costRatio: number;
    if (direction === 'sell') {
      costRatio = this.opts.closeCost + adj;
      const current = position.amount(code);
      // np.isclose(deal, current): |a − b| ≤ 1e-8 + 1e-5·|b|
      if (!(Math.abs(deal - current) <= 1e-8 + 1e-5 * Math.abs(current))) deal = this.roundByTradeUnit(Math.min(current, deal), factor);
      if (position.cash + deal * price < Math.max(deal * price * costRatio, this.opts.minCost)) deal = 0;
    } else {
      costRatio = this.opts.openCost + adj;
      const cash = position.cash;
      const val = deal * price;
      if (cash < Math.max(val * costRatio, this.opts.minCost)) deal = 0;
      else if (cash < val + Math.max(val * costRatio, this.opts.minCost)) {
        deal = this.roundByTradeUnit(Math.min(this.buyAmountByCashLimit(price, cash, costRatio), deal), factor);
      } else deal = this.roundByTradeUnit(deal, factor);
    }
    const value = deal * price;
    const cost = value <= 1e-5 ? 0 : Math.max(value * costRatio, this.opts.minCost);
    if (value > 1e-5) position.applyTrade(code, direction, value, cost, price);
    return { instrument: code, direction, amount, dealAmount: value > 1e-5 ? deal : 0, price, value: value > 1e-5 ? value : 0, cost: value > 1e-5 ? cost : 0 };
  }
}
