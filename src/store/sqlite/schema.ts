import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StoreError } from '../../errors.ts';
import { sqlRegexp } from '../filter/index.ts';

export type SqliteDatabase = Database.Database;

/** Bumped when the table layout changes; a file written by a newer qtask is refused. */
export const SCHEMA_VERSION = 1;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS tasks (
  id               TEXT PRIMARY KEY NOT NULL,
  pool             TEXT NOT NULL,
  hash             TEXT NOT NULL,
  def              TEXT NOT NULL,
  status           TEXT NOT NULL,
  priority         REAL NOT NULL DEFAULT 0,
  res              TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT NOT NULL DEFAULT 'null',
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  worker           TEXT,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  claimed_from     TEXT,
  UNIQUE (pool, hash)
);
CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (pool, status, priority DESC, created_at, id);
`;

export interface OpenOptions {
  /** How long a write waits for another process's write lock, in ms. Default 10000. */
  busyTimeoutMs?: number;
  /**
   * Page cache of this connection, in KiB. Default 2048. Kept small on purpose: SQLite scans the
   * whole cache's hash table whenever a commit grows the file (claims grow rows, so pages split)
   * and whenever another process's write invalidates the cache, and both happen on nearly every
   * claim or commit; the operating system's file cache still serves re-reads.
   */
  cacheSizeKiB?: number;
}

export const DEFAULT_CACHE_SIZE_KIB = 2048;

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;


/**
 * Opens (creating if needed) a task database: WAL journal, `synchronous=NORMAL` (durable across
 * process crashes, may lose the last commits on power loss), busy timeout. Failures are
 * `StoreError` `STORE_OPEN` (missing/unwritable directory, unopenable file) or `STORE_CORRUPT`
 * (the file is not a qtask database); nothing is created when opening fails.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): SqliteDatabase {
  const memory = path === ':memory:';
  const file = memory ? path : resolve(path);
  if (!memory) checkLocation(path, file);
  let db: SqliteDatabase;
  try {
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (e) {
    throw new StoreError('STORE_OPEN', `cannot open SQLite database ${file}: ${(e as Error).message}`, {
      path: file,
      hint: 'check that the path is a writable file location',
      cause: e,
    });
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError('STORE_SCHEMA', `${file} was written by a newer qtask (schema ${version} > ${SCHEMA_VERSION})`, {
        path: file,
        hint: 'upgrade qtask, or use another store file',
      });
    }
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const cacheKiB = Number.isFinite(opts.cacheSizeKiB) ? Math.max(64, Math.floor(opts.cacheSizeKiB!)) : DEFAULT_CACHE_SIZE_KIB;
    db.pragma(`cache_size = ${-cacheKiB}`);
    db.exec(SCHEMA_SQL);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    // From here on the store waits for locks itself (busy.ts), to fail with a typed error.
    db.pragma('busy_timeout = 0');
    const columns = (db.prepare(`SELECT name FROM pragma_table_info('tasks')`).all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('claimed_from') || !columns.includes('lease_token')) {
      throw new StoreError('STORE_CORRUPT', `${file} has a "tasks" table that is not qtask's`, {
        path: file,
        hint: 'point --store at a new file; this one belongs to another program',
      });
    }
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new StoreError('STORE_CORRUPT', `${file} is not a SQLite database (or is damaged)`, {
        path: file,
        hint: 'point --store at a new file, or restore this one from a backup',
        cause: e,
      });
    }
    throw new StoreError('STORE_OPEN', `cannot initialise SQLite database ${file}: ${(e as Error).message}`, { path: file, hint: 'check permissions and free disk space', cause: e });
  }
  db.function('qtask_regexp', { deterministic: true }, sqlRegexp);
  return db;
}

function checkLocation(given: string, file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    throw new StoreError('STORE_OPEN', `directory ${dir} does not exist`, {
      path: given,
      hint: `create it first (mkdir -p ${dir}) or choose another sqlite:PATH`,
    });
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new StoreError('STORE_OPEN', `directory ${dir} is not writable`, { path: given, hint: 'choose a writable location for the store file' });
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new StoreError('STORE_OPEN', `${file} is a directory`, { path: given, hint: 'give a file path, e.g. sqlite:./qtask.db' });
  }
}

/** Prepared-statement cache: the same SQL text is prepared once per connection. */
export class StatementCache {
  readonly #db: SqliteDatabase;
  readonly #cache = new Map<string, Database.Statement>();
  constructor(db: SqliteDatabase) {
    this.#db = db;
  }
  get(sql: string): Database.Statement {
    let stmt = this.#cache.get(sql);
    if (stmt === undefined) {
      // Filters inline their literals, so many distinct texts are possible; keep the cache bounded.
      if (this.#cache.size > 500) this.#cache.clear();
      stmt = this.#db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}
