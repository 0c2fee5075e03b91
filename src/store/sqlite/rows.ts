import type { JsonValue, TaskDocument, TaskErrorInfo, TaskStatus } from '../../task/types.ts';
import type { Lease } from '../types.ts';
import type { SqliteDatabase, StatementCache } from './schema.ts';

/** One row of `tasks`, as better-sqlite3 returns it. Times are epoch ms. */
export interface TaskRow {
  id: string;
  pool: string;
  hash: string;
  def: string;
  status: TaskStatus;
  priority: number;
  res: string | null;
  attempts: number;
  last_error: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  worker: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  claimed_from: TaskStatus | null;
}

/** Shared handles every transition module receives. */
export interface Conn {
  db: SqliteDatabase;
  stmts: StatementCache;
  /**
   * rowid of each task this connection claimed and has not finished yet. Commit, heartbeat and
   * release address the row by rowid (one B-tree descent) and still check `id`, so a stale entry
   * (rowids can change on VACUUM) only costs a second statement by id.
   */
  claimedRowids: Map<string, number>;
}

/** Claims of one connection remembered in `claimedRowids` before it is cleared (abandoned leases). */
export const MAX_REMEMBERED_CLAIMS = 10_000;

/**
 * A claim's RETURNING list. Claim statements run in raw mode (rows as arrays): better-sqlite3
 * then skips building a keyed object per row, which was a measurable part of a claim.
 */
export const CLAIM_RETURNING = `rowid, id, pool, hash, def, status, priority, res, attempts, last_error, created_at, started_at,
  finished_at, worker, lease_token, lease_expires_at, claimed_from`;

/** A `CLAIM_RETURNING` array as a TaskRow, plus its rowid. */
export function claimedRow(a: unknown[]): { rowid: number; row: TaskRow } {
  return {
    rowid: a[0] as number,
    row: {
      id: a[1] as string,
      pool: a[2] as string,
      hash: a[3] as string,
      def: a[4] as string,
      status: a[5] as TaskStatus,
      priority: a[6] as number,
      res: a[7] as string | null,
      attempts: a[8] as number,
      last_error: a[9] as string,
      created_at: a[10] as number,
      started_at: a[11] as number | null,
      finished_at: a[12] as number | null,
      worker: a[13] as string | null,
      lease_token: a[14] as string | null,
      lease_expires_at: a[15] as number | null,
      claimed_from: a[16] as TaskStatus | null,
    },
  };
}

/** Remembers the rowid of a task this connection just claimed (see `Conn.claimedRowids`). */
export function rememberClaim(c: Conn, id: string, rowid: number): void {
  if (c.claimedRowids.size >= MAX_REMEMBERED_CLAIMS) c.claimedRowids.clear();
  c.claimedRowids.set(id, rowid);
}

/**
 * Runs a fenced write: by rowid when this connection remembers the task's, else (or when that
 * matched nothing) by id. Returns the number of rows changed (0 or 1).
 */
export function fencedWrite(c: Conn, taskId: string, byRowid: (rowid: number) => number, byId: () => number): number {
  const rowid = c.claimedRowids.get(taskId);
  if (rowid !== undefined) {
    const changed = byRowid(rowid);
    if (changed > 0) return changed;
  }
  return byId();
}

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['done', 'failed', 'cancelled'];

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function rowToDocument(row: TaskRow): TaskDocument {
  const doc: TaskDocument = {
    _id: row.id,
    def: JSON.parse(row.def) as TaskDocument['def'],
    filter: JSON.parse(row.def) as TaskDocument['filter'],
    hash: row.hash,
    status: row.status,
    priority: row.priority,
    attempts: row.attempts,
    // Most tasks never failed: skip the parser for the stored 'null'.
    lastError: row.last_error === 'null' ? null : (JSON.parse(row.last_error) as TaskErrorInfo | null),
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    worker: row.worker,
    leaseToken: row.lease_token,
    leaseExpiresAt: iso(row.lease_expires_at),
  };
  if (row.res !== null) doc.res = JSON.parse(row.res) as JsonValue;
  return doc;
}

export function rowToLease(row: TaskRow, doc?: TaskDocument): Lease {
  return {
    taskId: row.id,
    token: row.lease_token!,
    // The document (when given) already formatted this date.
    expiresAt: doc?.leaseExpiresAt ?? new Date(row.lease_expires_at!).toISOString(),
    worker: row.worker!,
    attempt: row.attempts,
  };
}

/** `finished_at` for a task entering `status` at `now`: set for terminal states, cleared otherwise. */
export function finishedAtFor(status: TaskStatus, now: number): number | null {
  return TERMINAL_STATUSES.includes(status) ? now : null;
}

export const ORDER_BY_PRIORITY = 'ORDER BY priority DESC, created_at ASC, id ASC';
export const ORDER_BY_CREATED = 'ORDER BY created_at ASC, id ASC';
