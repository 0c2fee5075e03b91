/** Task collecting (qlib's collect.py, model/ens): collectors, groups, ensembles. See docs/collect.md. */
export { CollectError } from './errors.ts';
export { KeyedDict, keyId, isTupleKey, isKeyedDict } from './keyed.ts';
export type { Key, KeyPart } from './keyed.ts';
export { Collector, MergeCollector, RecorderCollector, defaultRecKey, ART_KEY_RAW } from './collector.ts';
export type { Processor, CollectorOptions, MergeCollectorOptions, RecorderCollectorOptions, RecKeyFunc, RecFilterFunc, CollectOverrides, CollectStats } from './collector.ts';
export { Group, RollingGroup } from './group.ts';
export type { GroupFunc, GroupOptions } from './group.ts';
export { Ensemble, SingleKeyEnsemble, RollingEnsemble, AverageEnsemble, flattenKeyed, runEnsemble } from './ensemble.ts';
export type { EnsembleLike } from './ensemble.ts';
export { recorderFilterFromQuery } from './filter.ts';
