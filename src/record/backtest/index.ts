export { runBacktest, signalFromPanel } from './backtest.ts';
export type { BacktestOptions, BacktestResult, ReportRow, PositionSnapshot, Signal } from './backtest.ts';
export { Exchange, resolveExchangeOptions } from './exchange.ts';
export type { ExchangeOptions, ResolvedExchangeOptions, Trade, Direction } from './exchange.ts';
export { Position } from './position.ts';
export type { Holding } from './position.ts';
export { TopkDropoutStrategy } from './topkDropout.ts';
export type { TopkDropoutOptions, Order } from './topkDropout.ts';
