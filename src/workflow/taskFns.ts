/**
 * `qtask:taskTrain`, `qtask:beginTaskTrain`, `qtask:endTaskTrain`: the training functions as task
 * functions for `qtask worker --task-fn …`. Everything that is not the task comes from the LOCAL
 * side (qtask.config.yaml / environment): the data directory (`providerUri`, $QTASK_PROVIDER_URI),
 * mlruns (`mlruns`, $QTASK_MLRUNS), the experiment (`experimentName`, $QTASK_EXPERIMENT, default
 * `workflow`) and `allowModules`. The result stored in the pool is a RecorderRef (plain JSON).
 */
import type { JsonValue } from '../task/types.ts';
import type { TaskContext, TaskFn } from '../run/types.ts';
import { WorkflowError } from './errors.ts';
import { loadLocalConfig } from './localConfig.ts';
import { beginTaskTrain, endTaskTrain, taskTrain } from './taskTrain.ts';
import type { RecorderRef, TaskTrainOptions } from './taskTrain.ts';

/** Recorder tag holding the task's id in the pool (qlib's TrainerRM `TM_ID`). */
export const TM_ID = '_id in TaskManager';

function localOptions(ctx: TaskContext): TaskTrainOptions {
  const local = loadLocalConfig();
  return {
    experimentName: local.experimentName ?? 'workflow',
    ...(local.mlruns !== undefined ? { mlruns: local.mlruns } : {}),
    ...(local.providerUri !== undefined ? { provider: local.providerUri } : {}),
    allowModules: local.allowModules,
    tags: { [TM_ID]: ctx.taskId },
    signal: ctx.signal,
  };
}

/** Checks that a stored result is a RecorderRef (never deserialises anything else). */
export function asRecorderRef(v: unknown, path = 'res'): RecorderRef {
  const o = v as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object' || Array.isArray(o) || !['experimentId', 'experimentName', 'recorderId', 'mlruns'].every((k) => typeof o[k] === 'string')) {
    throw new WorkflowError('TRAINER', 'the stored result is not a recorder reference', { path, hint: 'expected {experimentId, experimentName, recorderId, mlruns} as written by qtask:taskTrain / qtask:beginTaskTrain' });
  }
  return { experimentId: o['experimentId'] as string, experimentName: o['experimentName'] as string, recorderId: o['recorderId'] as string, mlruns: o['mlruns'] as string };
}

export const taskTrainTaskFn: TaskFn = async (param: JsonValue, ctx: TaskContext) => (await taskTrain(param, localOptions(ctx))) as unknown as JsonValue;

export const beginTaskTrainTaskFn: TaskFn = async (param: JsonValue, ctx: TaskContext) => (await beginTaskTrain(param, localOptions(ctx))) as unknown as JsonValue;

/** Gets a part_done task's `res` (the begun recorder's reference) and trains in that recorder. */
export const endTaskTrainTaskFn: TaskFn = async (param: JsonValue, ctx: TaskContext) => {
  const { experimentName: _e, tags: _t, ...opts } = localOptions(ctx);
  return (await endTaskTrain(asRecorderRef(param), opts)) as unknown as JsonValue;
};
