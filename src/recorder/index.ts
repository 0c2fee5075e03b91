/** Experiment recorder (qlib's `R`) over MLflow's file-store layout. See docs/recorder.md. */
export { RecorderError } from './errors.ts';
export { ExperimentStore, QLIB_DEFAULT_EXPERIMENT_NAME } from './store.ts';
export type {
  ExperimentStoreOptions,
  ExperimentInfo,
  ExperimentRef,
  ExperimentListing,
  RecorderListing,
  ListRecordersOptions,
  StartOptions,
  GetRecorderOptions,
  RecorderFilter,
} from './store.ts';
export { Recorder, RUN_NAME_TAG, END_REASON_TAG } from './recorder.ts';
export type { RecorderInfo, MetricPoint, SaveObjectsOptions } from './recorder.ts';
export { R, getStore } from './R.ts';
export type { RStartOptions } from './R.ts';
export { resolveMlrunsUri, MLRUNS_ENV } from './uri.ts';
export type { MlrunsConfig, ResolveMlrunsOptions } from './uri.ts';
export { RUN_STATUS_CODES, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME } from './runMeta.ts';
export type { RunStatus, LifecycleStage, Heartbeat } from './runMeta.ts';
export { encodeArtifact, panelToCsv, tableToCsv, csvToObject, isPanel, isColumnTable } from './artifacts.ts';
export type { ArtifactValue, LoadedArtifact, ColumnTable } from './artifacts.ts';
export { pythonFloatRepr, pythonStr } from './pyFormat.ts';
export type { LoggableValue } from './pyFormat.ts';
export { setHeartbeatInterval } from './activeRuns.ts';
