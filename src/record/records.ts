/**
 * qlib's record templates (qlib/workflow/record_temp.py): SignalRecord writes the prediction and the
 * raw label; SigAnaRecord and PortAnaRecord read them back from the same recorder and log metrics
 * and artifacts. Artifacts are CSV/JSON (never pickles): `pred.csv`, `label.csv`,
 * `sig_analysis/ic.csv`, `portfolio_analysis/report_normal_1day.csv`, ….
 */
import type { FieldSource, Panel } from '../data/types.ts';
import type { ModelDataset } from '../model/types.ts';
import type { JsonValue } from '../task/types.ts';
import { QtaskError } from '../errors.ts';
import { alignPredLabel } from './align.ts';
import { runBacktest, signalFromPanel } from './backtest/backtest.ts';
import type { BacktestResult, ReportRow } from './backtest/backtest.ts';
import { resolveExchangeOptions } from './backtest/exchange.ts';
import type { ExchangeOptions } from './backtest/exchange.ts';
import { TopkDropoutStrategy } from './backtest/topkDropout.ts';
import type { TopkDropoutOptions } from './backtest/topkDropout.ts';
import { RecordError } from './errors.ts';
import { calcIc, summarizeIc } from './metrics/ic.ts';
import { annualize, calcLongShortReturn } from './metrics/longShort.ts';
import { parseFreq, riskAnalysis } from './metrics/risk.ts';
import type { RiskMetrics } from './metrics/risk.ts';
import type { RecordSink } from './sink.ts';

/** A record class, for `dependsOn`. */
export interface RecordClass {
  readonly artifactPath: string;
  /** Artifact names (without extension) the record writes under its artifact path. */
  readonly artifactNames: readonly string[];
  readonly name: string;
}

const stripExt = (p: string): string => p.replace(/\.(csv|json)$/, '');

/**
 * qlib's `RecordTemp`: an artifact path, a dependency (`depend_cls`), `load` that falls back to the
 * dependency's path, and `check` that the dependency's artifacts exist.
 */
export abstract class RecordTemp {
  static readonly artifactPath: string = '';
  static readonly artifactNames: readonly string[] = [];
  /** qlib's `depend_cls`: the record whose artifacts this one reads. */
  static readonly dependsOn: RecordClass | null = null;

  constructor(readonly recorder: RecordSink) {}

  get artifactPath(): string {
    return (this.constructor as typeof RecordTemp).artifactPath;
  }

  protected path(name: string): string {
    return this.artifactPath ? `${this.artifactPath}/${name}` : name;
  }

  /** Saves under this record's artifact path. */
  save(objects: Record<string, Parameters<RecordSink['saveObjects']>[0][string]>): string[] {
    return this.recorder.saveObjects(objects, this.artifactPath ? { artifactPath: this.artifactPath } : {});
  }

  /** Loads `name` from this record's path, then from the dependency's (qlib's `parents=True`). */
  load(name: string): ReturnType<RecordSink['loadObject']> {
    const dep = (this.constructor as typeof RecordTemp).dependsOn;
    const paths = [this.path(name)];
    if (dep) paths.push(dep.artifactPath ? `${dep.artifactPath}/${name}` : name);
    let first: unknown;
    for (const p of paths) {
      try {
        return this.recorder.loadObject(p);
      } catch (e) {
        if (!(e instanceof QtaskError && e.code === 'ARTIFACT_NOT_FOUND')) throw e;
        first ??= e;
      }
    }
    throw new RecordError('RECORD_DEPENDENCY', `artifact ${name} not found in the recorder`, {
      path: paths.join(' | '),
      hint: dep ? `run ${dep.name} first in the same recorder` : 'generate this record first',
      cause: first,
    });
  }

  /** Artifact names (without extension) this record writes. */
  list(): string[] {
    return (this.constructor as typeof RecordTemp).artifactNames.map((n) => this.path(n));
  }

  /** qlib's `check(include_self, parents)`: throws `RECORD_DEPENDENCY` naming the missing artifacts. */
  check(includeSelf = false): void {
    const dep = (this.constructor as typeof RecordTemp).dependsOn;
    const need: string[] = [];
    if (includeSelf) need.push(...this.list());
    if (dep) need.push(...dep.artifactNames.map((n) => (dep.artifactPath ? `${dep.artifactPath}/${n}` : n)));
    const have = new Set(this.recorder.listArtifacts().map(stripExt));
    const missing = need.filter((n) => !have.has(n));
    if (missing.length) {
      throw new RecordError('RECORD_DEPENDENCY', `${this.constructor.name} needs ${missing.join(', ')}, which the recorder does not have`, {
        path: missing[0]!,
        hint: dep ? `run ${dep.name} first in the same recorder` : 'generate the record first',
      });
    }
  }

