import type { Conn } from './rows.ts';

/**
 * Running tasks whose lease ran out: back to the status they were claimed from (usually
 * `waiting`), or to `failed` once `attempts >= maxAttempts`. Either way `lastError` records
 * LEASE_EXPIRED with the worker that lost it. One statement.
 */
const RECLAIM_SQL = `UPDATE tasks SET
  status = CASE WHEN attempts >= @maxAttempts THEN 'failed' ELSE coalesce(claimed_from, 'waiting') END,
  last_error = json_object(
    'message', CASE WHEN attempts >= @maxAttempts
      THEN 'lease expired on attempt ' || attempts || ' of ' || @maxAttempts || '; no attempts left'
      ELSE 'lease expired on attempt ' || attempts || '; the worker is presumed dead' END,
    'code', 'LEASE_EXPIRED', 'worker', worker, 'at', @nowIso),
  finished_at = CASE WHEN attempts >= @maxAttempts THEN @now ELSE NULL END,
  lease_token = NULL,
  lease_expires_at = NULL
WHERE pool = @pool AND status = 'running' AND lease_expires_at <= @now`;

export const DEFAULT_MAX_ATTEMPTS = 3;

export function reclaimExpired(c: Conn, pool: string, maxAttempts: number, now: number = Date.now()): number {
  return c.stmts.get(RECLAIM_SQL).run({ pool, maxAttempts, now, nowIso: new Date(now).toISOString() }).changes;
}
