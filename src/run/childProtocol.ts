import type { JsonValue } from '../task/types.ts';

/** Messages between `runTask` (parent) and `childRunner.ts` over the fork IPC channel (JSON). */
export type ParentMessage =
  | { type: 'run'; module: string; export: string; param: JsonValue; taskId: string; attempt: number; worker: string }
  | { type: 'abort'; reason: SerializedError };

export type ChildMessage =
  | { type: 'log'; msg: string }
  | { type: 'result'; res: JsonValue }
  | { type: 'error'; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  code: string;
  nonRetryable: boolean;
  path?: string;
  hint?: string;
}
