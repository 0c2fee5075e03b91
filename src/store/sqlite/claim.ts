import type { TaskStatus } from '../../task/types.ts';
import { newLeaseToken } from '../ids.ts';
import type { ClaimedTask, ClaimOptions, TaskFilter } from '../types.ts';
import { reclaimExpired } from './reclaim.ts';
import { ORDER_BY_PRIORITY, rowToDocument, rowToLease } from './rows.ts';
import type { Conn, TaskRow } from './rows.ts';
import { buildWhere, candidateSql, decisionColumn, rowMatches } from './where.ts';

const SET_RUNNING = `SET status = 'running', attempts = attempts + 1, lease_token = @token, lease_expires_at = @expires,
  worker = @worker, started_at = @now, finished_at = NULL, claimed_from = status`;

const EXCLUDE = `AND id NOT IN (SELECT value FROM json_each(@exclude))`;

export interface ResolvedClaim {
  status: TaskStatus;
  worker: string;
  leaseMs: number;
  maxAttempts: number;
  query: TaskFilter;
  excludeIds: string[];
}

/** The claim filter: the caller's query without its top-level `status` (the claim's own `status` wins). */
function claimFilter(query: TaskFilter): TaskFilter {
  if (!('status' in query)) return query;
  const { status: _ignored, ...rest } = query;
  return rest;
}

/**
 * Claims one task in an IMMEDIATE transaction (atomic across processes): first expired leases
 * are returned to their status or failed (`reclaim.ts`), then one `UPDATE … WHERE id = (SELECT …
 * ORDER BY priority DESC, created_at, id LIMIT 1) RETURNING *` takes the best match. Filters that
 * SQL cannot fully decide walk the candidates in the same order and let the JS evaluator decide.
 */
export function claim(c: Conn, pool: string, opts: ResolvedClaim): ClaimedTask | null {
  const where = buildWhere(claimFilter(opts.query));
  const exclude = opts.excludeIds.length > 0 ? EXCLUDE : '';
  const run = c.db.transaction((): TaskRow | undefined => {
    const now = Date.now();
    reclaimExpired(c, pool, opts.maxAttempts, now);
    const params = {
      pool,
      status: opts.status,
      token: newLeaseToken(),
      expires: now + opts.leaseMs,
      worker: opts.worker,
      now,
      ...(exclude ? { exclude: JSON.stringify(opts.excludeIds) } : {}),
    };
    if (where.undecided === null) {
      const sql = `UPDATE tasks ${SET_RUNNING} WHERE id = (SELECT id FROM tasks WHERE pool = @pool AND status = @status AND ${where.decided} ${exclude} ${ORDER_BY_PRIORITY} LIMIT 1) RETURNING *`;
      return c.stmts.get(sql).get(params) as TaskRow | undefined;
    }
    const scan = `SELECT *, ${decisionColumn(where)} AS qtask_decision FROM tasks WHERE pool = @pool AND status = @status AND ${candidateSql(where)} ${exclude} ${ORDER_BY_PRIORITY}`;
    let chosen: string | undefined;
    const { token: _t, expires: _e, worker: _w, now: _n, ...scanParams } = params;
    for (const row of c.stmts.get(scan).iterate(scanParams) as Iterable<TaskRow & { qtask_decision: number | null }>) {
      if (rowMatches(where, row, row.qtask_decision)) {
        chosen = row.id;
        break;
      }
    }
    if (chosen === undefined) return undefined;
    const { pool: _p, status: _s, exclude: _x, ...setParams } = params as typeof params & { exclude?: string };
    return c.stmts.get(`UPDATE tasks ${SET_RUNNING} WHERE id = @id RETURNING *`).get({ ...setParams, id: chosen }) as TaskRow | undefined;
  });
  const row = run.immediate();
  return row === undefined ? null : { task: rowToDocument(row), lease: rowToLease(row) };
}