  abstract generate(): unknown;
}

/** A model as SignalRecord uses it (qtask's `Model` satisfies it). */
export interface PredictingModel {
  predict(dataset: ModelDataset, segment?: string): Panel;
}

/**
 * qlib's SignalRecord: `pred` = model.predict(dataset, 'test') (column `score`), `label` = the raw
 * label over the test segment (`prepare('test', col_set='label', data_key=raw)`), both at the artifact root.
 */
export class SignalRecord extends RecordTemp {
  static override readonly artifactPath = '';
  static override readonly artifactNames = ['pred', 'label'];

  constructor(readonly model: PredictingModel, readonly dataset: ModelDataset, recorder: RecordSink) {
    super(recorder);
  }

  generate(): { pred: Panel; label: Panel } {
    const raw = this.model.predict(this.dataset, 'test');
    if (raw.dates.length === 0) throw new RecordError('RECORD_EMPTY', 'the model predicted no rows for the test segment', { path: 'dataset.segments.test', hint: 'check that the test segment covers dates with data' });
    const c = raw.columns.indexOf('score');
    const pred: Panel = { dates: raw.dates, instruments: raw.instruments, columns: ['score'], groups: ['score'], values: [raw.values[c >= 0 ? c : 0]!] };
    const label = this.dataset.prepare('test', { colSet: 'label', dataKey: 'raw' });
    this.save({ pred, label });
    return { pred, label };
  }
}

export interface SigAnaOptions {
  /** Also compute the long-short returns. Default false. */
  ana_long_short?: boolean;
  /** Annualisation scaler of the long-short metrics. Default 252. */
  ann_scaler?: number;
  /** Label column (position, or name). Default 0. */
  label_col?: number | string;
}

/**
 * qlib's SigAnaRecord: logs `IC`, `ICIR`, `Rank IC`, `Rank ICIR` (and, with `ana_long_short`,
 * `Long-Short Ann Return`, `Long-Short Ann Sharpe`, `Long-Avg Ann Return`, `Long-Avg Ann Sharpe`),
 * and saves `sig_analysis/ic`, `ric` (and `long_short_r`, `long_avg_r`) as `datetime,<name>` CSVs.
 */
export class SigAnaRecord extends RecordTemp {
  static override readonly artifactPath = 'sig_analysis';
  static override readonly artifactNames = ['ic', 'ric'];
  static override readonly dependsOn = SignalRecord;
  readonly options: Required<SigAnaOptions>;

  constructor(recorder: RecordSink, options: SigAnaOptions = {}) {
    super(recorder);
    const annScaler = options.ann_scaler ?? 252;
    if (typeof annScaler !== 'number' || !(annScaler > 0)) throw new RecordError('RECORD_INPUT', `ann_scaler must be a positive number, got ${JSON.stringify(annScaler)}`, { path: 'ann_scaler', hint: 'default 252' });
    this.options = { ana_long_short: options.ana_long_short ?? false, ann_scaler: annScaler, label_col: options.label_col ?? 0 };
  }

  generate(): Record<string, number> {
    this.check();
    const a = alignPredLabel(this.load('pred'), this.load('label'), this.options.label_col);
    const ic = calcIc(a.pred, a.label, a.dates);
    const metrics: Record<string, number> = { ...summarizeIc(ic) };
    const objects: Record<string, { datetime: string[] } & Record<string, Float64Array | string[]>> = {
      ic: { datetime: ic.dates, ic: ic.ic },
      ric: { datetime: ic.dates, ric: ic.ric },
    };
    if (this.options.ana_long_short) {
      const ls = calcLongShortReturn(a.pred, a.label, a.dates);
      const lsAnn = annualize(ls.longShort, this.options.ann_scaler);
      const avgAnn = annualize(ls.longAvg, this.options.ann_scaler);
      metrics['Long-Short Ann Return'] = lsAnn.return;
      metrics['Long-Short Ann Sharpe'] = lsAnn.sharpe;
      metrics['Long-Avg Ann Return'] = avgAnn.return;
      metrics['Long-Avg Ann Sharpe'] = avgAnn.sharpe;
      objects.long_short_r = { datetime: ls.dates, long_short_r: ls.longShort };
      objects.long_avg_r = { datetime: ls.dates, long_avg_r: ls.longAvg };
    }
    this.recorder.logMetrics(metrics);
    this.save(objects);
    return metrics;
  }
}

