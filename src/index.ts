/** qtask public API. */
export * from './errors.ts';
export * from './task/types.ts';
export * from './task/canonical.ts';
export type * from './store/types.ts';
// Task definitions and generation (src/task/definition.ts, src/task/load.ts, src/generate/).
export {
  validateTaskDef,
  findNonJson,
  getSegments,
  getSegment,
  setSegments,
  requireSegments,
  getDatasetKwargs,
  getHandler,
  getHandlerKwargs,
  getModel,
  getRecords,
  cloneTaskDef,
  HANDLER_DATE_KWARGS,
} from './task/definition.ts';
export type { Segments, ValidateOptions } from './task/definition.ts';
export { loadTaskDefs, loadTaskDefsFile, TaskFileError } from './task/load.ts';
export type { LoadOptions, TaskFileFormat } from './task/load.ts';
export { Calendar } from './generate/calendar.ts';
export { normalizeDay } from './generate/dates.ts';
export { TimeAdjuster } from './generate/timeAdjuster.ts';
export type { AlignType, ShiftType, SegmentTree, CalendarLoader } from './generate/timeAdjuster.ts';
export { taskGenerator, handlerMod, truncSegments } from './generate/taskGen.ts';
export type { TaskGen, TaskGenLike, RollingContext } from './generate/taskGen.ts';
export { RollingGen } from './generate/rollingGen.ts';
export type { RollingGenOptions, RollType, DsExtraModFunc } from './generate/rollingGen.ts';
export { MultiHorizonGen, setHandlerLabel, horizonLabel } from './generate/multiHorizonGen.ts';
export type { MultiHorizonGenOptions, SetHorizon } from './generate/multiHorizonGen.ts';
export { parseStep, nextBoundary } from './generate/step.ts';
export type { Step, StepUnit } from './generate/step.ts';
// Task storing (src/store/): stores, URL opening, TaskManager, filters.
export { openStore, redactUrl, DEFAULT_STORE_URL } from './store/url.ts';
export { SqliteTaskStore } from './store/sqlite.ts';
export { TaskManager, WaitTimeoutError } from './store/taskManager.ts';
export type { FetchedTask, TaskManagerOptions, FetchOptions, WaitOptions } from './store/taskManager.ts';
export { parseFilter, matchesFilter, compileMatcher, SUPPORTED_OPERATORS } from './store/filter/index.ts';
export type { Condition, FieldOp } from './store/filter/index.ts';
export { assertJsonValue } from './store/jsonCheck.ts';
export { assertPoolName } from './store/pool.ts';
export { newTaskId, isTaskId } from './store/ids.ts';
export * from './data/provider/index.ts';
export * from './data/import/index.ts';
export * from './data/synth/index.ts';
// Expression engine (src/data/expr/): qlib expression parser, evaluator, cache; in-memory FieldSource.
export * from './data/expr/index.ts';
export { MemorySource } from './data/memorySource.ts';
export type { MemorySeries } from './data/memorySource.ts';
// Task running (src/run/): runTask, the worker loop, task-function loading.
export { runTask, validateRunOptions, defaultWorkerId, WorkerShutdownError } from './run/runTask.ts';
export { runWorker, formatSummary } from './run/worker.ts';
export type { WorkerOptions, WorkerResult } from './run/worker.ts';
export { loadTaskFunction, parseTaskFnSpec, formatTaskFnSpec, resolveTaskFnModule } from './run/taskFunction.ts';
export { registerBuiltinTaskFn, builtinTaskFnNames, echoTaskFn, sleepTaskFn, BUILTIN_PREFIX } from './run/builtinTaskFns.ts';
export { assertJsonResult } from './run/jsonResult.ts';
export { emptyStats } from './run/types.ts';
export type { TaskContext, TaskFn, TaskFnSpec, TaskOutcome, RunEvent, RunStats, RunTaskOptions, RunLogger } from './run/types.ts';
// Experiment recorder (src/recorder/): qlib's R over MLflow's file-store layout.
export * from './recorder/index.ts';
// Models (src/model/): LinearModel (Gram kernel, OpenBLAS via koffi), XGBModel (libxgboost via koffi), registry.
export * from './model/index.ts';
// Records (src/record/): SignalRecord, SigAnaRecord, PortAnaRecord; IC and risk metrics; TopkDropout backtest.
export * from './record/index.ts';
// Online serving (src/online/): OnlineManager, RollingStrategy, OnlineToolR, PredUpdater/LabelUpdater.
export * from './online/index.ts';
// Task collecting (src/collect/): collectors, RollingGroup, Rolling/Average ensembles.
export * from './collect/index.ts';
// Workflow (src/workflow/): class resolution, taskTrain, trainers, qtask run.
export * from './workflow/index.ts';
// Data handlers, processors and datasets (src/data/handler, processor, dataset): Alpha158/Alpha360, DataHandlerLP, DatasetH.
export * from './data/handler/index.ts';
export type { Processor as DataProcessor } from './data/processor/index.ts';
export { CSZFillna, DropCol, DropnaLabel, DropnaProcessor, FilterCol, Fillna, ProcessInf } from './data/processor/index.ts';
export { CSRankNorm, CSZScoreNorm, MinMaxNorm, RobustZScoreNorm, ZScoreNorm } from './data/processor/index.ts';
export { buildProcessor, buildProcessors, FIT_WINDOW_PROCESSORS, isProcessor } from './data/processor/index.ts';
export type { ProcessorSpec, FitWindowDefaults } from './data/processor/index.ts';
export * from './data/processor/panel.ts';
export { DatasetH, createDataset, parseSegments } from './data/dataset/index.ts';
export type { Segment as DatasetSegment, PrepareOptions } from './data/dataset/index.ts';
export * from './data/registry.ts';
export type * from './data/types.ts';
