import { QtaskError } from '../errors.ts';

/**
 * Workflow errors (class resolution, `qtask run` configs, taskTrain, trainers). Codes:
 * `MODULE_NOT_ALLOWED`, `CLASS_UNKNOWN`, `WORKFLOW_CONFIG`, `WORKFLOW_SEGMENT`, `TASK_TRAIN`, `TRAINER`.
 */
export class WorkflowError extends QtaskError {}
