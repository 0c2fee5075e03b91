import type { TaskDocument, TaskStatus } from '../../task/types.ts';
import type { FindOptions, StatusCounts, TaskFilter } from '../types.ts';
import { ORDER_BY_CREATED, ORDER_BY_PRIORITY, rowToDocument } from './rows.ts';
import type { Conn, TaskRow } from './rows.ts';
import { buildWhere, candidateSql, decisionColumn, matchedSql, rowMatches, undecidedSql } from './where.ts';

export function get(c: Conn, pool: string, id: string): TaskDocument | null {
  const row = c.stmts.get('SELECT * FROM tasks WHERE pool = ? AND id = ?').get(pool, id) as TaskRow | undefined;
  return row === undefined ? null : rowToDocument(row);
}

export function find(c: Conn, pool: string, filter: TaskFilter | undefined, opts: FindOptions = {}): TaskDocument[] {
  const where = buildWhere(filter);
  const order = opts.sort === 'created' ? ORDER_BY_CREATED : ORDER_BY_PRIORITY;
  const limit = opts.limit ?? -1;
  if (where.undecided === null) {
    const rows = c.stmts.get(`SELECT * FROM tasks WHERE pool = ? AND ${where.decided} ${order} LIMIT ?`).all(pool, limit) as TaskRow[];
    return rows.map(rowToDocument);
  }
  const out: TaskDocument[] = [];
  const sql = `SELECT *, ${decisionColumn(where)} AS qtask_decision FROM tasks WHERE pool = ? AND ${candidateSql(where)} ${order}`;
  for (const row of c.stmts.get(sql).iterate(pool) as Iterable<TaskRow & { qtask_decision: number | null }>) {
    if (limit >= 0 && out.length >= limit) break;
    if (rowMatches(where, row, row.qtask_decision)) out.push(rowToDocument(row));
  }
  return out;
}

/** Per-status counts computed by SQLite; only rows SQL cannot decide are read into JS. */
export function stat(c: Conn, pool: string, filter: TaskFilter | undefined): StatusCounts {
  const where = buildWhere(filter);
  const counts: StatusCounts = {};
  const grouped = c.stmts.get(`SELECT status, count(*) AS n FROM tasks WHERE pool = ? AND ${matchedSql(where)} GROUP BY status`).all(pool) as {
    status: TaskStatus;
    n: number;
  }[];
  for (const g of grouped) counts[g.status] = g.n;
  const rest = undecidedSql(where);
  if (rest !== null) {
    for (const row of c.stmts.get(`SELECT * FROM tasks WHERE pool = ? AND ${rest}`).iterate(pool) as Iterable<TaskRow>) {
      if (rowMatches(where, row, null)) counts[row.status] = (counts[row.status] ?? 0) + 1;
    }
  }
  return counts;
}

/** Ids of matching rows SQL could not decide (checked in JS); empty for fully compiled filters. */
export function undecidedMatchingIds(c: Conn, pool: string, where: ReturnType<typeof buildWhere>): string[] {
  const rest = undecidedSql(where);
  if (rest === null) return [];
  const ids: string[] = [];
  for (const row of c.stmts.get(`SELECT * FROM tasks WHERE pool = ? AND ${rest}`).iterate(pool) as Iterable<TaskRow>) {
    if (rowMatches(where, row, null)) ids.push(row.id);
  }
  return ids;
}

export function listPools(c: Conn): string[] {
  return (c.stmts.get('SELECT DISTINCT pool FROM tasks ORDER BY pool').all() as { pool: string }[]).map((r) => r.pool);
}
