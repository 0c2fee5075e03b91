import { LeaseLostError } from '../../errors.ts';
import type { JsonValue, TaskStatus } from '../../task/types.ts';
import { assertJsonValue } from '../jsonCheck.ts';
import type { Lease } from '../types.ts';
import { fencedWrite, finishedAtFor } from './rows.ts';
import type { Conn } from './rows.ts';

const SET_DONE = `UPDATE tasks SET status = ?, res = ?, lease_token = NULL, lease_expires_at = NULL, finished_at = ?`;
const FENCE = `id = ? AND pool = ? AND status = 'running' AND lease_token = ?`;
const COMMIT_BY_ROWID_SQL = `${SET_DONE} WHERE rowid = ? AND ${FENCE}`;
const COMMIT_SQL = `${SET_DONE} WHERE ${FENCE}`;

/** Stores the result and moves the task on, only under the caller's fencing token. */
export function commit(c: Conn, pool: string, lease: Lease, res: JsonValue, status: TaskStatus): void {
  assertJsonValue(res);
  const json = JSON.stringify(res);
  const finished = finishedAtFor(status, Date.now());
  const changes = fencedWrite(
    c,
    lease.taskId,
    (rowid) => c.stmts.get(COMMIT_BY_ROWID_SQL).run(status, json, finished, rowid, lease.taskId, pool, lease.token).changes,
    () => c.stmts.get(COMMIT_SQL).run(status, json, finished, lease.taskId, pool, lease.token).changes,
  );
  c.claimedRowids.delete(lease.taskId);
  if (changes === 0) throw new LeaseLostError(lease.taskId);
}
