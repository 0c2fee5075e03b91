/**
 * qlib's `TopkDropoutStrategy.generate_trade_decision` (contrib/strategy/signal_strategy.py) for one
 * trading day: keep `topk` names, replace at most `n_drop` of them each day by better-scored ones.
 */
import { RecordError } from '../errors.ts';
import type { Direction, Exchange } from './exchange.ts';
import type { Position } from './position.ts';

export interface TopkDropoutOptions {
  /** Number of stocks to hold. Required. */
  topk: number;
  /** Stocks replaced per day at most. Required. */
  n_drop: number;
  /** Only `bottom` (qlib also has `random`). Default `bottom`. */
  method_sell?: 'bottom';
  /** Only `top` (qlib also has `random`). Default `top`. */
  method_buy?: 'top';
  /** Minimum days held before a sell. Default 1. */
  hold_thresh?: number;
  /** Pick candidates among tradable stocks only. Default false. */
  only_tradable?: boolean;
  /** Treat a stock at either price limit as untradable for both buying and selling. Default true. */
  forbid_all_trade_at_limit?: boolean;
  /** Share of cash invested on each buy round. Default 0.95. */
  risk_degree?: number;
}

export interface Order {
  instrument: string;
  direction: Direction;
  amount: number;
}

function intOpt(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RecordError('BACKTEST_CONFIG', `${path} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, { path, hint: 'qlib benchmarks use topk: 50, n_drop: 5' });
  }
  return v;
}

function boolOpt(v: unknown, dflt: boolean, path: string): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new RecordError('BACKTEST_CONFIG', `${path} must be true or false`, { path, hint: `default ${dflt}` });
  return v;
}

/** Descending by score, NaN last (pandas `sort_values`), ties by instrument name for reproducibility. */
function sortByScore(codes: readonly string[], score: ReadonlyMap<string, number>): string[] {
  const s = (c: string): number => score.get(c) ?? NaN;
  return [...codes].sort((a, b) => {
    const sa = s(a);
    const sb = s(b);
    const na = Number.isNaN(sa);
    const nb = Number.isNaN(sb);
    if (na !== nb) return na ? 1 : -1;
    if (!na && sa !== sb) return sb - sa;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

export class TopkDropoutStrategy {
  readonly topk: number;
  readonly nDrop: number;
  readonly holdThresh: number;
  readonly onlyTradable: boolean;
  readonly forbidAllTradeAtLimit: boolean;
  readonly riskDegree: number;

  constructor(opts: TopkDropoutOptions, path = 'strategy.kwargs') {
    if (opts === null || typeof opts !== 'object') throw new RecordError('BACKTEST_CONFIG', 'strategy kwargs must be an object', { path, hint: '{topk: 50, n_drop: 5}' });
    const known = new Set(['topk', 'n_drop', 'method_sell', 'method_buy', 'hold_thresh', 'only_tradable', 'forbid_all_trade_at_limit', 'risk_degree', 'signal']);
    for (const k of Object.keys(opts)) {
      if (!known.has(k)) throw new RecordError('BACKTEST_CONFIG', `unknown TopkDropoutStrategy option ${k}`, { path: `${path}.${k}`, hint: `known: ${[...known].join(', ')}` });
    }
    this.topk = intOpt(opts.topk, `${path}.topk`, 1);
    this.nDrop = intOpt(opts.n_drop, `${path}.n_drop`, 0);
    if ((opts.method_sell ?? 'bottom') !== 'bottom') throw new RecordError('BACKTEST_CONFIG', `method_sell ${JSON.stringify(opts.method_sell)} is not supported`, { path: `${path}.method_sell`, hint: 'only bottom (qlib random is not ported)' });
    if ((opts.method_buy ?? 'top') !== 'top') throw new RecordError('BACKTEST_CONFIG', `method_buy ${JSON.stringify(opts.method_buy)} is not supported`, { path: `${path}.method_buy`, hint: 'only top (qlib random is not ported)' });
    this.holdThresh = opts.hold_thresh === undefined ? 1 : intOpt(opts.hold_thresh, `${path}.hold_thresh`, 0);
    this.onlyTradable = boolOpt(opts.only_tradable, false, `${path}.only_tradable`);
    this.forbidAllTradeAtLimit = boolOpt(opts.forbid_all_trade_at_limit, true, `${path}.forbid_all_trade_at_limit`);
    const rd = opts.risk_degree ?? 0.95;
    if (typeof rd !== 'number' || !(rd > 0 && rd <= 1)) throw new RecordError('BACKTEST_CONFIG', `risk_degree must be in (0, 1], got ${JSON.stringify(rd)}`, { path: `${path}.risk_degree`, hint: 'default 0.95' });
    this.riskDegree = rd;
  }

  /**
   * Orders for calendar day `t` from `score` (the previous trading day's signal): sells first, then
   * buys. `position` is not changed (the sells are simulated on a copy to size the buys).
   */
  decide(score: ReadonlyMap<string, number>, position: Position, exchange: Exchange, t: number): Order[] {
    const tradable = (c: string, d?: Direction): boolean => exchange.isTradable(c, t, this.forbidAllTradeAtLimit ? undefined : d);
    // Python slicing on purpose (JS slice matches it): a negative n drops from the end, and
    // `l[-0:]` is the whole list — so n_drop = 0 sells every holding, as in qlib.
    const firstN = (l: readonly string[], n: number): string[] => {
      if (!this.onlyTradable) return l.slice(0, n);
      const out: string[] = [];
      for (const c of l) {
        if (!exchange.isTradable(c, t)) continue;
        out.push(c);
        if (out.length >= n) break;
      }
      return out;
    };
    const lastN = (l: readonly string[], n: number): string[] => {
      if (!this.onlyTradable) return l.slice(-n);
      const out: string[] = [];
      for (let i = l.length - 1; i >= 0; i--) {
        if (!exchange.isTradable(l[i]!, t)) continue;
        out.unshift(l[i]!);
        if (out.length >= n) break;
      }
      return out;
    };
    const temp = position.clone();
    const held = temp.stocks();
    const last = sortByScore(held, score);
    const heldSet = new Set(held);
    const candidates = sortByScore([...score.keys()].filter((c) => !heldSet.has(c)), score);
    const today = firstN(candidates, this.nDrop + this.topk - last.length);
    const comb = sortByScore([...new Set([...last, ...today])].sort(), score);
    const bottom = new Set(lastN(comb, this.nDrop));
    const sell = new Set(last.filter((c) => bottom.has(c)));
    const buy = today.slice(0, sell.size + this.topk - last.length);

    const orders: Order[] = [];
    for (const code of held) {
      if (!tradable(code, 'sell') || !sell.has(code)) continue;
      if (temp.count(code) < this.holdThresh) continue;
      const amount = temp.amount(code);
      if (!exchange.isTradable(code, t, 'sell')) continue;
      orders.push({ instrument: code, direction: 'sell', amount });
      exchange.deal(code, t, 'sell', amount, temp);
    }
    const value = buy.length > 0 ? (temp.cash * this.riskDegree) / buy.length : 0;
    for (const code of buy) {
      if (!tradable(code, 'buy')) continue;
      const price = exchange.dealPrice(code, t, 'buy');
      const amount = exchange.roundByTradeUnit(value / price, exchange.factor(code, t));
      orders.push({ instrument: code, direction: 'buy', amount });
    }
    return orders;
  }
}
