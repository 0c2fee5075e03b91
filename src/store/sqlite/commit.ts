import { LeaseLostError } from '../../errors.ts';
import type { JsonValue, TaskStatus } from '../../task/types.ts';
import { assertJsonValue } from '../jsonCheck.ts';
import type { Lease } from '../types.ts';
import { finishedAtFor } from './rows.ts';
import type { Conn } from './rows.ts';

const COMMIT_SQL = `UPDATE tasks SET status = @status, res = @res, lease_token = NULL, lease_expires_at = NULL, finished_at = @finished
WHERE id = @id AND pool = @pool AND status = 'running' AND lease_token = @token`;

/** Stores the result and moves the task on, only under the caller's fencing token. */
export function commit(c: Conn, pool: string, lease: Lease, res: JsonValue, status: TaskStatus): void {
  assertJsonValue(res);
  const now = Date.now();
  const changes = c.stmts.get(COMMIT_SQL).run({
    status,
    res: JSON.stringify(res),
    finished: finishedAtFor(status, now),
    id: lease.taskId,
    pool,
    token: lease.token,
  }).changes;
  if (changes === 0) throw new LeaseLostError(lease.taskId);
}
