import { ValidationError } from '../errors.ts';
import { isTaskStatus, TASK_STATUSES } from '../task/types.ts';
import type { TaskStatus } from '../task/types.ts';
import type { Lease } from './types.ts';

/** Throws ValidationError (path `status` unless given) for anything that is not a task status. */
export function assertStatus(status: unknown, path = 'status'): asserts status is TaskStatus {
  if (!isTaskStatus(status)) {
    throw new ValidationError([{ path, message: `unknown status ${JSON.stringify(status)}` }], {
      hint: `use one of ${TASK_STATUSES.join(', ')}`,
    });
  }
}

/** Statuses a task may be moved to by a write that is not a claim: everything but `running`. */
export function assertSettableStatus(status: unknown, path = 'status'): asserts status is TaskStatus {
  assertStatus(status, path);
  if (status === 'running') {
    throw new ValidationError([{ path, message: 'a task becomes running only by being claimed' }], {
      hint: 'claim it (fetchTask / run), or set waiting to make it claimable',
    });
  }
}

export function assertPositiveMs(value: unknown, path: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError([{ path, message: `must be a positive number of milliseconds, got ${JSON.stringify(value)}` }]);
  }
}

export function assertPositiveInt(value: unknown, path: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError([{ path, message: `must be a positive integer, got ${JSON.stringify(value)}` }]);
  }
}

export function assertLease(lease: unknown): asserts lease is Lease {
  const l = lease as Partial<Lease> | null;
  if (typeof l !== 'object' || l === null || typeof l.taskId !== 'string' || typeof l.token !== 'string') {
    throw new ValidationError([{ path: 'lease', message: 'expected the lease returned by claim ({taskId, token, …})' }]);
  }
}
