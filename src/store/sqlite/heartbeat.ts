import { LeaseLostError } from '../../errors.ts';
import type { Lease } from '../types.ts';
import { fencedWrite } from './rows.ts';
import type { Conn } from './rows.ts';

const SET_EXPIRY = `UPDATE tasks SET lease_expires_at = ?`;
const FENCE = `id = ? AND pool = ? AND status = 'running' AND lease_token = ?`;
const HEARTBEAT_BY_ROWID_SQL = `${SET_EXPIRY} WHERE rowid = ? AND ${FENCE}`;
const HEARTBEAT_SQL = `${SET_EXPIRY} WHERE ${FENCE}`;

/** Extends a lease to now + leaseMs, only under the caller's fencing token. */
export function heartbeat(c: Conn, pool: string, lease: Lease, leaseMs: number): Lease {
  const expires = Date.now() + leaseMs;
  const changes = fencedWrite(
    c,
    lease.taskId,
    (rowid) => c.stmts.get(HEARTBEAT_BY_ROWID_SQL).run(expires, rowid, lease.taskId, pool, lease.token).changes,
    () => c.stmts.get(HEARTBEAT_SQL).run(expires, lease.taskId, pool, lease.token).changes,
  );
  if (changes === 0) {
    c.claimedRowids.delete(lease.taskId);
    throw new LeaseLostError(lease.taskId);
  }
  return { ...lease, expiresAt: new Date(expires).toISOString() };
}
