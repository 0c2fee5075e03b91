import type { TaskStatus } from '../../task/types.ts';
import { newLeaseToken } from '../ids.ts';
import type { ClaimedTask, TaskFilter } from '../types.ts';
import { reclaimExpired } from './reclaim.ts';
import { ORDER_BY_PRIORITY, rowToDocument, rowToLease } from './rows.ts';
import type { Conn, TaskRow } from './rows.ts';
import { buildWhere, candidateSql, decisionColumn, rowMatches } from './where.ts';
import type { SqlWhere } from './where.ts';

const SET_RUNNING = `SET status = 'running', attempts = attempts + 1, lease_token = @token, lease_expires_at = @expires,
  worker = @worker, started_at = @now, finished_at = NULL, claimed_from = status`;

const EXCLUDE = `AND id NOT IN (SELECT value FROM json_each(@exclude))`;

/** Earliest lease deadline among the pool's running tasks. A read: no write lock taken. */
const NEXT_EXPIRY_SQL = `SELECT min(lease_expires_at) AS next FROM tasks WHERE pool = ? AND status = 'running'`;

/**
 * How long a "no lease has run out before T" answer is trusted. Other processes may claim with
 * shorter leases in the meantime, so a claim may notice an expired lease up to this much late.
 */
const EXPIRY_CHECK_TTL_MS = 50;
const noExpiryBefore = new WeakMap<Conn, Map<string, number>>();

/** True when some running task in the pool may have an expired lease (checked at most every 50 ms). */
function mayHaveExpired(c: Conn, pool: string, now: number): boolean {
  let perPool = noExpiryBefore.get(c);
  if (perPool === undefined) noExpiryBefore.set(c, (perPool = new Map()));
  const until = perPool.get(pool);
  if (until !== undefined && now < until) return false;
  const next = (c.stmts.get(NEXT_EXPIRY_SQL).get(pool) as { next: number | null }).next;
  if (next !== null && next <= now) {
    perPool.delete(pool);
    return true;
  }
  perPool.set(pool, Math.min(next ?? Infinity, now + EXPIRY_CHECK_TTL_MS));
  return false;
}

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
 * Claims one task.
 *
 * Common case: ONE statement, `UPDATE … WHERE id = (SELECT … ORDER BY priority DESC, created_at,
 * id LIMIT 1) RETURNING *`, atomic across processes on its own.
 *
 * When some running task's lease has run out (checked with a read at most every 50 ms per pool
 * and connection), an IMMEDIATE transaction first returns such tasks
 * to the status they were claimed from or fails them when out of attempts (`reclaim.ts`), then
 * claims — so an expired task competes in the normal priority/FIFO order. A lease that expires
 * between the check and the claim is simply picked up by the next claim.
 *
 * Filters SQL cannot fully decide walk the candidates in claim order inside an IMMEDIATE
 * transaction and let the JS evaluator decide.
 */
export function claim(c: Conn, pool: string, opts: ResolvedClaim): ClaimedTask | null {
  const where = buildWhere(claimFilter(opts.query));
  const now = Date.now();
  const anyExpired = mayHaveExpired(c, pool, now);
  let row: TaskRow | undefined;
  if (!anyExpired && where.undecided === null) {
    row = claimDecided(c, pool, opts, where, now);
  } else {
    row = c.db
      .transaction((): TaskRow | undefined => {
        const at = Date.now();
        if (anyExpired) reclaimExpired(c, pool, opts.maxAttempts, at);
        return where.undecided === null ? claimDecided(c, pool, opts, where, at) : claimUndecided(c, pool, opts, where, at);
      })
      .immediate();
  }
  return row === undefined ? null : { task: rowToDocument(row), lease: rowToLease(row) };
}

function setParams(opts: ResolvedClaim, now: number): { token: string; expires: number; worker: string; now: number } {
  return { token: newLeaseToken(), expires: now + opts.leaseMs, worker: opts.worker, now };
}

function claimDecided(c: Conn, pool: string, opts: ResolvedClaim, where: SqlWhere, now: number): TaskRow | undefined {
  const exclude = opts.excludeIds.length > 0;
  const sql = `UPDATE tasks ${SET_RUNNING} WHERE id = (SELECT id FROM tasks WHERE pool = @pool AND status = @status AND ${where.decided} ${exclude ? EXCLUDE : ''} ${ORDER_BY_PRIORITY} LIMIT 1) RETURNING *`;
  const params = { ...setParams(opts, now), pool, status: opts.status, ...(exclude ? { exclude: JSON.stringify(opts.excludeIds) } : {}) };
  return c.stmts.get(sql).get(params) as TaskRow | undefined;
}

function claimUndecided(c: Conn, pool: string, opts: ResolvedClaim, where: SqlWhere, now: number): TaskRow | undefined {
  const exclude = opts.excludeIds.length > 0;
  const scan = `SELECT *, ${decisionColumn(where)} AS qtask_decision FROM tasks WHERE pool = @pool AND status = @status AND ${candidateSql(where)} ${exclude ? EXCLUDE : ''} ${ORDER_BY_PRIORITY}`;
  const scanParams = { pool, status: opts.status, ...(exclude ? { exclude: JSON.stringify(opts.excludeIds) } : {}) };
  let chosen: string | undefined;
  for (const row of c.stmts.get(scan).iterate(scanParams) as Iterable<TaskRow & { qtask_decision: number | null }>) {
    if (rowMatches(where, row, row.qtask_decision)) {
      chosen = row.id;
      break;
    }
  }
  if (chosen === undefined) return undefined;
  return c.stmts.get(`UPDATE tasks ${SET_RUNNING} WHERE id = @id RETURNING *`).get({ ...setParams(opts, now), id: chosen }) as TaskRow | undefined;
}
