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
    lastError: JSON.parse(row.last_error) as TaskErrorInfo | null,
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

export function rowToLease(row: TaskRow): Lease {
  return {
    taskId: row.id,
    token: row.lease_token!,
    expiresAt: new Date(row.lease_expires_at!).toISOString(),
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
