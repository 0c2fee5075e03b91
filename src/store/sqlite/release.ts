import { LeaseLostError } from '../../errors.ts';
import type { TaskStatus } from '../../task/types.ts';
import type { Lease } from '../types.ts';
import { finishedAtFor } from './rows.ts';
import type { Conn } from './rows.ts';

const RELEASE_SQL = `UPDATE tasks SET status = @status, last_error = coalesce(@error, last_error),
  lease_token = NULL, lease_expires_at = NULL, finished_at = @finished
WHERE id = @id AND pool = @pool AND status = 'running' AND lease_token = @token`;

export interface ErrorToRecord {
  message: string;
  code: string;
}

/**
 * Gives the task back (qlib's `return_task`) under the caller's fencing token, optionally
 * recording the error the attempt ended with. `fail.ts` is the same move to `failed`.
 */
export function release(c: Conn, pool: string, lease: Lease, status: TaskStatus, error: ErrorToRecord | undefined): void {
  const now = Date.now();
  const recorded =
    error === undefined
      ? null
      : JSON.stringify({ message: String(error.message), code: String(error.code), worker: lease.worker, at: new Date(now).toISOString() });
  const changes = c.stmts.get(RELEASE_SQL).run({
    status,
    error: recorded,
    finished: finishedAtFor(status, now),
    id: lease.taskId,
    pool,
    token: lease.token,
  }).changes;
  if (changes === 0) throw new LeaseLostError(lease.taskId);
}
