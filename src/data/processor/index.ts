export type { Processor } from './types.ts';
export { CSZFillna, DropCol, DropnaLabel, DropnaProcessor, FilterCol, Fillna, ProcessInf } from './basic.ts';
export { CSRankNorm, CSZScoreNorm, MinMaxNorm, RobustZScoreNorm, ZScoreNorm } from './normalize.ts';
export { buildProcessor, buildProcessors, FIT_WINDOW_PROCESSORS, isProcessor, type ProcessorSpec, type FitWindowDefaults } from './build.ts';
export * from './panel.ts';
