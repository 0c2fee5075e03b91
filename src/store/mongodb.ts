/**
 * The MongoDB TaskStore: a pool is a collection; a task is one plain document (`def`, `filter`,
 * `res` as JSON, status/lease/bookkeeping fields beside them, BSON dates for times). Every
 * lease-holding write is ONE atomic document operation whose filter carries the fencing token.
 *
 * Verified against FerretDB 1.24 (SQLite handler); see docs/mongodb.md for what assumes MongoDB ≥ 5.
 */
import { MongoBulkWriteError, MongoClient, ObjectId } from 'mongodb';
import type { Collection, Db, Document, Filter, MongoClientOptions, UpdateFilter } from 'mongodb';
import { LeaseLostError, StoreError, TaskNotFoundError, ValidationError } from '../errors.ts';
import { taskHash } from '../task/canonical.ts';
import type { JsonValue, TaskDef, TaskDocument, TaskStatus } from '../task/types.ts';
import { isTaskStatus } from '../task/types.ts';
import { newLeaseToken } from './ids.ts';
import { assertJsonValue } from './jsonCheck.ts';
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
import { ServerClock, serverSupportsNow } from './mongodb/clock.ts';
import type { TimeSource } from './mongodb/clock.ts';
import { decodeTask, newStoredTask, WELL_FORMED } from './mongodb/codec.ts';
import type { StoredTask } from './mongodb/codec.ts';
import { toStoreError } from './mongodb/errors.ts';
import { toMongoFilter } from './mongodb/filter.ts';
import { checkFilter } from './mongodb/filterCheck.ts';
import { databaseFromUrl, INTERNAL_PREFIX, redactMongoUrl, validatePoolName } from './mongodb/url.ts';

export type { TimeSource } from './mongodb/clock.ts';

export interface MongoStoreOptions {
  /**
   * `auto` (default) uses `$$NOW` on the server when it evaluates it in update pipelines and
   * `$expr`, and a measured clock offset otherwise; `offset` forces the offset path; `server`
   * demands `$$NOW` and fails with `STORE_CAPABILITY` when the server lacks it.
   */
  time?: 'auto' | TimeSource;
  /** How long to look for a reachable server before failing with `STORE_UNREACHABLE`. Default 4000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Re-measure the server clock offset after this long (offset path). Default 30 000 ms. */
  clockRefreshMs?: number;
  /** Where warnings (e.g. a malformed foreign document skipped) go. Default: one line on stderr. */
  warn?: (message: string) => void;
  /** Extra driver options (TLS, auth mechanism…), merged over qtask's defaults. */
  driver?: MongoClientOptions;
}

const DEFAULT_MAX_ATTEMPTS = 3;
/** `find` of ids after `createTasks`: hashes per query, well under the 16 MB command limit. */
const HASH_CHUNK = 5_000;

/**
 * Connects to the server named by `url` (database from its path, default `qtask`) and returns a
 * TaskStore. Fails fast: a malformed URL is `STORE_URL`, no server within
 * `serverSelectionTimeoutMS` is `STORE_UNREACHABLE`, refused credentials are `STORE_AUTH`.
 */
