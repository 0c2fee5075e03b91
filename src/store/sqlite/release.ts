import { LeaseLostError } from '../../errors.ts';
import type { TaskStatus } from '../../task/types.ts';
import type { Lease } from '../types.ts';
import { fencedWrite, finishedAtFor } from './rows.ts';
import type { Conn } from './rows.ts';

const SET_RELEASED = `UPDATE tasks SET status = ?, last_error = coalesce(?, last_error),
  lease_token = NULL, lease_expires_at = NULL, finished_at = ?`;
const FENCE = `id = ? AND pool = ? AND status = 'running' AND lease_token = ?`;
const RELEASE_BY_ROWID_SQL = `${SET_RELEASED} WHERE rowid = ? AND ${FENCE}`;
const RELEASE_SQL = `${SET_RELEASED} WHERE ${FENCE}`;

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
  const finished = finishedAtFor(status, now);
  const changes = fencedWrite(
    c,
    lease.taskId,
    (rowid) => c.stmts.get(RELEASE_BY_ROWID_SQL).run(status, recorded, finished, rowid, lease.taskId, pool, lease.token).changes,
    () => c.stmts.get(RELEASE_SQL).run(status, recorded, finished, lease.taskId, pool, lease.token).changes,
  );
  c.claimedRowids.delete(lease.taskId);
  if (changes === 0) throw new LeaseLostError(lease.taskId);
}
