import { StoreError, TaskNotFoundError } from '../../errors.ts';
import { taskHash } from '../../task/canonical.ts';
import type { TaskDef, TaskStatus } from '../../task/types.ts';
import type { TaskFilter } from '../types.ts';
import { undecidedMatchingIds } from './read.ts';
import { TERMINAL_STATUSES } from './rows.ts';
import type { Conn } from './rows.ts';
import { buildWhere, matchedSql } from './where.ts';
import type { SqlWhere } from './where.ts';

/** WHERE for a bulk write: SQL-decided matches plus the ids the JS evaluator accepted. */
function bulkWhere(c: Conn, pool: string, where: SqlWhere): { sql: string; ids: string } {
  const ids = undecidedMatchingIds(c, pool, where);
  if (ids.length === 0) return { sql: matchedSql(where), ids: '[]' };
  return { sql: `((${matchedSql(where)}) OR id IN (SELECT value FROM json_each(@ids)))`, ids: JSON.stringify(ids) };
}

/** Sets `status` on every match and clears leases (a cancelled or reset task's worker loses its lease). */
export function setStatus(c: Conn, pool: string, filter: TaskFilter, status: TaskStatus): number {
  const where = buildWhere(filter);
  const run = c.db.transaction((): number => {
    const now = Date.now();
    const w = bulkWhere(c, pool, where);
    const terminal = TERMINAL_STATUSES.includes(status);
    const sql = `UPDATE tasks SET status = @status, lease_token = NULL, lease_expires_at = NULL,
      finished_at = ${terminal ? 'CASE WHEN status = @status THEN finished_at ELSE @now END' : 'NULL'}
      WHERE pool = @pool AND ${w.sql}`;
    const params: Record<string, string | number> = { status, pool };
    if (terminal) params['now'] = now;
    if (w.ids !== '[]') params['ids'] = w.ids;
    return c.stmts.get(sql).run(params).changes;
  });
  return run.immediate();
}

export function remove(c: Conn, pool: string, filter: TaskFilter): number {
  const where = buildWhere(filter);
  const run = c.db.transaction((): number => {
    const w = bulkWhere(c, pool, where);
    const params: Record<string, string> = { pool };
    if (w.ids !== '[]') params['ids'] = w.ids;
    return c.stmts.get(`DELETE FROM tasks WHERE pool = @pool AND ${w.sql}`).run(params).changes;
  });
  return run.immediate();
}

export function setPriority(c: Conn, pool: string, id: string, priority: number): void {
  const changes = c.stmts.get('UPDATE tasks SET priority = ? WHERE pool = ? AND id = ?').run(priority, pool, id).changes;
  if (changes === 0) throw new TaskNotFoundError(id, pool);
}

export function replaceTask(c: Conn, pool: string, id: string, def: TaskDef): void {
  try {
    const changes = c.stmts.get('UPDATE tasks SET def = ?, hash = ? WHERE pool = ? AND id = ?').run(JSON.stringify(def), taskHash(def), pool, id).changes;
    if (changes === 0) throw new TaskNotFoundError(id, pool);
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new StoreError('TASK_DUPLICATE', `another task in pool ${JSON.stringify(pool)} already has this definition`, {
        path: 'def',
        hint: 'find it with `qtask query` and change or remove one of them',
      });
    }
    throw e;
  }
}