export async function openMongoStore(url: string, opts: MongoStoreOptions = {}): Promise<MongoTaskStore> {
  const safeUrl = redactMongoUrl(url);
  const database = databaseFromUrl(url);
  let client: MongoClient;
  try {
    client = new MongoClient(url, {
      serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 4_000,
      connectTimeoutMS: opts.serverSelectionTimeoutMS ?? 4_000,
      appName: 'qtask',
      ...opts.driver,
    });
  } catch (cause) {
    throw new StoreError('STORE_URL', `malformed MongoDB URL ${safeUrl}: ${(cause as Error).message.replaceAll(url, safeUrl)}`, {
      path: 'store',
      hint: 'use mongodb://[USER:PASSWORD@]HOST[:PORT][/DATABASE][?OPTIONS]',
      cause,
    });
  }
  try {
    await client.connect();
    const db = client.db(database);
    const clock = new ServerClock(db, { refreshMs: opts.clockRefreshMs ?? 30_000 });
    await clock.sync();
    const wanted = opts.time ?? 'auto';
    let time: TimeSource = 'offset';
    if (wanted !== 'offset') {
      const hasNow = await serverSupportsNow(db);
      if (wanted === 'server' && !hasNow) {
        throw new StoreError('STORE_CAPABILITY', `MongoDB at ${safeUrl} does not evaluate $$NOW in update pipelines`, {
          hint: 'use time: "auto" (measured clock offset) or MongoDB ≥ 4.2',
        });
      }
      time = hasNow ? 'server' : 'offset';
    }
    return new MongoTaskStore(client, db, safeUrl, clock, time, opts.warn ?? ((m) => process.stderr.write(`qtask: warning: ${m}\n`)));
  } catch (e) {
    await client.close().catch(() => undefined);
    throw toStoreError(e, safeUrl, 'connect');
  }
}