/** qlib's `{class, module_path, kwargs}` strategy config. */
export interface StrategyConfig {
  class?: string;
  module_path?: string;
  kwargs: TopkDropoutOptions & { signal?: JsonValue };
}

export interface PortAnaConfig {
  strategy?: StrategyConfig;
  backtest?: {
    /** Default: the first prediction date. */
    start_time?: string | null;
    /** Default: the trading day before the last prediction date (qlib's shift). */
    end_time?: string | null;
    /** Default 1e8. */
    account?: number;
    /** Default `SH000300`; see BacktestOptions.benchmark. */
    benchmark?: string | string[] | null;
    exchange_kwargs?: ExchangeOptions;
  };
  /** Only qlib's default `SimulatorExecutor` with `time_per_step: day` is supported. */
  executor?: { class?: string; module_path?: string; kwargs?: { time_per_step?: string; generate_portfolio_metrics?: boolean; verbose?: boolean } };
}

export interface PortAnaOptions {
  /** Backtest config; defaults as qlib's PortAnaRecord: TopkDropout topk 50 / n_drop 5, costs 0.0005/0.0015/5, limit 0.095, close. */
  config?: PortAnaConfig;
  /** Risk analysis frequency (or list); only day frequencies. Default `1day`. */
  risk_analysis_freq?: string | string[] | null;
  /** Price data for the backtest (the LocalProvider). Required. */
  source: FieldSource;
}

export const DEFAULT_PORT_ANA_CONFIG: PortAnaConfig = Object.freeze({
  strategy: { class: 'TopkDropoutStrategy', module_path: 'qlib.contrib.strategy', kwargs: { signal: '<PRED>', topk: 50, n_drop: 5 } },
  backtest: {
    start_time: null,
    end_time: null,
    account: 100000000,
    benchmark: 'SH000300',
    exchange_kwargs: { limit_threshold: 0.095, deal_price: 'close', open_cost: 0.0005, close_cost: 0.0015, min_cost: 5 },
  },
}) as PortAnaConfig;

export interface PortAnaResult {
  backtest: BacktestResult;
  analysis: { excess_return_without_cost: RiskMetrics; excess_return_with_cost: RiskMetrics };
  metrics: Record<string, number>;
}

function reportTable(rows: readonly ReportRow[]): Record<string, Float64Array | string[]> {
  const cols = ['account', 'return', 'total_turnover', 'turnover', 'total_cost', 'cost', 'value', 'cash', 'bench'] as const;
  const t: Record<string, Float64Array | string[]> = { datetime: rows.map((r) => r.date) };
  for (const c of cols) t[c] = Float64Array.from(rows, (r) => r[c]);
  return t;
}

/**
 * qlib's PortAnaRecord: runs the TopkDropout backtest on `pred`, saves
 * `portfolio_analysis/report_normal_1day`, `positions_normal_1day`, `trades_1day`, `port_analysis_1day`,
 * and logs `1day.excess_return_without_cost.{mean,std,annualized_return,information_ratio,max_drawdown}`
 * and the `…with_cost…` ones (excess = return − bench [− cost]; risk_analysis with N = 238).
 */
export class PortAnaRecord extends RecordTemp {
  static override readonly artifactPath = 'portfolio_analysis';
  static override readonly artifactNames = ['report_normal_1day', 'positions_normal_1day', 'port_analysis_1day'];
  static override readonly dependsOn = SignalRecord;
  readonly config: PortAnaConfig;
  readonly freqs: string[];
  readonly source: FieldSource;

