import { QtaskError, toError } from '../errors.ts';
import type { SerializedError } from './childProtocol.ts';

/** Code recorded for an error thrown by a task function that carries none. */
export const TASK_THREW = 'TASK_THREW';

/** Anything thrown → a plain record: stable code (QtaskError's, Node's `ENOENT`-style, else TASK_THREW). */
export function serializeError(thrown: unknown): SerializedError {
  const e = toError(thrown);
  const raw = e as Error & { code?: unknown; nonRetryable?: unknown; path?: unknown; hint?: unknown };
  const code = typeof raw.code === 'string' && raw.code ? raw.code : TASK_THREW;
  return {
    name: e.name,
    message: e.message || e.name,
    code,
    nonRetryable: raw.nonRetryable === true,
    ...(typeof raw.path === 'string' ? { path: raw.path } : {}),
    ...(typeof raw.hint === 'string' ? { hint: raw.hint } : {}),
  };
}

/** An error that came back from a child process, rebuilt with its code and flags. */
export class RemoteTaskError extends QtaskError {
  override readonly nonRetryable: boolean;
  readonly remoteName: string;
  constructor(info: SerializedError) {
    super(info.code, info.message, {
      ...(info.path !== undefined ? { path: info.path } : {}),
      ...(info.hint !== undefined ? { hint: info.hint } : {}),
    });
    this.nonRetryable = info.nonRetryable;
    this.remoteName = info.name;
  }
}
