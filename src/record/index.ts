/** Records (qlib's record_temp): signal, signal analysis, portfolio analysis; the metrics and the backtest behind them. See docs/records.md. */
export { RecordError } from './errors.ts';
export type { RecordSink } from './sink.ts';
export { alignPredLabel, predColumn } from './align.ts';
export type { AlignedPredLabel } from './align.ts';
export { RecordTemp, SignalRecord, SigAnaRecord, PortAnaRecord, DEFAULT_PORT_ANA_CONFIG } from './records.ts';
export type { RecordClass, PredictingModel, SigAnaOptions, PortAnaOptions, PortAnaConfig, PortAnaResult, StrategyConfig } from './records.ts';
export * from './metrics/index.ts';
export * from './backtest/index.ts';
export { createRecord, RECORD_CLASSES } from './create.ts';
export type { RecordContext } from './create.ts';
