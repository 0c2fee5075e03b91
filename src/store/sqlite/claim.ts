import type { Statement } from 'better-sqlite3';
import type { TaskStatus } from '../../task/types.ts';
import { newLeaseToken } from '../ids.ts';
import type { ClaimedTask, TaskFilter } from '../types.ts';
import { reclaimExpired } from './reclaim.ts';
import { CLAIM_RETURNING, claimedRow, ORDER_BY_PRIORITY, rememberClaim, rowToDocument, rowToLease } from './rows.ts';
import type { Conn, TaskRow } from './rows.ts';
import { buildWhere, candidateSql, decisionColumn, rowMatches } from './where.ts';
import type { SqlWhere } from './where.ts';

// Positional parameters: better-sqlite3 binds named ones by property lookups, which cost more
// than the rest of a claim's JS. Order: token, expires, worker, now.
const SET_RUNNING = `SET status = 'running', attempts = attempts + 1, lease_token = ?, lease_expires_at = ?,
  worker = ?, started_at = ?, finished_at = NULL, claimed_from = status`;

const EXCLUDE = `AND id NOT IN (SELECT value FROM json_each(?))`;

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
 * Common case: ONE statement, `UPDATE … WHERE rowid = (SELECT rowid … ORDER BY priority DESC,
 * created_at, id LIMIT 1) RETURNING …`, atomic across processes on its own.
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
  if (row === undefined) return null;
  const task = rowToDocument(row);
  return { task, lease: rowToLease(row, task) };
}

/** Per connection: the claim statement for each SQL-decided filter, without and with excluded ids. */
const decidedStatements = new WeakMap<Conn, [Map<string, Statement>, Map<string, Statement>]>();

function decidedStatement(c: Conn, decided: string, exclude: boolean): Statement {
  let perConn = decidedStatements.get(c);
  if (perConn === undefined) decidedStatements.set(c, (perConn = [new Map(), new Map()]));
  const cache = perConn[exclude ? 1 : 0];
  let stmt = cache.get(decided);
  if (stmt === undefined) {
    // The subquery picks a rowid from the covering claim index, so the UPDATE needs no id lookup.
    const sql = `UPDATE tasks ${SET_RUNNING} WHERE rowid = (SELECT rowid FROM tasks WHERE pool = ? AND status = ? AND ${decided}
      ${exclude ? EXCLUDE : ''} ${ORDER_BY_PRIORITY} LIMIT 1) RETURNING ${CLAIM_RETURNING}`;
    stmt = c.db.prepare(sql).raw(true);
    if (cache.size >= 200) cache.clear();
    cache.set(decided, stmt);
  }
  return stmt;
}

function claimed(c: Conn, raw: unknown[] | undefined): TaskRow | undefined {
  if (raw === undefined) return undefined;
  const { rowid, row } = claimedRow(raw);
  rememberClaim(c, row.id, rowid);
  return row;
}

function claimDecided(c: Conn, pool: string, opts: ResolvedClaim, where: SqlWhere, now: number): TaskRow | undefined {
  const stmt = decidedStatement(c, where.decided, opts.excludeIds.length > 0);
  const token = newLeaseToken();
  const raw =
    opts.excludeIds.length > 0
      ? stmt.get(token, now + opts.leaseMs, opts.worker, now, pool, opts.status, JSON.stringify(opts.excludeIds))
      : stmt.get(token, now + opts.leaseMs, opts.worker, now, pool, opts.status);
  return claimed(c, raw as unknown[] | undefined);
}

const CLAIM_BY_ROWID_SQL = `UPDATE tasks ${SET_RUNNING} WHERE rowid = ? RETURNING ${CLAIM_RETURNING}`;

function claimUndecided(c: Conn, pool: string, opts: ResolvedClaim, where: SqlWhere, now: number): TaskRow | undefined {
  const exclude = opts.excludeIds.length > 0;
  const scan = `SELECT *, rowid AS qtask_rowid, ${decisionColumn(where)} AS qtask_decision FROM tasks WHERE pool = @pool AND status = @status AND ${candidateSql(where)} ${exclude ? 'AND id NOT IN (SELECT value FROM json_each(@exclude))' : ''} ${ORDER_BY_PRIORITY}`;
  const scanParams = { pool, status: opts.status, ...(exclude ? { exclude: JSON.stringify(opts.excludeIds) } : {}) };
  let chosen: number | undefined;
  for (const row of c.stmts.get(scan).iterate(scanParams) as Iterable<TaskRow & { qtask_rowid: number; qtask_decision: number | null }>) {
    if (rowMatches(where, row, row.qtask_decision)) {
      chosen = row.qtask_rowid;
      break;
    }
  }
  if (chosen === undefined) return undefined;
  const stmt = c.stmts.get(CLAIM_BY_ROWID_SQL);
  // Raw mode is set on this cached statement only; no other caller prepares this text.
  stmt.raw(true);
  return claimed(c, stmt.get(newLeaseToken(), now + opts.leaseMs, opts.worker, now, chosen) as unknown[] | undefined);
}
