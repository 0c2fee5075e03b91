/** Workflow: class resolution, taskTrain, trainers, `qtask run`. See docs/workflow.md. */
export { WorkflowError } from './errors.ts';
export { loadLocalConfig, CONFIG_ENV, PROVIDER_ENV, EXPERIMENT_ENV } from './localConfig.ts';
export type { LocalConfig } from './localConfig.ts';
export { resolveModel, resolveDataset, resolveRecord, registerModelClass, registerRecordClass, importAllowedClass, isLocalModulePath } from './resolve.ts';
export type { ResolveOptions, RecordFactory, GeneratingRecord } from './resolve.ts';
export { taskTrain, beginTaskTrain, endTaskTrain, providerFrom, STATUS_KEY, STATUS_BEGIN, STATUS_END } from './taskTrain.ts';
export type { TaskTrainOptions, RecorderRef, TrainStage } from './taskTrain.ts';
export { taskTrainTaskFn, beginTaskTrainTaskFn, endTaskTrainTaskFn, asRecorderRef, TM_ID } from './taskFns.ts';
export { Trainer, TrainerR, DelayTrainerR, TrainerRM, DelayTrainerRM } from './trainer.ts';
export type { TrainerOptions, TrainerRMOptions } from './trainer.ts';
export { parseWorkflowConfig, runWorkflow, runWorkflowFile } from './qrun.ts';
export type { WorkflowConfig, RunWorkflowOptions, WorkflowResult } from './qrun.ts';
export { fillPathPlaceholders, flattenParams } from './placeholders.ts';
