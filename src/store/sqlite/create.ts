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
  return withCacheForBatch(c, defs.length, () => run.immediate());
}

/** Page cache a batch gets, per definition (its row and index entries, with slack), and at most. */
const CACHE_KIB_PER_DEF = 2;
const MAX_BATCH_CACHE_KIB = 128 * 1024;

/**
 * Runs `op` with the connection's page cache raised to fit a batch of `count` definitions, then
 * restores it. The store keeps a small cache for claims (schema.ts); a batch insert that
 * outgrows it spills dirty pages to the WAL mid-transaction and re-reads them: a 10,000-definition
 * createTasks took 1.2-1.9x as long with a 2 MiB cache as with 16 MiB (loaded machine, 3 runs).
 */
function withCacheForBatch<T>(c: Conn, count: number, op: () => T): T {
  const current = c.db.pragma('cache_size', { simple: true }) as number;
  const currentKiB = current < 0 ? -current : (current * (c.db.pragma('page_size', { simple: true }) as number)) / 1024;
  const wantKiB = Math.min(MAX_BATCH_CACHE_KIB, count * CACHE_KIB_PER_DEF);
  if (wantKiB <= currentKiB) return op();
  c.db.pragma(`cache_size = ${-Math.ceil(wantKiB)}`);
  try {
    return op();
  } finally {
    c.db.pragma(`cache_size = ${current}`);
  }
}
