import { StoreError, ValidationError } from '../errors.ts';
import type { JsonValue, TaskDef, TaskDocument, TaskStatus } from '../task/types.ts';
import { assertPoolName } from './pool.ts';
import { claim } from './sqlite/claim.ts';
import { commit } from './sqlite/commit.ts';
import { createTasks } from './sqlite/create.ts';
import { fail } from './sqlite/fail.ts';
import { heartbeat } from './sqlite/heartbeat.ts';
import { find, get, listPools, stat } from './sqlite/read.ts';
import { DEFAULT_MAX_ATTEMPTS, reclaimExpired } from './sqlite/reclaim.ts';
import { release } from './sqlite/release.ts';
import type { Conn } from './sqlite/rows.ts';
import { retryWhileBusy } from './sqlite/busy.ts';
import type { BusyStats } from './sqlite/busy.ts';
import { DEFAULT_BUSY_TIMEOUT_MS, openDatabase, StatementCache } from './sqlite/schema.ts';
import type { OpenOptions, SqliteDatabase } from './sqlite/schema.ts';
import { remove, replaceTask, setPriority, setStatus } from './sqlite/update.ts';
import type {
  ClaimedTask,
  ClaimOptions,
  CreateTasksResult,
  FindOptions,
  Lease,
  ReleaseOptions,
  StatusCounts,
  TaskFilter,
  TaskStore,
} from './types.ts';
import { assertLease, assertPositiveInt, assertPositiveMs, assertSettableStatus, validateDefs, validatePriority } from './validate.ts';

/**
 * The SQLite TaskStore: one `tasks` table for all pools, better-sqlite3 (synchronous, so every
 * method completes before its promise is returned). Each state change lives in its own module
 * under `sqlite/`. Safe for many processes on one machine (WAL + IMMEDIATE transactions); not for
 * network file systems.
 */
export class SqliteTaskStore implements TaskStore {
  readonly url: string;
  /** Lock waits so far (retries and ms), for benchmarks and diagnostics. */
  readonly busyStats: BusyStats = { retries: 0, waitedMs: 0 };
  readonly #conn: Conn;
  readonly #busyTimeoutMs: number;
  #closed = false;

  /** `path`: a file path or `:memory:`. */
  constructor(path: string, opts: OpenOptions = {}) {
    const db = openDatabase(path, opts);
    this.#conn = { db, stmts: new StatementCache(db), claimedRowids: new Map() };
    this.#busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.url = `sqlite:${path}`;
  }

  /** The underlying connection, for benchmarks and diagnostics. */
  get database(): SqliteDatabase {
    return this.#conn.db;
  }

  /** The connection, or `StoreError` `STORE_CLOSED` after `close()`. */
  get #c(): Conn {
    if (this.#closed) {
      throw new StoreError('STORE_CLOSED', `store ${this.url} is closed`, { hint: 'open a new store with openStore(url)' });
    }
    return this.#conn;
  }

  /** Runs one atomic operation on the connection, retrying it while another process holds the lock. */
  #run<T>(op: (c: Conn) => T): T {
    const c = this.#c;
    return retryWhileBusy(() => op(c), this.#busyTimeoutMs, this.busyStats);
  }

  async listPools(): Promise<string[]> {
    return this.#run((c) => listPools(c));
  }

  async createTasks(pool: string, defs: TaskDef[], opts: { dryRun?: boolean; priority?: number } = {}): Promise<CreateTasksResult> {
    assertPoolName(pool);
    return this.#run((c) => createTasks(c, pool, defs, opts));
  }

  async replaceTask(pool: string, id: string, def: TaskDef): Promise<void> {
    assertPoolName(pool);
    validateDefs([def], 'def');
    this.#run((c) => replaceTask(c, pool, id, def));
  }

  async find(pool: string, filter?: TaskFilter, opts?: FindOptions): Promise<TaskDocument[]> {
    assertPoolName(pool);
    if (opts?.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
      throw new ValidationError([{ path: 'limit', message: `must be a non-negative integer, got ${JSON.stringify(opts.limit)}` }]);
    }
    return this.#run((c) => find(c, pool, filter, opts));
  }

  async get(pool: string, id: string): Promise<TaskDocument | null> {
    assertPoolName(pool);
    return this.#run((c) => get(c, pool, id));
  }

  async claim(pool: string, opts: ClaimOptions): Promise<ClaimedTask | null> {
    assertPoolName(pool);
    const status: TaskStatus = opts.status ?? 'waiting';
    assertSettableStatus(status, 'status');
    assertPositiveMs(opts.leaseMs, 'leaseMs');
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertPositiveInt(maxAttempts, 'maxAttempts');
    if (typeof opts.worker !== 'string' || opts.worker === '') {
      throw new ValidationError([{ path: 'worker', message: 'a worker id is required' }]);
    }
    if (opts.excludeIds !== undefined && (!Array.isArray(opts.excludeIds) || !opts.excludeIds.every((id) => typeof id === 'string'))) {
      throw new ValidationError([{ path: 'excludeIds', message: 'must be a list of task ids' }]);
    }
    return this.#run((c) => claim(c, pool, {
      status,
      worker: opts.worker,
      leaseMs: opts.leaseMs,
      maxAttempts,
      query: opts.query ?? {},
      excludeIds: opts.excludeIds ?? [],
    }));
  }

  async heartbeat(pool: string, lease: Lease, leaseMs: number): Promise<Lease> {
    assertPoolName(pool);
    assertLease(lease);
    assertPositiveMs(leaseMs, 'leaseMs');
    return this.#run((c) => heartbeat(c, pool, lease, leaseMs));
  }

  async commit(pool: string, lease: Lease, res: JsonValue, status: TaskStatus = 'done'): Promise<void> {
    assertPoolName(pool);
    assertLease(lease);
    assertSettableStatus(status);
    this.#run((c) => commit(c, pool, lease, res, status));
  }

  async release(pool: string, lease: Lease, opts: ReleaseOptions = {}): Promise<void> {
    assertPoolName(pool);
    assertLease(lease);
    const status = opts.status ?? 'waiting';
    assertSettableStatus(status);
    this.#run((c) => release(c, pool, lease, status, opts.error));
  }

  async fail(pool: string, lease: Lease, error: { message: string; code: string }): Promise<void> {
    assertPoolName(pool);
    assertLease(lease);
    this.#run((c) => fail(c, pool, lease, error));
  }

  async reclaimExpired(pool: string, opts: { maxAttempts?: number } = {}): Promise<number> {
    assertPoolName(pool);
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertPositiveInt(maxAttempts, 'maxAttempts');
    return this.#run((c) => reclaimExpired(c, pool, maxAttempts));
  }

  async setStatus(pool: string, filter: TaskFilter, status: TaskStatus): Promise<number> {
    assertPoolName(pool);
    assertSettableStatus(status);
    return this.#run((c) => setStatus(c, pool, filter, status));
  }

  async setPriority(pool: string, id: string, priority: number): Promise<void> {
    assertPoolName(pool);
    validatePriority(priority);
    this.#run((c) => setPriority(c, pool, id, priority));
  }

  async remove(pool: string, filter: TaskFilter): Promise<number> {
    assertPoolName(pool);
    if (filter === undefined || filter === null) {
      throw new ValidationError([{ path: 'filter', message: 'remove needs a filter' }], { hint: 'pass {} explicitly to remove every task in the pool' });
    }
    return this.#run((c) => remove(c, pool, filter));
  }

  async stat(pool: string, filter?: TaskFilter): Promise<StatusCounts> {
    assertPoolName(pool);
    return this.#run((c) => stat(c, pool, filter));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.db.close();
  }
}
