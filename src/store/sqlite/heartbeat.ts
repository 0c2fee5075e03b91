import { LeaseLostError } from '../../errors.ts';
import type { Lease } from '../types.ts';
import type { Conn } from './rows.ts';

const HEARTBEAT_SQL = `UPDATE tasks SET lease_expires_at = @expires
WHERE id = @id AND pool = @pool AND status = 'running' AND lease_token = @token RETURNING lease_expires_at`;

/** Extends a lease to now + leaseMs, only under the caller's fencing token. */
export function heartbeat(c: Conn, pool: string, lease: Lease, leaseMs: number): Lease {
  const row = c.stmts.get(HEARTBEAT_SQL).get({ expires: Date.now() + leaseMs, id: lease.taskId, pool, token: lease.token }) as
    | { lease_expires_at: number }
    | undefined;
  if (row === undefined) throw new LeaseLostError(lease.taskId);
  return { ...lease, expiresAt: new Date(row.lease_expires_at).toISOString() };
}
