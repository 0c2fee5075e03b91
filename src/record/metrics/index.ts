export { calcIc, summarizeIc } from './ic.ts';
export type { IcSeries, IcSummary } from './ic.ts';
export { calcLongShortReturn, annualize } from './longShort.ts';
export type { LongShortSeries } from './longShort.ts';
export { riskAnalysis, riskScaler, parseFreq } from './risk.ts';
export type { RiskMetrics, RiskOptions } from './risk.ts';
export { nanMean, nanStd, pearson, spearman, averageRanks } from './stats.ts';
