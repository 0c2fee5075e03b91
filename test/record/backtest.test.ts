/**
 * The TopkDropout daily backtest checked day by day on a 5-stock fixture (topk 2, n_drop 1), with
 * every expected number derived here by hand from qlib's rules, plus lot size, min_cost, limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../src/data/memorySource.ts';
import { runBacktest, Exchange, Position } from '../../src/record/backtest/index.ts';
import type { Signal } from '../../src/record/backtest/index.ts';
import { RecordError } from '../../src/record/errors.ts';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

const cal = ['2020-01-06', '2020-01-07', '2020-01-08', '2020-01-09', '2020-01-10'];
const [d0, d1, d2, d3, d4] = cal as [string, string, string, string, string];
const ones = [1, 1, 1, 1, 1];
const vol = [1e9, 1e9, 1e9, 1e9, 1e9];
function fixture(extra: Record<string, Record<string, number[]>> = {}): MemorySource {
  const px: Record<string, number[]> = {
    A: [10, 10, 11, 12, 12],
    B: [20, 20, 19, 18, 20],
    C: [50, 50, 50, 55, 50],
    D: [5, 5, 5.5, 5, 5],
    E: [40, 40, 40, 40, 44],
    IDX: [100, 100, 101, 99, 100],
  };
  const data: Record<string, Record<string, number[]>> = {};
  for (const [k, v] of Object.entries(px)) data[k] = { close: v, factor: ones, volume: vol, ...(extra[k] ?? {}) };
  return new MemorySource(cal, data);
}
function sig(rows: Record<string, Record<string, number>>): Signal {
  return new Map(Object.entries(rows).map(([d, m]) => [d, new Map(Object.entries(m))]));
}
// d0 → top2 A, B. d1 → D replaces B. d2 → C replaces A. d3 → E is only 3rd in comb: no trade.
const SIGNAL = sig({
  [d0]: { A: 0.9, B: 0.8, C: 0.1, D: 0.2, E: 0.3 },
  [d1]: { A: 0.9, B: 0.1, C: 0.2, D: 0.8, E: 0.3 },
  [d2]: { A: 0.1, B: 0.2, C: 0.9, D: 0.8, E: 0.3 },
  [d3]: { A: 0.1, B: 0.2, C: 0.9, D: 0.8, E: 0.3 },
});
const EX = { deal_price: 'close', open_cost: 0.001, close_cost: 0.002, min_cost: 5, limit_threshold: null, trade_unit: 100 };
const lot = (a: number): number => Math.floor((a + 0.1) / 100) * 100;

test('TopkDropout topk=2 n_drop=1, day by day: holdings, trades, costs, cash, value, report rates', () => {
  const res = runBacktest({ source: fixture(), signal: SIGNAL, start_time: d0, end_time: d4, account: 1e6, benchmark: 'IDX', strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: EX });
  assert.deepEqual(res.report.map((r) => r.date), cal);
  assert.deepEqual(res.warnings, []);
  const [r0, r1, r2, r3, r4] = res.report as [typeof res.report[0], typeof res.report[0], typeof res.report[0], typeof res.report[0], typeof res.report[0]];

  // d0: the signal would be the day before d0, which does not exist → no trade.
  assert.equal(res.trades[0]!.trades.length, 0);
  assert.deepEqual([r0.account, r0.return, r0.cost, r0.turnover, r0.bench], [1e6, 0, 0, 0, 0]);

  // d1 (signal d0): buy A and B with 1e6 × 0.95 / 2 = 475000 each at d1's close.
  const aAmt = lot(475000 / 10); // 47500
  const bAmt = lot(475000 / 20); // 23750 → 23700
  assert.deepEqual([aAmt, bAmt], [47500, 23700]);
  const buyA = aAmt * 10, buyB = bAmt * 20;
  let cash = 1e6 - buyA - buyA * 0.001 - buyB - buyB * 0.001;
  close(cash, 50051);
  const t1 = res.trades[1]!.trades;
  assert.deepEqual(t1.map((t) => [t.instrument, t.direction, t.dealAmount]), [['A', 'buy', 47500], ['B', 'buy', 23700]]);
  close(t1[0]!.cost, 475);
  close(t1[1]!.cost, 474);
  let value = cash + aAmt * 10 + bAmt * 20;
  close(r1.account, value);
  close(r1.cash, cash);
  close(r1.return, (value - 1e6 + 949) / 1e6);
  close(r1.cost, 949 / 1e6);
  close(r1.turnover, (buyA + buyB) / 1e6);
  close(r1.bench, 0);
  assert.deepEqual(Object.keys(res.positions[1]!.stocks).sort(), ['A', 'B']);
  let prev = value;

  // d2 (signal d1): comb = A .9, D .8, B .1 → sell B (whole holding) at 19, then buy D with cash × .95 at 5.5.
  const sellB = bAmt * 19;
  cash += sellB - sellB * 0.002;
  const dAmt = lot((cash * 0.95) / 5.5);
  assert.equal(dAmt, 86200);
  const buyD = dAmt * 5.5;
  cash -= buyD + buyD * 0.001;
  close(cash, 24876.3, 1e-6);
  assert.deepEqual(res.trades[2]!.trades.map((t) => [t.instrument, t.direction, t.dealAmount]), [['B', 'sell', 23700], ['D', 'buy', 86200]]);
  value = cash + aAmt * 11 + dAmt * 5.5;
  const cost2 = sellB * 0.002 + buyD * 0.001;
  close(r2.account, value, 1e-6);
  close(r2.return, (value - prev + cost2) / prev);
  close(r2.cost, cost2 / prev);
  close(r2.turnover, (sellB + buyD) / prev);
  close(r2.bench, 101 / 100 - 1, 1e-7); // float32, as qlib's expression engine
  assert.deepEqual(res.positions[2]!.stocks.A!.count_day, 2);
  assert.deepEqual(res.positions[2]!.stocks.D!.count_day, 1);
  prev = value;

  // d3 (signal d2): comb = C .9, D .8, A .1 → sell A at 12, buy C at 55.
  const sellA = aAmt * 12;
  cash += sellA - sellA * 0.002;
  const cAmt = lot((cash * 0.95) / 55);
  assert.equal(cAmt, 10200);
  const buyC = cAmt * 55;
  cash -= buyC + buyC * 0.001;
  value = cash + dAmt * 5 + cAmt * 55;
  const cost3 = sellA * 0.002 + buyC * 0.001;
  close(r3.account, value, 1e-6);
  close(r3.return, (value - prev + cost3) / prev);
  close(r3.cost, cost3 / prev);
  close(r3.bench, 99 / 101 - 1, 1e-7);
  prev = value;

  // d4 (signal d3): E (.3) is the bottom of comb {C, D, E} and not held → no trade; revalue at d4's close.
  assert.equal(res.trades[4]!.trades.length, 0);
  value = cash + dAmt * 5 + cAmt * 50;
  close(r4.account, value, 1e-6);
  close(r4.return, (value - prev) / prev);
  assert.equal(r4.cost, 0);
  close(r4.bench, 100 / 99 - 1, 1e-7);
  assert.deepEqual(res.positions[4]!.stocks.C!.count_day, 2);
  assert.deepEqual(res.positions[4]!.stocks.D!.count_day, 3);
  close(r4.total_cost, 949 + cost2 + cost3, 1e-6);
});

test('hold_thresh=2 keeps a stock bought yesterday; the buy still happens (qlib sizes buys before the hold check)', () => {
  const res = runBacktest({ source: fixture(), signal: SIGNAL, start_time: d0, end_time: d2, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1, hold_thresh: 2 }, exchange_kwargs: EX });
  assert.deepEqual(res.trades[2]!.trades.map((t) => [t.instrument, t.direction]), [['D', 'buy']]);
  assert.deepEqual(Object.keys(res.positions[2]!.stocks).sort(), ['A', 'B', 'D']);
  assert.equal(res.report[2]!.bench, 0, 'benchmark null → 0');
});

test('lot size: trade_unit rounds down in unadjusted shares via $factor; trade_unit null keeps fractional shares', () => {
  const ex = new Exchange(fixture(), ['A'], 1, 4, { trade_unit: 100 });
  close(ex.roundByTradeUnit(123.4, 2), 100); // (246.8 + .1) // 100 × 100 / 2
  close(ex.roundByTradeUnit(99.99, 1), 100, 0); // +0.1 absorbs float error
  close(ex.roundByTradeUnit(99.8, 1), 0);
  const res = runBacktest({ source: fixture(), signal: SIGNAL, start_time: d1, end_time: d1, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: { ...EX, trade_unit: null } });
  close(res.positions[0]!.stocks.B!.amount, 23750);
  // a missing $factor on a day with a close turns rounding off, as qlib's adjusted-price mode
  const noFactor = fixture({ A: { factor: [1, NaN, 1, 1, 1] } });
  const r2 = runBacktest({ source: noFactor, signal: SIGNAL, start_time: d1, end_time: d1, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: EX });
  assert.equal(r2.tradeWithAdjPrice, true);
  close(r2.positions[0]!.stocks.B!.amount, 23750);
  assert.match(r2.warnings.join('\n'), /trade_unit 100 is not applied/);
});

test('min_cost: cost = max(value × rate, min_cost); sells pay close_cost', () => {
  const ex = new Exchange(fixture(), ['A'], 1, 4, { open_cost: 0.001, close_cost: 0.002, min_cost: 5, trade_unit: 100, limit_threshold: null });
  const pos = new Position(10000);
  const small = ex.deal('A', 1, 'buy', 100, pos); // 1000 × .001 = 1 < 5
  assert.equal(small.value, 1000);
  assert.equal(small.cost, 5);
  assert.equal(pos.cash, 10000 - 1005);
  const big = ex.deal('A', 1, 'buy', 800, pos); // 8000 × .001 = 8 > 5
  assert.equal(big.cost, 8);
  const sell = ex.deal('A', 2, 'sell', 900, pos); // whole holding at 11: 9900 × .002 = 19.8
  close(sell.cost, 19.8);
  assert.equal(pos.holdings.size, 0);
  close(pos.cash, 10000 - 1005 - 8008 + 9900 - 19.8);
  // a buy larger than the cash is clipped to what cash / (1 + rate) buys, rounded to the lot
  const poor = new Position(1500);
  const clipped = ex.deal('A', 1, 'buy', 1000, poor);
  assert.equal(clipped.dealAmount, 100);
});

test('limit-up: a stock whose $change ≥ limit_threshold is not bought (forbid_all_trade_at_limit); limit-down blocks selling', () => {
  // A's stored change on d1 is +10 %: with limit 0.095 it is at limit-up; B has no change field (close-derived: 0)
  const src = fixture({ A: { change: [0, 0.1, 0, 0, 0] } });
  const res = runBacktest({ source: src, signal: SIGNAL, start_time: d1, end_time: d1, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: { ...EX, limit_threshold: 0.095 } });
  assert.deepEqual(res.trades[0]!.trades.map((t) => t.instrument), ['B']);
  // the value per buy is still cash × .95 / len(buy) with len 2, as qlib
  close(res.positions[0]!.stocks.B!.amount, 23700);
  // close-derived change: B falls 20 → 19 (−5 %) on d2; with limit 0.04 B is limit-down and cannot be sold
  const r2 = runBacktest({ source: fixture(), signal: SIGNAL, start_time: d1, end_time: d2, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: { ...EX, limit_threshold: 0.04 } });
  // d2: B at limit-down (not sold); D's change is +10 % (limit-up, not bought)
  assert.deepEqual(r2.trades[1]!.trades, []);
  assert.deepEqual(Object.keys(r2.positions[1]!.stocks).sort(), ['A', 'B']);
});

test('deal price open: trades at the open; a missing open falls back to close', () => {
  const src = fixture({ A: { open: [9, 9, 9, 9, 9] }, B: { open: [NaN, NaN, NaN, NaN, NaN] } });
  const res = runBacktest({ source: src, signal: SIGNAL, start_time: d1, end_time: d1, account: 1e6, benchmark: null, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: { ...EX, deal_price: '$open' } });
  const [a, b] = res.trades[0]!.trades;
  assert.equal(a!.price, 9);
  assert.equal(a!.dealAmount, lot(475000 / 9));
  assert.equal(b!.price, 20);
});

test('benchmark missing from the data → equal-weight mean return of the signal instruments, with a warning', () => {
  const res = runBacktest({ source: fixture(), signal: SIGNAL, start_time: d2, end_time: d2, account: 1e6, strategy: { topk: 2, n_drop: 1 }, exchange_kwargs: EX });
  assert.match(res.warnings.join('\n'), /SH000300 is not in the data/);
  const r = [11 / 10, 19 / 20, 50 / 50, 5.5 / 5, 40 / 40].map((x) => x - 1);
  close(res.report[0]!.bench, r.reduce((s, x) => s + x, 0) / 5, 1e-7);
});

test('bad input: unknown deal price, bad costs, topk, empty range → typed errors with path and hint', () => {
  const base = { source: fixture(), signal: SIGNAL, start_time: d0, end_time: d4, strategy: { topk: 2, n_drop: 1 } };
  const code = (fn: () => unknown, c: string, path?: string): void => {
    assert.throws(fn, (e: unknown) => e instanceof RecordError && e.code === c && typeof e.hint === 'string' && (path === undefined || e.path === path));
  };
  code(() => runBacktest({ ...base, exchange_kwargs: { deal_price: 'mid' } }), 'BACKTEST_CONFIG', 'exchange_kwargs.deal_price');
  code(() => runBacktest({ ...base, exchange_kwargs: { open_cost: -1 } }), 'BACKTEST_CONFIG', 'exchange_kwargs.open_cost');
  code(() => runBacktest({ ...base, exchange_kwargs: { trade_unit: 0 } }), 'BACKTEST_CONFIG', 'exchange_kwargs.trade_unit');
  code(() => runBacktest({ ...base, strategy: { topk: 0, n_drop: 1 } }), 'BACKTEST_CONFIG', 'strategy.kwargs.topk');
  code(() => runBacktest({ ...base, strategy: { topk: 2, n_drop: 1, method_sell: 'random' as 'bottom' } }), 'BACKTEST_CONFIG', 'strategy.kwargs.method_sell');
  code(() => runBacktest({ ...base, start_time: '2021-01-01', end_time: '2021-02-01' }), 'RECORD_EMPTY');
  code(() => runBacktest({ ...base, start_time: '2020/01/06' }), 'BACKTEST_CONFIG', 'backtest.start_time');
  code(() => runBacktest({ ...base, account: 0 }), 'BACKTEST_CONFIG', 'backtest.account');
});
