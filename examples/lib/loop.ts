/** The collect and backtest stages of the research loop, shared by the demo and the examples. */
import { Collector, RecorderCollector, RollingGroup } from '../../src/collect/index.ts';
import type { Key, RecFilterFunc } from '../../src/collect/index.ts';
import type { KeyedDict } from '../../src/collect/index.ts';
import type { FieldSource, Panel } from '../../src/data/types.ts';
import { alignPredLabel, calcIc, DEFAULT_PORT_ANA_CONFIG, riskAnalysis, runBacktest, signalFromPanel, summarizeIc } from '../../src/record/index.ts';
import type { IcSummary, RiskMetrics, TopkDropoutOptions } from '../../src/record/index.ts';
import type { Seg } from './report.ts';

export function icOf(pred: Panel, label: Panel): IcSummary {
  const a = alignPredLabel(pred, label);
  return summarizeIc(calcIc(a.pred, a.label, a.dates));
}

export interface RollingWindow {
  key: Key;
  test: Seg;
  rows: number;
  pred: Panel;
  ic: IcSummary;
}

export interface RollingGroupResult {
  /** Group key (the model class, as a one-element tuple). */
  key: Key;
  merged: Panel;
  mergedLabel: Panel;
  ic: IcSummary;
  dates: number;
  firstDate: string;
  lastDate: string;
}

export interface CollectedRolling extends RollingGroupResult {
  /** Every collected window, by test start. */
  windows: RollingWindow[];
  /** Every group (model) when there are several; the fields above are the first one's. */
  groups: RollingGroupResult[];
}

/**
 * qlib's rolling collection: RecorderCollector over `experiment` with `pred` and `label` artifacts
 * keyed by (model class, test segment), then RollingGroup (RollingEnsemble per model). The windows
 * before the merge are kept too, for per-window IC and checks.
 */
export function collectRolling(o: { experiment: string; mlruns: string; recFilterFunc?: RecFilterFunc }): CollectedRolling {
  const collector = new RecorderCollector({
    experiment: o.experiment,
    store: o.mlruns,
    artifactsPath: { pred: 'pred', label: 'label' },
    processList: [new RollingGroup()],
    ...(o.recFilterFunc ? { recFilterFunc: o.recFilterFunc } : {}),
  });
  const raw = collector.collect();
  const merged = Collector.processCollect(raw, collector.processList);
  const rawPred = raw.get('pred') as KeyedDict<Panel>;
  const rawLabel = raw.get('label') as KeyedDict<Panel>;
  const windows = rawPred
    .entries()
    .map(([key, pred]) => {
      const test = (Array.isArray(key) ? key[key.length - 1] : key) as unknown as Seg;
      return { key, test, rows: pred.dates.length, pred, ic: icOf(pred, rawLabel.get(key)!) };
    })
    .sort((a, b) => String(a.test[0]).localeCompare(String(b.test[0])));
  const mergedPred = merged.get('pred') as KeyedDict<Panel>;
  const mergedLabel = merged.get('label') as KeyedDict<Panel>;
  const groups = mergedPred.entries().map(([key, pred]): RollingGroupResult => {
    const label = mergedLabel.get(key)!;
    const dates = [...new Set(pred.dates)];
    return { key, merged: pred, mergedLabel: label, ic: icOf(pred, label), dates: dates.length, firstDate: dates[0] ?? '', lastDate: dates[dates.length - 1] ?? '' };
  });
  return { ...groups[0]!, windows, groups };
}

export interface SignalBacktest {
  start: string;
  end: string;
  benchmarkSize: number;
  withCost: RiskMetrics;
  withoutCost: RiskMetrics;
  days: number;
}

/**
 * TopkDropout on a signal over its own date range (ending, as qlib's PortAnaRecord, the trading day
 * before its last date), with qlib's default exchange settings; the benchmark is the equal-weight
 * mean return of the signal's instruments. Risk analysis of the excess return as qlib's (sum mode, N = 238).
 */
export function backtestSignal(source: FieldSource, pred: Panel, strategy: TopkDropoutOptions): SignalBacktest {
  const signal = signalFromPanel(pred);
  const dates = [...signal.keys()].sort();
  const calendar = source.calendarDays();
  const last = dates[dates.length - 1]!;
  const i = calendar.indexOf(last);
  const end = i > 0 ? calendar[i - 1]! : last;
  const instruments = [...new Set(pred.instruments)].sort();
  const result = runBacktest({
    source,
    signal,
    start_time: dates[0]!,
    end_time: end,
    strategy,
    benchmark: instruments,
    exchange_kwargs: DEFAULT_PORT_ANA_CONFIG.backtest!.exchange_kwargs!,
  });
  const r = result.report;
  return {
    start: dates[0]!,
    end,
    benchmarkSize: instruments.length,
    withoutCost: riskAnalysis(Float64Array.from(r, (x) => x.return - x.bench), { freq: 'day' }),
    withCost: riskAnalysis(Float64Array.from(r, (x) => x.return - x.bench - x.cost), { freq: 'day' }),
    days: r.length,
  };
}