export class MongoTaskStore implements TaskStore {
  private readonly indexed = new Map<string, Promise<void>>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    readonly url: string,
    /** The server clock estimate (used for `createdAt` always, and for leases on the offset path). */
    readonly clock: ServerClock,
    /** Where lease times come from; see `TimeSource`. */
    readonly timeSource: TimeSource,
    private readonly warn: (message: string) => void,
  ) {}

  async listPools(): Promise<string[]> {
    return this.op('listPools', async () => {
      const cols = await this.db.listCollections({}, { nameOnly: true }).toArray();
      return cols
        .map((c) => c.name)
        .filter((n) => !n.startsWith(INTERNAL_PREFIX) && !n.startsWith('system.'))
        .sort();
    });
  }

  async createTasks(pool: string, defs: TaskDef[], opts: { dryRun?: boolean; priority?: number } = {}): Promise<CreateTasksResult> {
    const coll = this.coll(pool);
    const hashes = defs.map((def, i) => {
      assertTaskDef(def, `defs[${i}]`);
      return taskHash(def);
    });
    const priority = opts.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new ValidationError([{ path: 'priority', message: 'must be a finite number' }]);
    }
    return this.op('createTasks', async () => {
      const unique = [...new Set(hashes)];
      if (opts.dryRun) {
        const found = await this.idsByHash(coll, unique);
        const ids = hashes.map((h) => found.get(h) ?? null);
        const created = unique.filter((h) => !found.has(h)).length;
        return { ids, created, existing: defs.length - created };
      }
      await this.ensureIndexes(pool, coll);
      const firstDef = new Map<string, TaskDef>();
      hashes.forEach((h, i) => firstDef.has(h) || firstDef.set(h, defs[i]!));
      const now = this.clock.now();
      const docs = unique.map((h) => newStoredTask(firstDef.get(h)!, h, priority, now));
      let inserted = 0;
      if (docs.length > 0) {
        try {
          inserted = (await coll.insertMany(docs, { ordered: false })).insertedCount;
        } catch (e) {
          // Duplicates (E11000) are definitions that already exist: the unique index decided.
          if (!(e instanceof MongoBulkWriteError)) throw e;
          const other = (Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors]).find((w) => w.code !== 11000);
          if (other) throw e;
          inserted = e.insertedCount;
        }
      }
      const found = await this.idsByHash(coll, unique);
      const ids = hashes.map((h) => {
        const id = found.get(h);
        if (id === undefined) throw new StoreError('STORE_OP', `task with hash ${h} vanished while it was being created`);
        return id;
      });
      return { ids, created: inserted, existing: defs.length - inserted };
    });
  }

  async replaceTask(pool: string, id: string, def: TaskDef): Promise<void> {
    const coll = this.coll(pool);
    assertTaskDef(def, 'def');
    const _id = parseId(id);
    if (!_id) throw new TaskNotFoundError(id, pool);
    await this.op('replaceTask', async () => {
      await this.ensureIndexes(pool, coll);
      try {
        const r = await coll.updateOne({ _id }, { $set: { def, filter: def, hash: taskHash(def) } });
        if (r.matchedCount === 0) throw new TaskNotFoundError(id, pool);
      } catch (e) {
        if (e instanceof Error && (e as { code?: unknown }).code === 11000) {
          throw new StoreError('TASK_DUPLICATE', `another task in pool ${JSON.stringify(pool)} already has this definition`, {
            path: 'def',
            hint: 'find it with `qtask query` and remove one of the two',
          });
        }
        throw e;
      }
    });
  }

  async find(pool: string, filter: TaskFilter = {}, opts: FindOptions = {}): Promise<TaskDocument[]> {
    const coll = this.coll(pool);
    const query = this.filter(filter);
    const sort: Document = opts.sort === 'created' ? { createdAt: 1, _id: 1 } : { priority: -1, createdAt: 1, _id: 1 };
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
      throw new ValidationError([{ path: 'limit', message: 'must be a non-negative integer' }]);
    }
    return this.op('find', async () => {
      if (opts.limit === 0) return [];
      let cursor = coll.find(query).sort(sort);
      if (opts.limit !== undefined) cursor = cursor.limit(opts.limit);
      const out: TaskDocument[] = [];
      for await (const doc of cursor) {
        const task = this.decode(pool, doc);
        if (task) out.push(task);
      }
      return out;
    });
  }

  async get(pool: string, id: string): Promise<TaskDocument | null> {
    const coll = this.coll(pool);
    const _id = parseId(id);
    if (!_id) return null;
    return this.op('get', async () => {
      const doc = await coll.findOne({ _id });
      if (!doc) return null;
      const task = decodeTask(doc);
      if ('problem' in task) {
        throw new StoreError('TASK_MALFORMED', `task ${id} in pool ${JSON.stringify(pool)} is malformed: ${task.problem}`, {
          path: '_id',
          hint: 'it was probably written by another tool; fix or remove it (`qtask remove`)',
        });
      }
      return task;
    });
  }

  async claim(pool: string, opts: ClaimOptions): Promise<ClaimedTask | null> {
    const coll = this.coll(pool);
    const status = opts.status ?? 'waiting';
    if (!isTaskStatus(status)) throw new ValidationError([{ path: 'status', message: `unknown status ${JSON.stringify(status)}` }]);
    assertLeaseMs(opts.leaseMs);
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const { status: _ignored, ...userQuery } = opts.query ?? {};
    const userFilter = this.filter(userQuery);
    const exclude = (opts.excludeIds ?? []).map(parseId).filter((x): x is ObjectId => x !== null);
    const token = newLeaseToken();
    return this.op('claim', async () => {
      if (status === 'waiting') await this.failExhausted(coll, maxAttempts);
      const server = this.timeSource === 'server';
      const now = this.clock.now();
      const expired: Filter<StoredTask> = server
        ? { status: 'running', leaseExpiresAt: { $type: 'date' }, attempts: { $lt: maxAttempts }, $expr: { $lt: ['$leaseExpiresAt', '$$NOW'] } }
        : { status: 'running', leaseExpiresAt: { $lt: now }, attempts: { $lt: maxAttempts } };
      const statusCond: Filter<StoredTask> = status === 'waiting' ? { $or: [{ status: 'waiting' }, expired] } : { status };
      const parts: Filter<StoredTask>[] = [statusCond, WELL_FORMED as Filter<StoredTask>];
      if (Object.keys(userFilter).length > 0) parts.push(userFilter);
      if (exclude.length > 0) parts.push({ _id: { $nin: exclude } });
      const update: UpdateFilter<StoredTask> | Document[] = server
        ? [
            {
              $set: {
                status: 'running',
                leaseToken: { $literal: token },
                leaseExpiresAt: { $add: ['$$NOW', opts.leaseMs] },
                startedAt: '$$NOW',
                worker: { $literal: opts.worker },
                attempts: { $add: [{ $ifNull: ['$attempts', 0] }, 1] },
              },
            },
          ]
        : {
            $set: {
              status: 'running',
              leaseToken: token,
              leaseExpiresAt: new Date(now.getTime() + opts.leaseMs),
              startedAt: now,
              worker: opts.worker,
            },
            $inc: { attempts: 1 },
          };
      const doc = await coll.findOneAndUpdate({ $and: parts }, update, {
        sort: { priority: -1, createdAt: 1, _id: 1 },
        returnDocument: 'after',
      });
      if (!doc) return null;
      const task = decodeTask(doc);
      if ('problem' in task) {
        throw new StoreError('TASK_MALFORMED', `claimed task ${doc._id.toHexString()} is malformed: ${task.problem}`);
      }
      const lease: Lease = {
        taskId: task._id,
        token,
        expiresAt: task.leaseExpiresAt ?? new Date(now.getTime() + opts.leaseMs).toISOString(),
        worker: opts.worker,
        attempt: task.attempts,
      };
      return { task, lease };
    });
  }

  async heartbeat(pool: string, lease: Lease, leaseMs: number): Promise<Lease> {
    const coll = this.coll(pool);
    assertLeaseMs(leaseMs);
    return this.op('heartbeat', async () => {
      const fence = fenceOf(lease);
      if (!fence) throw new LeaseLostError(lease.taskId);
      const update: UpdateFilter<StoredTask> | Document[] =
        this.timeSource === 'server'
          ? [{ $set: { leaseExpiresAt: { $add: ['$$NOW', leaseMs] } } }]
          : { $set: { leaseExpiresAt: new Date(this.clock.now().getTime() + leaseMs) } };
      // No projection: FerretDB 1.x does not implement findAndModify's `fields`.
      const doc = await coll.findOneAndUpdate(fence, update, { returnDocument: 'after' });
      if (!doc || !(doc.leaseExpiresAt instanceof Date)) throw new LeaseLostError(lease.taskId);
      return { ...lease, expiresAt: doc.leaseExpiresAt.toISOString() };
    });
  }

  async commit(pool: string, lease: Lease, res: JsonValue, status: TaskStatus = 'done'): Promise<void> {
    const coll = this.coll(pool);
    assertJsonValue(res);
    if (!isTaskStatus(status)) throw new ValidationError([{ path: 'status', message: `unknown status ${JSON.stringify(status)}` }]);
    await this.fencedWrite(coll, lease, 'commit', { status, res, finishedAt: this.clock.now() }, { status, res: { $literal: res }, finishedAt: '$$NOW' });
  }

  async release(pool: string, lease: Lease, opts: ReleaseOptions = {}): Promise<void> {
    const coll = this.coll(pool);
    const status = opts.status ?? 'waiting';
    if (!isTaskStatus(status)) throw new ValidationError([{ path: 'status', message: `unknown status ${JSON.stringify(status)}` }]);
    const err = opts.error;
    const now = this.clock.now();
    const lastError = err ? { message: err.message, code: err.code, worker: lease.worker } : undefined;
    await this.fencedWrite(
      coll,
      lease,
      'release',
      { status, ...(lastError ? { lastError: { ...lastError, at: now } } : {}) },
      { status, ...(lastError ? { lastError: errorExpr(lastError) } : {}) },
    );
  }

  async fail(pool: string, lease: Lease, error: { message: string; code: string }): Promise<void> {
    const coll = this.coll(pool);
    const now = this.clock.now();
    const lastError = { message: error.message, code: error.code, worker: lease.worker };
    await this.fencedWrite(
      coll,
      lease,
      'fail',
      { status: 'failed', finishedAt: now, lastError: { ...lastError, at: now } },
      { status: 'failed', finishedAt: '$$NOW', lastError: errorExpr(lastError) },
    );
  }

  async reclaimExpired(pool: string, opts: { maxAttempts?: number } = {}): Promise<number> {
    const coll = this.coll(pool);
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    return this.op('reclaimExpired', async () => {
      const failed = await this.failExhausted(coll, maxAttempts);
      const r = await coll.updateMany(
        { $and: [this.expiredFilter(), { attempts: { $lt: maxAttempts } }] },
        { $set: { status: 'waiting', leaseToken: null, leaseExpiresAt: null } },
      );
      return failed + r.modifiedCount;
    });
  }

  async setStatus(pool: string, filter: TaskFilter, status: TaskStatus): Promise<number> {
    const coll = this.coll(pool);
    if (!isTaskStatus(status)) throw new ValidationError([{ path: 'status', message: `unknown status ${JSON.stringify(status)}` }]);
    const query = this.filter(filter);
    return this.op('setStatus', async () => {
      const r = await coll.updateMany(query, { $set: { status, leaseToken: null, leaseExpiresAt: null } });
      return r.matchedCount;
    });
  }

  async setPriority(pool: string, id: string, priority: number): Promise<void> {
    const coll = this.coll(pool);
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new ValidationError([{ path: 'priority', message: 'must be a finite number' }]);
    }
    const _id = parseId(id);
    if (!_id) throw new TaskNotFoundError(id, pool);
    await this.op('setPriority', async () => {
      const r = await coll.updateOne({ _id }, { $set: { priority } });
      if (r.matchedCount === 0) throw new TaskNotFoundError(id, pool);
    });
  }

  async remove(pool: string, filter: TaskFilter): Promise<number> {
    const coll = this.coll(pool);
    const query = this.filter(filter);
    return this.op('remove', async () => (await coll.deleteMany(query)).deletedCount);
  }

  async stat(pool: string, filter: TaskFilter = {}): Promise<StatusCounts> {
    const coll = this.coll(pool);
    const query = this.filter(filter);
    return this.op('stat', async () => {
      const rows = await coll
        .aggregate<{ _id: unknown; n: number }>([
          { $match: { $and: [WELL_FORMED, query] } },
          { $group: { _id: '$status', n: { $sum: 1 } } },
        ])
        .toArray();
      const out: StatusCounts = {};
      for (const row of rows) if (isTaskStatus(row._id)) out[row._id] = row.n;
      return out;
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // ---- internals -------------------------------------------------------------------------

  private coll(pool: string): Collection<StoredTask> {
    return this.db.collection<StoredTask>(validatePoolName(pool, this.db.databaseName));
  }

  private filter(filter: TaskFilter): Filter<StoredTask> {
    checkFilter(filter);
    return toMongoFilter(filter);
  }

  private async op<T>(action: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      throw toStoreError(e, this.url, action);
    }
  }

  private ensureIndexes(pool: string, coll: Collection<StoredTask>): Promise<void> {
    let p = this.indexed.get(pool);
    if (!p) {
      p = coll
        .createIndexes([
          { key: { hash: 1 }, name: 'qtask_hash', unique: true },
          { key: { status: 1, priority: -1, createdAt: 1 }, name: 'qtask_claim' },
        ])
        .then(() => undefined);
      p.catch(() => this.indexed.delete(pool));
      this.indexed.set(pool, p);
    }
    return p;
  }

  private async idsByHash(coll: Collection<StoredTask>, hashes: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < hashes.length; i += HASH_CHUNK) {
      const chunk = hashes.slice(i, i + HASH_CHUNK);
      const docs = coll.find({ hash: { $in: chunk } }, { projection: { _id: 1, hash: 1 } });
      for await (const d of docs) found.set(d.hash, d._id.toHexString());
    }
    return found;
  }

  /** Running tasks whose lease deadline has passed, by the server's clock. */
  private expiredFilter(): Filter<StoredTask> {
    return this.timeSource === 'server'
      ? { status: 'running', leaseExpiresAt: { $type: 'date' }, $expr: { $lt: ['$leaseExpiresAt', '$$NOW'] } }
      : { status: 'running', leaseExpiresAt: { $lt: this.clock.now() } };
  }

  /** Moves expired tasks that used all their attempts to `failed` (LEASE_EXPIRED). */
  private async failExhausted(coll: Collection<StoredTask>, maxAttempts: number): Promise<number> {
    const now = this.clock.now();
    const lastError = { message: `lease expired after ${maxAttempts} attempt(s)`, code: 'LEASE_EXPIRED' };
    const filter = { $and: [this.expiredFilter(), { attempts: { $gte: maxAttempts } }] };
    const r =
      this.timeSource === 'server'
        ? await coll.updateMany(filter, [
            {
              $set: {
                status: 'failed',
                leaseToken: null,
                leaseExpiresAt: null,
                finishedAt: '$$NOW',
                lastError: { message: { $literal: lastError.message }, code: lastError.code, worker: '$worker', at: '$$NOW' },
              },
            },
          ])
        : await coll.updateMany(filter, {
            $set: { status: 'failed', leaseToken: null, leaseExpiresAt: null, finishedAt: now, lastError: { ...lastError, worker: null, at: now } },
          });
    return r.modifiedCount;
  }

  /**
   * One `updateOne` whose filter is the fencing token: the write happens only while the task is
   * `running` under this lease. Clears the lease. `serverSet` is the `$$NOW` pipeline form.
   */
  private async fencedWrite(
    coll: Collection<StoredTask>,
    lease: Lease,
    action: string,
    offsetSet: Document,
    serverSet: Document,
  ): Promise<void> {
    await this.op(action, async () => {
      const fence = fenceOf(lease);
      if (!fence) throw new LeaseLostError(lease.taskId);
      const clear = { leaseToken: null, leaseExpiresAt: null };
      const update: UpdateFilter<StoredTask> | Document[] =
        this.timeSource === 'server'
          ? [{ $set: { ...serverSet, ...clear } }]
          : { $set: { ...offsetSet, ...clear } };
      const r = await coll.updateOne(fence, update);
      if (r.matchedCount === 0) throw new LeaseLostError(lease.taskId);
    });
  }

  private decode(pool: string, doc: Record<string, unknown>): TaskDocument | null {
    const task = decodeTask(doc);
    if (!('problem' in task)) return task;
    const id = doc['_id'] instanceof ObjectId ? doc['_id'].toHexString() : String(doc['_id']);
    const key = `${pool}/${id}`;
    if (!this.warned.has(key)) {
      this.warned.add(key);
      this.warn(`skipping malformed document ${id} in pool ${JSON.stringify(pool)}: ${task.problem}`);
    }
    return null;
  }
}

/** A lastError object for an update pipeline: user text as literals, the time from `$$NOW`. */
function errorExpr(e: { message: string; code: string; worker: string }): Document {
  return { message: { $literal: e.message }, code: { $literal: e.code }, worker: { $literal: e.worker }, at: '$$NOW' };
}

function parseId(id: unknown): ObjectId | null {
  return typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : null;
}

function fenceOf(lease: Lease): Filter<StoredTask> | null {
  const _id = parseId(lease.taskId);
  if (!_id || typeof lease.token !== 'string') return null;
  return { _id, leaseToken: lease.token, status: 'running' };
}

function assertLeaseMs(ms: unknown): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new ValidationError([{ path: 'leaseMs', message: 'must be a positive number of milliseconds' }]);
  }
}

function assertTaskDef(def: unknown, path: string): asserts def is TaskDef {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) {
    throw new ValidationError([{ path, message: 'a task definition must be a JSON object' }]);
  }
  assertJsonValue(def, path);
}
