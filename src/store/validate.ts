import { ValidationError } from '../errors.ts';
import type { ValidationIssue } from '../errors.ts';
import type { TaskDef } from '../task/types.ts';
import { assertJsonValue } from './jsonCheck.ts';
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

/** Checks every definition is a JSON object; reports all problems at once. */
export function validateDefs(defs: unknown, label = 'defs'): asserts defs is TaskDef[] {
  if (!Array.isArray(defs)) throw new ValidationError([{ path: label, message: 'must be a list of task definitions' }]);
  const issues: ValidationIssue[] = [];
  defs.forEach((def, i) => {
    const path = `${label}[${i}]`;
    if (typeof def !== 'object' || def === null || Array.isArray(def)) {
      issues.push({ path, message: 'a task definition must be an object' });
      return;
    }
    try {
      assertJsonValue(def, path);
    } catch (e) {
      issues.push({ path: (e as { path?: string }).path ?? path, message: (e as Error).message });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues, { hint: 'task definitions must be plain JSON objects' });
}

export function validatePriority(priority: unknown, path = 'priority'): asserts priority is number {
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new ValidationError([{ path, message: `priority must be a finite number, got ${JSON.stringify(priority)}` }]);
  }
}