  constructor(recorder: RecordSink, options: PortAnaOptions) {
    super(recorder);
    if (!options || !options.source) throw new RecordError('RECORD_INPUT', 'PortAnaRecord needs the price source', { path: 'source', hint: 'pass {source: provider} (a LocalProvider or MemorySource)' });
    this.source = options.source;
    const cfg = options.config ?? DEFAULT_PORT_ANA_CONFIG;
    const strategy = cfg.strategy ?? DEFAULT_PORT_ANA_CONFIG.strategy!;
    if (strategy.class !== undefined && strategy.class !== 'TopkDropoutStrategy') {
      throw new RecordError('BACKTEST_CONFIG', `strategy ${JSON.stringify(strategy.class)} is not supported`, { path: 'config.strategy.class', hint: 'qtask implements TopkDropoutStrategy only' });
    }
    const ex = cfg.executor;
    if (ex && ((ex.class !== undefined && ex.class !== 'SimulatorExecutor') || (ex.kwargs?.time_per_step !== undefined && ex.kwargs.time_per_step !== 'day'))) {
      throw new RecordError('BACKTEST_CONFIG', 'only SimulatorExecutor with time_per_step: day is supported', { path: 'config.executor', hint: 'remove the executor entry or use qlib\'s default' });
    }
    this.config = { ...cfg, strategy, backtest: { ...DEFAULT_PORT_ANA_CONFIG.backtest, ...(cfg.backtest ?? {}) } };
    // Validate the strategy and exchange options now, so a bad config fails before any work.
    if (strategy.kwargs === null || typeof strategy.kwargs !== 'object') {
      throw new RecordError('BACKTEST_CONFIG', 'the strategy needs kwargs', { path: 'config.strategy.kwargs', hint: '{signal: <PRED>, topk: 50, n_drop: 5}' });
    }
    const { signal: _signal, ...strategyKwargs } = strategy.kwargs;
    new TopkDropoutStrategy(strategyKwargs, 'config.strategy.kwargs');
    resolveExchangeOptions(this.config.backtest!.exchange_kwargs ?? {}, 'config.backtest.exchange_kwargs');
    const f = options.risk_analysis_freq ?? '1day';
    this.freqs = (Array.isArray(f) ? f : [f]).map((x) => {
      const [count, unit] = parseFreq(x);
      if (unit !== 'day' || count !== 1) throw new RecordError('BACKTEST_CONFIG', `risk_analysis_freq ${JSON.stringify(x)} is not supported`, { path: 'risk_analysis_freq', hint: 'the backtest is daily: use day / 1day' });
      return '1day';
    });
  }

  generate(): PortAnaResult {
    this.check();
    const predObj = this.load('pred');
    const pred = predObj as Panel;
    const signal = signalFromPanel(pred);
    const bt = this.config.backtest!;
    const predDates = [...signal.keys()].sort();
    if (predDates.length === 0) throw new RecordError('RECORD_EMPTY', 'the prediction is empty', { path: 'pred', hint: 'SignalRecord wrote no rows' });
    const calendar = this.source.calendarDays();
    let end = bt.end_time ?? null;
    if (end === null) {
      // qlib: end = the trading day before the last prediction date.
      const last = predDates[predDates.length - 1]!;
      const i = calendar.indexOf(last);
      end = i > 0 ? calendar[i - 1]! : last;
    }
    const { signal: _signal, ...strategyKwargs } = this.config.strategy!.kwargs;
    const result = runBacktest({
      source: this.source,
      signal,
      start_time: bt.start_time ?? predDates[0]!,
      end_time: end,
      strategy: strategyKwargs,
      ...(bt.account !== undefined ? { account: bt.account } : {}),
      ...(bt.benchmark !== undefined ? { benchmark: bt.benchmark } : {}),
      ...(bt.exchange_kwargs !== undefined ? { exchange_kwargs: bt.exchange_kwargs } : {}),
    });
    const r = result.report;
    const without = Float64Array.from(r, (x) => x.return - x.bench);
    const withCost = Float64Array.from(r, (x) => x.return - x.bench - x.cost);
    const analysis = { excess_return_without_cost: riskAnalysis(without, { freq: 'day' }), excess_return_with_cost: riskAnalysis(withCost, { freq: 'day' }) };
    const metrics: Record<string, number> = {};
    const keys: (keyof RiskMetrics)[] = ['mean', 'std', 'annualized_return', 'information_ratio', 'max_drawdown'];
    for (const freq of this.freqs) {
      for (const [group, m] of Object.entries(analysis)) for (const k of keys) metrics[`${freq}.${group}.${k}`] = m[k];
    }
    const analysisTable = {
      group: Object.keys(analysis).flatMap((g) => keys.map(() => g)),
      metric: Object.keys(analysis).flatMap(() => keys.map((k) => String(k))),
      risk: Float64Array.from(Object.values(analysis).flatMap((m) => keys.map((k) => m[k]))),
    };
    this.recorder.logMetrics(metrics);
    this.save({
      report_normal_1day: reportTable(r),
      positions_normal_1day: result.positions as unknown as JsonValue,
      trades_1day: result.trades.map((d) => ({ date: d.date, trades: d.trades.map((t) => ({ ...t, price: Number.isNaN(t.price) ? null : t.price })) })) as unknown as JsonValue,
      port_analysis_1day: analysisTable,
    });
    return { backtest: result, analysis, metrics };
  }
}
