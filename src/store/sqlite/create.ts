import { taskHash } from '../../task/canonical.ts';
import type { TaskDef } from '../../task/types.ts';
import { newTaskId } from '../ids.ts';
import type { CreateTasksResult } from '../types.ts';
import { validateDefs, validatePriority } from '../validate.ts';

// Shared with the MongoDB backend, which imports them from here.
export { validateDefs, validatePriority };
import type { Conn } from './rows.ts';

const INSERT_SQL = `INSERT INTO tasks (id, pool, hash, def, status, priority, created_at)
VALUES (?, ?, ?, ?, 'waiting', ?, ?) ON CONFLICT (pool, hash) DO NOTHING`;

const LOOKUP_SQL = `SELECT t.hash AS hash, t.id AS id FROM json_each(?) AS h CROSS JOIN tasks AS t ON t.pool = ? AND t.hash = h.value`;

/**
 * Inserts new definitions and returns every id in input order. One IMMEDIATE transaction: the
 * unique (pool, hash) index decides what is new, so concurrent creators cannot both insert a
 * definition; then one lookup fetches all ids, including the ones another process just inserted.
 */
export function createTasks(c: Conn, pool: string, defs: TaskDef[], opts: { dryRun?: boolean; priority?: number } = {}): CreateTasksResult {
  validateDefs(defs);
  const priority = opts.priority ?? 0;
  validatePriority(priority);
  const hashes = defs.map((d) => taskHash(d));
  const lookup = (): Map<string, string> => {
    const rows = c.stmts.get(LOOKUP_SQL).all(JSON.stringify([...new Set(hashes)]), pool) as { hash: string; id: string }[];
    return new Map(rows.map((r) => [r.hash, r.id]));
  };

  if (opts.dryRun) {
    const existing = lookup();
    const newHashes = new Set(hashes.filter((h) => !existing.has(h)));
    return { ids: hashes.map((h) => existing.get(h) ?? null), created: newHashes.size, existing: defs.length - newHashes.size };
  }

  const run = c.db.transaction((): CreateTasksResult => {
    const insert = c.stmts.get(INSERT_SQL);
    const now = Date.now();
    let created = 0;
    for (let i = 0; i < defs.length; i++) {
      created += insert.run(newTaskId(now), pool, hashes[i], JSON.stringify(defs[i]), priority, now).changes;
    }
    const ids = lookup();
    return { ids: hashes.map((h) => ids.get(h)!), created, existing: defs.length - created };
  });
  return run.immediate();
}
