import { ValidationError } from '../../errors.ts';
import type { ValidationIssue } from '../../errors.ts';
import { taskHash } from '../../task/canonical.ts';
import type { TaskDef } from '../../task/types.ts';
import { newTaskId } from '../ids.ts';
import { assertJsonValue } from '../jsonCheck.ts';
import type { CreateTasksResult } from '../types.ts';
import type { Conn } from './rows.ts';

const INSERT_SQL = `INSERT INTO tasks (id, pool, hash, def, status, priority, created_at)
VALUES (?, ?, ?, ?, 'waiting', ?, ?) ON CONFLICT (pool, hash) DO NOTHING`;

const LOOKUP_SQL = `SELECT t.hash AS hash, t.id AS id FROM json_each(?) AS h CROSS JOIN tasks AS t ON t.pool = ? AND t.hash = h.value`;

/** Checks every definition is a JSON object; reports all problems at once. */
export function validateDefs(defs: unknown, label = 'defs'): asserts defs is TaskDef[] {
  if (!Array.isArray(defs)) throw new ValidationError([{ path: label, message: 'must be a list of task definitions' }]);
  const issues: ValidationIssue[] = [];
  defs.forEach((def, i) => {
    const path = `${label}[${i}]`;
    if (typeof def !== 'object' || def === null || Array.isArray(def)) {
      issues.push({ path, message: 'a task definition must be an object' });
      return;
    }
    try {
      assertJsonValue(def, path);
    } catch (e) {
      issues.push({ path: (e as { path?: string }).path ?? path, message: (e as Error).message });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues, { hint: 'task definitions must be plain JSON objects' });
}

export function validatePriority(priority: unknown, path = 'priority'): asserts priority is number {
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new ValidationError([{ path, message: `priority must be a finite number, got ${JSON.stringify(priority)}` }]);
  }
}

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
