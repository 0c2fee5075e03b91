/**
 * The MongoDB TaskStore: a pool is a collection; a task is one plain document (`def`, `filter`,
 * `res` as JSON, status/lease/bookkeeping fields beside them, BSON dates for times). Every
 * lease-holding write is ONE atomic document operation whose filter carries the fencing token.
 *
 * Verified against FerretDB 1.24 (SQLite handler); see docs/mongodb.md for what assumes MongoDB ≥ 5.
 */
import { MongoBulkWriteError, MongoClient, ObjectId } from 'mongodb';
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter, MongoClientOptions, UpdateFilter } from 'mongodb';
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
import { decodeTask, newStoredTask, WELL_FORMED, wrapNestedArrays } from './mongodb/codec.ts';
import { matchesCondition, parseFilter } from './filter/index.ts';
import type { Condition } from './filter/index.ts';
import type { StoredTask } from './mongodb/codec.ts';
import { isConnectionFailure, toStoreError } from './mongodb/errors.ts';
import { toMongoFilter } from './mongodb/filter.ts';
import { claimTicketId, endTicketId, isDuplicateKey, takeTicket, takeTickets, ticketState, undoClaim } from './mongodb/tickets.ts';
import type { ClaimTicket, EndTicket, Ticket } from './mongodb/tickets.ts';
import { checkFilter } from './mongodb/filterCheck.ts';
import { assertPoolName } from './pool.ts';
import { validateDefs, validatePriority } from './sqlite/create.ts';
import { assertLease, assertPositiveInt, assertPositiveMs, assertSettableStatus, assertStatus } from './validate.ts';
import { databaseFromUrl, INTERNAL_PREFIX, redactMongoUrl, validatePoolName } from './mongodb/url.ts';

export type { TimeSource } from './mongodb/clock.ts';

export interface MongoStoreOptions {
  /**
   * `auto` (default) uses `$$NOW` on the server when it evaluates it in update pipelines and
   * `$expr`, and a measured clock offset otherwise; `offset` forces the offset path; `server`
   * demands `$$NOW` and fails with `STORE_CAPABILITY` when the server lacks it.
   */
  time?: 'auto' | TimeSource;
  /**
   * Make claims exclusive with an insert into a ticket collection (unique `_id` = pool:task:attempt)
   * instead of trusting `findOneAndUpdate` to be atomic. Default: on for FerretDB (whose 1.x
   * updates are read-then-replace, so two concurrent claimers can both "win"), off for MongoDB.
   */
  claimTickets?: boolean;
  /** How long to look for a reachable server before failing with `STORE_UNREACHABLE`. Default 4000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Re-measure the server clock offset after this long (offset path). Default 30 000 ms. */
  clockRefreshMs?: number;
  /** Where warnings (e.g. a malformed foreign document skipped) go. Default: one line on stderr. */
  warn?: (message: string) => void;
  /**
   * After a successful connect, how long an operation keeps retrying (exponential backoff, one log
   * line per outage) while the server is unreachable before failing with `STORE_UNREACHABLE`.
   * Heartbeats are never retried here: the runner retries them and fences itself. Default 120 000 ms.
   */
  reconnectMs?: number;
  /** A request with no reply for this long fails (a cut link must not hang a worker). Default 30 000 ms. */
  socketTimeoutMS?: number;
  /** Extra driver options (TLS, auth mechanism…), merged over qtask's defaults. */
  driver?: MongoClientOptions;
  /**
   * Called after every server command with its name, collection and duration (diagnostics and
   * benchmarks: where a claim's time goes). Default: none, and commands are not monitored.
   */
  onCommand?: (e: { command: string; collection: string; filterKeys: string[]; ms: number; ok: boolean }) => void;
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
      socketTimeoutMS: opts.socketTimeoutMS ?? 30_000,
      appName: 'qtask',
      ...(opts.onCommand ? { monitorCommands: true } : {}),
      ...opts.driver,
    });
    if (opts.onCommand) observeCommands(client, opts.onCommand);
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
    // `hello` needs no credentials; this does, so a missing or wrong login fails here, not mid-run.
    await db.command({ listCollections: 1, nameOnly: true, filter: { name: `${INTERNAL_PREFIX}_none` } });
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
    const warn = opts.warn ?? ((m: string) => process.stderr.write(`qtask: warning: ${m}\n`));
    const info = await db.admin().command({ buildInfo: 1 });
    const ferret = typeof info['ferretdbVersion'] === 'string';
    const store = new MongoTaskStore(client, db, safeUrl, clock, time, warn, opts.reconnectMs ?? 120_000);
    store.claimTickets = opts.claimTickets ?? ferret;
    store.ferret = ferret;
    store.reclaimEveryMs = ferret ? 5_000 : 0;
    store.server = ferret ? `FerretDB ${String(info['ferretdbVersion'])}` : `MongoDB ${String(info['version'])}`;
    return store;
  } catch (e) {
    await client.close().catch(() => undefined);
    throw toStoreError(e, safeUrl, 'connect');
  }
}

export class MongoTaskStore implements TaskStore {
  private readonly indexed = new Map<string, Promise<void>>();
  /** See `MongoStoreOptions.claimTickets`. */
  claimTickets = false;
  /** Claim candidates per pool/status/query, refilled by one scan (ticket path). */
  private readonly candidates = new Map<
    string,
    { list: Pick<StoredTask, '_id' | 'attempts'>[]; at: number; scanMs: number; wastedMs: number; lost: number; won: number }
  >();
  /** Claim tickets met taken while their task still looked claimable: ticket id → first seen (ms). */
  private readonly suspects = new Map<string, number>();
  /** Attempts this process holds (ticket path): `pool\0taskId` → token and attempt, so a commit need not re-read its task. */
  private readonly held = new Map<string, { token: string; attempt: number }>();
  private readonly lastReclaim = new Map<string, number>();
  private readonly openedAt = Date.now();
  /** How long the last expiry sweep of each pool took; sweeps are spaced by at least SWEEP_SPACING times that. */
  private readonly sweepMs = new Map<string, number>();
  /** How often a claim first sweeps expired leases (FerretDB: 5 s, and whenever nothing else is claimable; MongoDB: every claim). */
  reclaimEveryMs = 0;
  /**
   * FerretDB 1.x: user filters are evaluated here by the shared evaluator (the SQLite store's), as
   * its matching differs from MongoDB's (no nested arrays, fewer operators); nested arrays are
   * wrapped on write. Off for MongoDB, which evaluates filters itself.
   */
  ferret = false;
  /** What answered on connect, e.g. `FerretDB v1.24.2` or `MongoDB 7.0.12`. */
  server = 'unknown';
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
    private readonly reconnectMs: number = 120_000,
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
    validateDefs(defs);
    const priority = opts.priority ?? 0;
    validatePriority(priority);
    const hashes = defs.map((def) => taskHash(def));
    return this.op('createTasks', async (isRetry) => {
      this.candidates.clear();
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
      const docs = unique.map((h) => newStoredTask(firstDef.get(h)!, h, priority, now, this.ferret));
      let inserted = 0;
      // Our own _ids are the ids of the documents we inserted; only the duplicates need a lookup.
      let duplicates: string[] = [];
      if (docs.length > 0) {
        try {
          inserted = (await coll.insertMany(docs, { ordered: false })).insertedCount;
        } catch (e) {
          // Duplicates (E11000) are definitions that already exist: the unique index decided.
          if (!(e instanceof MongoBulkWriteError)) throw e;
          const errors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
          if (errors.some((w) => w.code !== 11000)) throw e;
          inserted = e.insertedCount;
          duplicates = errors.map((w) => docs[w.index]!.hash);
        }
      }
      const found = isRetry ? await this.idsByHash(coll, unique) : await this.idsByHash(coll, duplicates);
      if (!isRetry) {
        const dup = new Set(duplicates);
        for (const d of docs) if (!dup.has(d.hash)) found.set(d.hash, d._id.toHexString());
      }
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
    validateDefs([def], 'def');
    const _id = parseId(id);
    if (!_id) throw new TaskNotFoundError(id, pool);
    await this.op('replaceTask', async () => {
      this.candidates.clear();
      await this.ensureIndexes(pool, coll);
      try {
        const stored = this.store(def) as TaskDef;
        const r = await coll.updateOne({ _id }, { $set: { def: stored, filter: stored, hash: taskHash(def) } });
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
    const js = this.jsCondition(filter);
    return this.op('find', async () => {
      if (opts.limit === 0) return [];
      if (js) return this.scan(pool, coll, js, sort, opts.limit);
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
    const status: TaskStatus = opts.status ?? 'waiting';
    assertSettableStatus(status, 'status');
    assertPositiveMs(opts.leaseMs, 'leaseMs');
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertPositiveInt(maxAttempts, 'maxAttempts');
    if (typeof opts.worker !== 'string' || opts.worker === '') {
      throw new ValidationError([{ path: 'worker', message: 'a worker id is required' }]);
    }
    const { status: _ignored, ...userQuery } = opts.query ?? {};
    const userFilter = this.filter(userQuery);
    const js = this.jsCondition(userQuery);
    const exclude = (opts.excludeIds ?? []).map(parseId).filter((x): x is ObjectId => x !== null);
    const excludeHex = new Set(exclude.map((x) => x.toHexString()));
    const token = newLeaseToken();
    return this.op('claim', async (isRetry) => {
      // A claim whose reply was lost may have been applied: take that task rather than a second one.
      // On the ticket path the ticket may have gone in without the task write: the attempt is ours.
      const earlier = isRetry
        ? ((await coll.findOne({ leaseToken: token, status: 'running' })) ?? (this.claimTickets ? await this.resumeOwnTicket(pool, coll, token, status) : null))
        : null;
      // Expired leases first go back to the status they were claimed from (or to failed), as in
      // reclaimExpired; then the claim itself is ONE findOneAndUpdate.
      let reclaimed = false;
      // Throttled (FerretDB): the first sweep of a pool comes reclaimEveryMs after the store opened
      // (or as soon as nothing else is claimable), so that a starting worker does not pay a
      // whole-pool scan before its first task; sweeps are spaced by 20x what a whole-pool scan
      // costs, so that N workers on a big pool do not each rescan it every few seconds.
      const sinceSweep = Date.now() - (this.lastReclaim.get(pool) ?? (this.reclaimEveryMs > 0 ? this.openedAt : 0));
      if (!earlier && sinceSweep >= Math.max(this.reclaimEveryMs, SWEEP_SPACING * (this.reclaimEveryMs > 0 ? this.scanCost(pool) : 0))) {
        this.lastReclaim.set(pool, Date.now());
        await this.reclaim(pool, coll, maxAttempts);
        reclaimed = true;
      }
      const parts: Filter<StoredTask>[] = [{ status }, WELL_FORMED as unknown as Filter<StoredTask>];
      if (!js && Object.keys(userFilter).length > 0) parts.push(userFilter);
      // The ticket path skips excluded ids itself: a `$nin` of every task a worker ran would be
      // evaluated in Go against every document of each scan.
      if (exclude.length > 0 && !this.claimTickets) parts.push({ _id: { $nin: exclude } });
      // Flat when it can be: FerretDB's PostgreSQL handler pushes a top-level `status` equality down
      // to SQL, but nothing inside `$and`.
      const claimFilter: Filter<StoredTask> = parts.length === 2 ? ({ status, ...WELL_FORMED } as Filter<StoredTask>) : { $and: parts };
      const now = this.clock.now();
      const update: UpdateFilter<StoredTask> | Document[] =
        this.timeSource === 'server'
          ? [
              {
                $set: {
                  status: 'running',
                  claimedFrom: '$status',
                  leaseToken: { $literal: token },
                  leaseExpiresAt: { $add: ['$$NOW', opts.leaseMs] },
                  startedAt: '$$NOW',
                  finishedAt: null,
                  worker: { $literal: opts.worker },
                  attempts: { $add: [{ $ifNull: ['$attempts', 0] }, 1] },
                },
              },
            ]
          : {
              $set: {
                status: 'running',
                claimedFrom: status,
                leaseToken: token,
                leaseExpiresAt: new Date(now.getTime() + opts.leaseMs),
                startedAt: now,
                finishedAt: null,
                worker: opts.worker,
              },
              $inc: { attempts: 1 },
            };
      const doc =
        earlier ??
        (this.claimTickets
          ? await this.claimWithTicket(pool, coll, claimFilter, js, `${pool}\u0000${status}\u0000${JSON.stringify(userQuery)}`, excludeHex, {
              token,
              worker: opts.worker,
              leaseMs: opts.leaseMs,
              status,
            })
          : await coll.findOneAndUpdate(claimFilter, update, {
              sort: { priority: -1, createdAt: 1, _id: 1 },
              returnDocument: 'after',
            }));
      if (!doc) {
        // Nothing claimable: expired leases may be what is left (the sweep above is throttled on FerretDB).
        if (reclaimed || earlier) return null;
        this.lastReclaim.set(pool, Date.now());
        if ((await this.reclaim(pool, coll, maxAttempts)) === 0) return null;
        return this.claim(pool, { ...opts, worker: opts.worker });
      }
      const task = decodeTask(doc);
      if ('problem' in task) {
        throw new StoreError('TASK_MALFORMED', `claimed task ${doc._id.toHexString()} is malformed: ${task.problem}`);
      }
      if (this.claimTickets) {
        // Leases lost without a final write stay here; forgetting them only costs a read at commit.
        if (this.held.size >= 10_000) this.held.clear();
        this.held.set(`${pool}\u0000${task._id}`, { token, attempt: task.attempts });
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
    assertLease(lease);
    assertPositiveMs(leaseMs, 'leaseMs');
    return this.op(
      'heartbeat',
      async () => {
        const fence = fenceOf(lease);
        if (!fence) throw new LeaseLostError(lease.taskId);
        const update: UpdateFilter<StoredTask> | Document[] =
          this.timeSource === 'server'
            ? [{ $set: { leaseExpiresAt: { $add: ['$$NOW', leaseMs] } } }]
            : { $set: { leaseExpiresAt: new Date(this.clock.now().getTime() + leaseMs) } };
        if (this.claimTickets) {
          // FerretDB: read and write by `_id` alone (pushed down to SQLite); a filter with the token
          // would be evaluated in Go over the pool. Its update is read-then-replace either way.
          const cur = await coll.findOne({ _id: fence._id as ObjectId });
          if (!cur || cur.status !== 'running' || cur.leaseToken !== lease.token) throw new LeaseLostError(lease.taskId);
          const expiresAt = new Date(this.clock.now().getTime() + leaseMs);
          await coll.updateOne({ _id: fence._id as ObjectId }, { $set: { leaseExpiresAt: expiresAt } });
          return { ...lease, expiresAt: expiresAt.toISOString() };
        }
        // No projection: FerretDB 1.x does not implement findAndModify's `fields`.
        const doc = await coll.findOneAndUpdate(fence, update, { returnDocument: 'after' });
        if (!doc || !(doc.leaseExpiresAt instanceof Date)) throw new LeaseLostError(lease.taskId);
        return { ...lease, expiresAt: doc.leaseExpiresAt.toISOString() };
      },
      false,
    );
  }

  async commit(pool: string, lease: Lease, res: JsonValue, status: TaskStatus = 'done'): Promise<void> {
    const coll = this.coll(pool);
    assertLease(lease);
    assertSettableStatus(status);
    assertJsonValue(res);
    await this.fencedWrite(pool, coll, lease, 'commit', { status, res: this.store(res), finishedAt: finishedAtFor(status, this.clock.now()) });
  }

  async release(pool: string, lease: Lease, opts: ReleaseOptions = {}): Promise<void> {
    const coll = this.coll(pool);
    assertLease(lease);
    const status = opts.status ?? 'waiting';
    assertSettableStatus(status);
    const now = this.clock.now();
    const err = opts.error;
    this.candidates.clear();
    await this.fencedWrite(pool, coll, lease, 'release', {
      status,
      finishedAt: finishedAtFor(status, now),
      ...(err ? { lastError: { message: String(err.message), code: String(err.code), worker: lease.worker, at: now } } : {}),
    });
  }

  async fail(pool: string, lease: Lease, error: { message: string; code: string }): Promise<void> {
    const coll = this.coll(pool);
    assertLease(lease);
    const now = this.clock.now();
    await this.fencedWrite(pool, coll, lease, 'fail', {
      status: 'failed',
      finishedAt: now,
      lastError: { message: String(error.message), code: String(error.code), worker: lease.worker, at: now },
    });
  }

  async reclaimExpired(pool: string, opts: { maxAttempts?: number } = {}): Promise<number> {
    const coll = this.coll(pool);
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertPositiveInt(maxAttempts, 'maxAttempts');
    return this.op('reclaimExpired', () => this.reclaim(pool, coll, maxAttempts));
  }

  async setStatus(pool: string, filter: TaskFilter, status: TaskStatus): Promise<number> {
    const coll = this.coll(pool);
    assertStatus(status);
    assertSettableStatus(status);
    const native = this.filter(filter);
    const js = this.jsCondition(filter);
    return this.op('setStatus', async () => {
      this.candidates.clear();
      const query = js ? await this.idsMatching(pool, coll, js) : native;
      const now = this.clock.now();
      const clear = { leaseToken: null, leaseExpiresAt: null };
      if (this.claimTickets) {
        // Their holders are fenced by end tickets (a commit on this path checks those, not the document).
        const running = await coll
          .find({ $and: [query, { status: 'running' }] })
          .project<Pick<StoredTask, '_id' | 'attempts' | 'leaseToken'>>({ _id: 1, attempts: 1, leaseToken: 1 })
          .toArray();
        await this.endAttempts(pool, running, 'setStatus', { status, finishedAt: finishedAtFor(status, now), ...clear });
      }
      // Tasks already in `status` keep their finishedAt; the others get the new status's.
      const kept = await coll.updateMany({ $and: [query, { status }] }, { $set: clear });
      const moved = await coll.updateMany({ $and: [query, { status: { $ne: status } }] }, { $set: { status, finishedAt: finishedAtFor(status, now), ...clear } });
      return moved.matchedCount + kept.matchedCount;
    });
  }

  async setPriority(pool: string, id: string, priority: number): Promise<void> {
    const coll = this.coll(pool);
    validatePriority(priority);
    const _id = parseId(id);
    if (!_id) throw new TaskNotFoundError(id, pool);
    await this.op('setPriority', async () => {
      this.candidates.clear();
      const r = await coll.updateOne({ _id }, { $set: { priority } });
      if (r.matchedCount === 0) throw new TaskNotFoundError(id, pool);
    });
  }

  async remove(pool: string, filter: TaskFilter): Promise<number> {
    const coll = this.coll(pool);
    const native = this.filter(filter);
    const js = this.jsCondition(filter);
    return this.op('remove', async () => {
      this.candidates.clear();
      const query = js ? await this.idsMatching(pool, coll, js) : native;
      return (await coll.deleteMany(query)).deletedCount;
    });
  }

  async stat(pool: string, filter: TaskFilter = {}): Promise<StatusCounts> {
    const coll = this.coll(pool);
    const query = this.filter(filter);
    const js = this.jsCondition(filter);
    return this.op('stat', async () => {
      if (js) {
        const out: StatusCounts = {};
        for (const t of await this.scan(pool, coll, js, { _id: 1 })) out[t.status] = (out[t.status] ?? 0) + 1;
        return out;
      }
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
    assertPoolName(pool);
    return this.db.collection<StoredTask>(validatePoolName(pool, this.db.databaseName));
  }

  private filter(filter: TaskFilter): Filter<StoredTask> {
    checkFilter(filter);
    return toMongoFilter(filter);
  }

  /**
   * Runs one store operation, mapping driver errors to StoreErrors. When the server is unreachable
   * the operation is retried with backoff for up to `reconnectMs` (`retry: false` for heartbeats);
   * `body` learns whether it is a retry so fenced writes can recognise their own earlier success.
   */
  private async op<T>(action: string, body: (isRetry: boolean) => Promise<T>, retry = true): Promise<T> {
    let outageStart: number | null = null;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await body(attempt > 0);
        if (outageStart !== null && this.outage === outageStart) {
          this.outage = null;
          this.warn(`MongoDB at ${this.url} reachable again after ${((Date.now() - outageStart) / 1000).toFixed(1)}s`);
        }
        return out;
      } catch (e) {
        if (!retry || !isConnectionFailure(e)) throw toStoreError(e, this.url, action);
        outageStart ??= Date.now();
        if (this.outage === null) {
          this.outage = outageStart;
          this.warn(`MongoDB at ${this.url} unreachable during ${action} (${(e as Error).message}); reconnecting with backoff for up to ${Math.round(this.reconnectMs / 1000)}s`);
        }
        if (Date.now() - outageStart >= this.reconnectMs) throw toStoreError(e, this.url, action);
        const backoff = Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /** Start time of the outage already reported, so one outage is one log line. */
  private outage: number | null = null;

  private ensureIndexes(pool: string, coll: Collection<StoredTask>): Promise<void> {
    let p = this.indexed.get(pool);
    if (!p) {
      // One index per request, and only the missing ones: FerretDB 1.24 panics on a multi-index
      // createIndexes when the indexes already exist.
      p = (async () => {
        const existing = new Set((await coll.listIndexes().toArray().catch(() => [])).map((i) => String(i['name'])));
        if (!existing.has('qtask_hash')) await coll.createIndex({ hash: 1 }, { name: 'qtask_hash', unique: true });
        if (!existing.has('qtask_claim')) await coll.createIndex({ status: 1, priority: -1, createdAt: 1 }, { name: 'qtask_claim' });
      })();
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

  /**
   * The claim for servers whose updates are not atomic compare-and-set (FerretDB 1.x): read the
   * best candidates (one scan serves many claims), then INSERT a ticket `pool:task:attempt` — the
   * unique `_id` lets exactly one claimer win each attempt — and only the winner writes the task, by
   * `_id` alone (pushed down to SQLite). The write returns the document as it was: if the task
   * changed since the scan (cancelled, reprioritised away, removed) the write is undone and the
   * attempt given back. A candidate that a fresh scan still shows at an already ticketed attempt
   * `TICKET_GRACE_MS` after this process first met that ticket lost its winner's write (a crash in
   * between): the task is rolled forward to the ticket's state, runs under that lease, expires, and
   * is reclaimed as usual. When only such attempts are left, the claim settles them (waits out
   * the grace, rolls forward) before it answers "nothing claimable".
   */
  private async claimWithTicket(
    pool: string,
    coll: Collection<StoredTask>,
    filter: Filter<StoredTask>,
    js: Condition | null,
    cacheKey: string,
    exclude: Set<string>,
    c: { token: string; worker: string; leaseMs: number; status: TaskStatus },
  ): Promise<StoredTask | null> {
    const tickets = this.tickets();
    // Attempts found ticketed during this call: their winners are writing them (or died doing so);
    // a rescan that still shows them does not offer them again, so this call does not spin on them.
    const taken = new Set<string>();
    for (let round = 0; round < 200; round++) {
      let entry = this.candidates.get(cacheKey);
      let fresh = false;
      if (!entry || entry.list.length === 0 || Date.now() - entry.at > Math.max(CANDIDATE_TTL_MS, CANDIDATE_TTL_SCANS * entry.scanMs)) {
        fresh = true;
        const t0 = Date.now();
        const list: Pick<StoredTask, '_id' | 'attempts'>[] = [];
        const stillTicketed: { ticketId: string; task: ObjectId; attempt: number }[] = [];
        // FerretDB sorts in Go after decoding every match, whatever the limit, so a long list costs
        // the server nothing more; it goes stale under contention, which the walk below measures.
        const cursor = coll.find(filter).sort({ priority: -1, createdAt: 1, _id: 1 });
        if (!js) cursor.limit(CANDIDATE_BATCH + exclude.size).project<StoredTask>({ _id: 1, attempts: 1 });
        for await (const doc of cursor) {
          if (exclude.has(doc._id.toHexString())) continue;
          if (js) {
            const t = decodeTask(doc);
            if ('problem' in t || !matchesCondition(t, js)) continue;
          }
          const ticketId = claimTicketId(pool, doc._id, doc.attempts + 1);
          if (taken.has(ticketId)) {
            stillTicketed.push({ ticketId, task: doc._id, attempt: doc.attempts + 1 });
            continue;
          }
          list.push({ _id: doc._id, attempts: doc.attempts });
          if (list.length >= CANDIDATE_BATCH) break;
        }
        await cursor.close();
        if (list.length === 0) {
          this.candidates.delete(cacheKey);
          // Nothing claimable but attempts whose ticket is in and whose task write is not (yet):
          // settle them before answering "nothing left", or the last worker of a pool would leave
          // while a dead claimer's task still reads as waiting.
          if (stillTicketed.length === 0) return null;
          const freed = await this.settleTicketed(coll, tickets, stillTicketed);
          for (const id of freed) taken.delete(id);
          if (freed.length === 0 && stillTicketed.every((t) => this.settled.has(t.ticketId))) return null;
          if (freed.length === 0) await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
          continue;
        }
        entry = { list, at: Date.now(), scanMs: Date.now() - t0, wastedMs: 0, lost: 0, won: 0 };
        this.candidates.set(cacheKey, entry);
      }
      // shift(): concurrent claims of this process take different candidates.
      const cand = entry.list.shift()!;
      if (exclude.has(cand._id.toHexString())) continue;
      const attempt = cand.attempts + 1;
      const now = this.clock.now();
      const ticket: ClaimTicket = {
        _id: claimTicketId(pool, cand._id, attempt),
        pool,
        task: cand._id,
        attempt,
        token: c.token,
        worker: c.worker,
        claimedFrom: c.status,
        startedAt: now,
        leaseExpiresAt: new Date(now.getTime() + c.leaseMs),
      };
      const insertStart = Date.now();
      if (!(await takeTicket(tickets, ticket))) {
        // Another process holds the same candidates: stop walking them in the same order. Scan
        // again once the inserts lost to others have cost as much as a fresh scan, or the list is
        // mostly stale (others took most of it), which also bounds a claim's rounds.
        shuffle(entry.list);
        entry.wastedMs += Date.now() - insertStart;
        entry.lost++;
        if (entry.wastedMs >= Math.max(entry.scanMs, MIN_WASTE_BEFORE_RESCAN_MS) || (entry.lost >= STALE_LIST_LOSSES && entry.lost > entry.won)) {
          this.candidates.delete(cacheKey);
        }
        taken.add(ticket._id);
        if (fresh) await this.maybeRollForward(coll, tickets, ticket._id, cand._id, attempt);
        continue;
      }
      this.suspects.delete(ticket._id);
      entry.won++;
      const won = await this.writeClaim(coll, tickets, ticket, c.status);
      if (won) return won;
    }
    return null;
  }

  /**
   * The winner's task write after its ticket went in. The write returns the document as it was: if
   * the task changed since the scan (cancelled, reprioritised away, removed) the write is undone and
   * the ticket deleted, so the attempt can be claimed again.
   */
  private async writeClaim(coll: Collection<StoredTask>, tickets: Collection<Ticket>, ticket: ClaimTicket, status: TaskStatus): Promise<StoredTask | null> {
    const state = ticketState(ticket);
    const before = await coll.findOneAndUpdate({ _id: ticket.task }, { $set: state }, { returnDocument: 'before' });
    if (before && before.status === status && before.attempts === ticket.attempt - 1 && typeof before.hash === 'string') {
      return { ...before, ...state } as StoredTask;
    }
    if (before) await coll.updateOne({ _id: ticket.task }, undoClaim(before));
    await tickets.deleteOne({ _id: ticket._id });
    return null;
  }

  /**
   * A retried claim (its first try lost the connection) whose ticket went in before the cut: the
   * attempt is this claim's, so its task is written now — taking another task instead would leave
   * this one ticketed but unwritten, unclaimable by anyone until a roll-forward.
   */
  private async resumeOwnTicket(pool: string, coll: Collection<StoredTask>, token: string, status: TaskStatus): Promise<StoredTask | null> {
    const tickets = this.tickets();
    const mine = (await tickets.findOne({ pool, token, claimedFrom: { $exists: true } })) as ClaimTicket | null;
    if (!mine) return null;
    return this.writeClaim(coll, tickets, mine, status);
  }

  /**
   * Claim tickets whose task still reads as claimable at the ticketed attempt, when nothing else is
   * left to claim. A ticket that is gone (its claimer found the task changed and gave the attempt
   * back) frees its task: returned, to be claimed. One older than `TICKET_GRACE_MS` lost its winner's
   * write (a crash in between) and is rolled forward; its lease expires and the task runs again.
   * Younger ones are left for the caller to poll: their winner is writing them.
   */
  private async settleTicketed(coll: Collection<StoredTask>, tickets: Collection<Ticket>, list: { ticketId: string; task: ObjectId; attempt: number }[]): Promise<string[]> {
    const freed: string[] = [];
    for (const { ticketId, task, attempt } of list) {
      if (this.settled.has(ticketId)) continue;
      const t = (await tickets.findOne({ _id: ticketId })) as ClaimTicket | null;
      if (!t) {
        freed.push(ticketId);
        continue;
      }
      if (this.clock.now().getTime() - t.startedAt.getTime() < TICKET_GRACE_MS) continue;
      await this.rollForward(coll, t, task, attempt);
      if (this.settled.size > 10_000) this.settled.clear();
      this.settled.add(ticketId);
    }
    return freed;
  }

  /** Claim tickets this process has rolled forward or found written: not waited on again. */
  private readonly settled = new Set<string>();

  private async rollForward(coll: Collection<StoredTask>, t: ClaimTicket, taskId: ObjectId, attempt: number): Promise<void> {
    const doc = await coll.findOne({ _id: taskId });
    if (!doc || (typeof doc.attempts === 'number' ? doc.attempts : 0) >= attempt) return;
    this.warn(`task ${taskId.toHexString()}: attempt ${attempt} was claimed by ${t.worker} but not recorded; restoring that claim`);
    await coll.updateOne({ _id: taskId }, { $set: ticketState(t) });
  }

  /**
   * A ticketed attempt whose task a fresh scan still shows as claimable: suspicious only if it
   * stays so for `TICKET_GRACE_MS` (its winner may just be between ticket and write). Only then are
   * the ticket and the task read.
   */
  private async maybeRollForward(
    coll: Collection<StoredTask>,
    tickets: Collection<Ticket>,
    ticketId: string,
    taskId: ObjectId,
    attempt: number,
  ): Promise<void> {
    const first = this.suspects.get(ticketId);
    if (first === undefined) {
      if (this.suspects.size > 10_000) this.suspects.clear();
      this.suspects.set(ticketId, Date.now());
      return;
    }
    if (Date.now() - first < TICKET_GRACE_MS) return;
    this.suspects.delete(ticketId);
    const t = (await tickets.findOne({ _id: ticketId })) as ClaimTicket | null;
    if (!t || this.clock.now().getTime() - t.startedAt.getTime() < TICKET_GRACE_MS) return;
    await this.rollForward(coll, t, taskId, attempt);
  }

  /** The parsed filter when this store evaluates it itself (FerretDB and a non-empty filter), else null. */
  private jsCondition(filter: TaskFilter): Condition | null {
    if (!this.ferret || Object.keys(filter).length === 0) return null;
    return parseFilter(filter);
  }

  /** Well-formed tasks of a pool in `sort` order that match `cond` (decoded, malformed ones skipped). */
  private async scan(pool: string, coll: Collection<StoredTask>, cond: Condition, sort: Document, limit?: number): Promise<TaskDocument[]> {
    const out: TaskDocument[] = [];
    const cursor = coll.find({}).sort(sort);
    for await (const doc of cursor) {
      const task = this.decode(pool, doc);
      if (task && matchesCondition(task, cond)) out.push(task);
      if (limit !== undefined && out.length >= limit) break;
    }
    await cursor.close();
    return out;
  }

  private async idsMatching(pool: string, coll: Collection<StoredTask>, cond: Condition): Promise<Filter<StoredTask>> {
    const ids = (await this.scan(pool, coll, cond, { _id: 1 })).map((t) => new ObjectId(t._id));
    return { _id: { $in: ids } };
  }

  /** A JSON value as this server stores it (see `wrapNestedArrays`). */
  private store(value: JsonValue): JsonValue {
    return this.ferret ? wrapNestedArrays(value) : value;
  }

  /** Running tasks whose lease deadline has passed, by the server's clock. */
  private expiredFilter(): Filter<StoredTask> {
    return this.timeSource === 'server'
      ? { status: 'running', leaseExpiresAt: { $type: 'date' }, $expr: { $lt: ['$leaseExpiresAt', '$$NOW'] } }
      : { status: 'running', leaseExpiresAt: { $lt: this.clock.now() } };
  }

  /**
   * Expired leases go back to the status they were claimed from, or to `failed` once
   * `attempts >= maxAttempts`; `lastError` records LEASE_EXPIRED with the worker that lost it.
   * Each task is one updateOne fenced by ITS token (sent as one bulk request), so a worker that
   * heartbeats in between keeps its task and two reclaimers never both count it.
   */
  private async reclaim(pool: string, coll: Collection<StoredTask>, maxAttempts: number): Promise<number> {
    const t0 = Date.now();
    try {
      return await this.reclaimOnce(pool, coll, maxAttempts);
    } finally {
      this.sweepMs.set(pool, Date.now() - t0);
    }
  }

  private async reclaimOnce(pool: string, coll: Collection<StoredTask>, maxAttempts: number): Promise<number> {
    // FerretDB pushes a plain equality down to SQLite but evaluates `$lt` on dates in Go over the
    // whole pool, so there the deadline is compared here (against the same server-clock estimate).
    const cutoff = this.clock.now().getTime();
    const expired = (
      await coll
        .find(this.ferret ? { status: 'running' } : this.expiredFilter())
        .project<Pick<StoredTask, '_id' | 'leaseToken' | 'attempts' | 'worker' | 'claimedFrom' | 'leaseExpiresAt'>>({
          _id: 1,
          leaseToken: 1,
          attempts: 1,
          worker: 1,
          claimedFrom: 1,
          leaseExpiresAt: 1,
        })
        .toArray()
    ).filter((t) => !this.ferret || (t.leaseExpiresAt instanceof Date && t.leaseExpiresAt.getTime() < cutoff));
    if (expired.length === 0) return 0;
    const now = this.clock.now();
    if (this.claimTickets) return this.reclaimTicketed(pool, coll, expired, maxAttempts, now);
    const ops = expired.map(
      (t) =>
        ({
          updateOne: { filter: { _id: t._id, status: 'running', leaseToken: t.leaseToken }, update: { $set: expiryState(t, maxAttempts, now) } },
        }) satisfies AnyBulkWriteOperation<StoredTask>,
    );
    const r = await coll.bulkWrite(ops, { ordered: false });
    if (r.modifiedCount > 0) this.candidates.clear();
    return r.modifiedCount;
  }

  /**
   * Ticket path of the expiry sweep: one insertMany of end tickets decides which expired attempts
   * this sweep ends (a commit or another sweep may have ended them first); the won tasks are
   * written by `_id` in one bulk request. A task still running under an attempt whose end ticket
   * is older than `TICKET_GRACE_MS` lost that write (a crash in between, or a stale replace won
   * FerretDB's race): it is rolled forward to the ticket's state.
   */
  private async reclaimTicketed(
    pool: string,
    coll: Collection<StoredTask>,
    expired: Pick<StoredTask, '_id' | 'leaseToken' | 'attempts' | 'worker' | 'claimedFrom'>[],
    maxAttempts: number,
    now: Date,
  ): Promise<number> {
    const withSet = expired
      .filter((t) => typeof t.attempts === 'number' && typeof t.leaseToken === 'string')
      .map((t) => ({ t, set: expiryState(t, maxAttempts, now) }));
    const ends: EndTicket[] = withSet.map(({ t, set }) => ({
      _id: endTicketId(pool, t._id, t.attempts),
      pool,
      task: t._id,
      attempt: t.attempts,
      token: t.leaseToken!,
      by: 'expire',
      set,
      at: now,
    }));
    const tickets = this.tickets();
    const lost = await takeTickets(tickets, ends);
    const won = withSet.filter((_, i) => !lost.has(ends[i]!._id));
    if (won.length > 0) {
      await coll.bulkWrite(
        won.map(({ t, set }) => ({ updateOne: { filter: { _id: t._id }, update: { $set: set } } }) satisfies AnyBulkWriteOperation<StoredTask>),
        { ordered: false },
      );
      this.candidates.clear();
    }
    for (const e of ends) {
      if (!lost.has(e._id)) continue;
      const t = (await tickets.findOne({ _id: e._id })) as EndTicket | null;
      if (!t || t.token !== e.token || now.getTime() - t.at.getTime() < TICKET_GRACE_MS) continue;
      this.warn(`task ${e.task.toHexString()}: attempt ${e.attempt} was ended (${t.by}) but the task still shows it running; restoring the ending`);
      await coll.updateOne({ _id: e.task }, { $set: t.set });
      this.candidates.clear();
    }
    return won.length;
  }

  /**
   * One `updateOne` whose filter is the fencing token: the write happens only while the task is
   * `running` under this lease. Clears the lease. On the ticket path (FerretDB) the fence is an end
   * ticket instead — see `fencedWriteTicketed`.
   */
  private async fencedWrite(pool: string, coll: Collection<StoredTask>, lease: Lease, action: string, set: Document): Promise<void> {
    await this.op(action, async (isRetry) => {
      const fence = fenceOf(lease);
      if (!fence) throw new LeaseLostError(lease.taskId);
      const full = { ...set, leaseToken: null, leaseExpiresAt: null, lastLeaseToken: lease.token };
      if (this.claimTickets) return this.fencedWriteTicketed(pool, coll, lease, fence._id as ObjectId, action, full, isRetry);
      // lastLeaseToken lets a retried write recognise that its first try went through.
      const r = await coll.updateOne(fence, { $set: full });
      if (r.matchedCount === 0) {
        if (isRetry && (await coll.findOne({ _id: fence._id as ObjectId, lastLeaseToken: lease.token })) !== null) return;
        throw new LeaseLostError(lease.taskId);
      }
    });
  }

  /**
   * Ticket path: the lease is checked (against what this process holds, else by reading the task
   * by `_id`), then the attempt is ended by inserting `end:pool:task:attempt` — the one atomic step;
   * a reclaimer, an operator's setStatus or a second commit that got there first fences this one
   * out — and only then is the task written, by `_id` alone.
   */
  private async fencedWriteTicketed(
    pool: string,
    coll: Collection<StoredTask>,
    lease: Lease,
    _id: ObjectId,
    action: string,
    set: Document,
    isRetry: boolean,
  ): Promise<void> {
    const key = `${pool}\u0000${lease.taskId}`;
    const mine = this.held.get(key);
    let attempt: number;
    if (mine && mine.token === lease.token && !isRetry) {
      attempt = mine.attempt;
    } else if (mine && mine.attempt === lease.attempt && mine.token !== lease.token) {
      throw new LeaseLostError(lease.taskId);
    } else {
      const doc = await coll.findOne({ _id });
      if (!doc) throw new LeaseLostError(lease.taskId);
      if (isRetry && doc.lastLeaseToken === lease.token) return; // our first try went through
      if (doc.status !== 'running' || doc.leaseToken !== lease.token || typeof doc.attempts !== 'number') throw new LeaseLostError(lease.taskId);
      attempt = doc.attempts;
    }
    const end: EndTicket = { _id: endTicketId(pool, _id, attempt), pool, task: _id, attempt, token: lease.token, by: action, set, at: this.clock.now() };
    const tickets = this.tickets();
    if (!(await takeTicket(tickets, end))) {
      const t = isRetry ? ((await tickets.findOne({ _id: end._id })) as EndTicket | null) : null;
      if (!t || t.by !== action || t.token !== lease.token) {
        this.held.delete(key);
        throw new LeaseLostError(lease.taskId);
      }
    }
    this.held.delete(key);
    const r = await coll.updateOne({ _id }, { $set: set });
    if (r.matchedCount === 0) throw new LeaseLostError(lease.taskId);
  }

  /**
   * What a whole-pool scan of `pool` costs here: the last sweep's duration, or before the first
   * sweep the longest candidate scan of the pool (the same Go-side decode of every document).
   */
  private scanCost(pool: string): number {
    const swept = this.sweepMs.get(pool);
    if (swept !== undefined) return swept;
    let ms = 0;
    for (const [key, entry] of this.candidates) if (key.startsWith(`${pool}\u0000`)) ms = Math.max(ms, entry.scanMs);
    return ms;
  }

  private tickets(): Collection<Ticket> {
    return this.db.collection<Ticket>(`${INTERNAL_PREFIX}_tickets`);
  }

  /**
   * Ticket path: ends the running attempts of `tasks` (an operator's setStatus) with end tickets,
   * so their holders' later commits are refused. Attempts already ended are left alone.
   */
  private async endAttempts(pool: string, tasks: Pick<StoredTask, '_id' | 'attempts' | 'leaseToken'>[], by: string, set: Document): Promise<Set<string>> {
    const list: EndTicket[] = tasks
      .filter((t) => typeof t.attempts === 'number' && typeof t.leaseToken === 'string')
      .map((t) => ({ _id: endTicketId(pool, t._id, t.attempts), pool, task: t._id, attempt: t.attempts, token: t.leaseToken!, by, set, at: this.clock.now() }));
    const lost = await takeTickets(this.tickets(), list);
    return new Set(list.filter((t) => !lost.has(t._id)).map((t) => t.task.toHexString()));
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

function shuffle<T>(list: T[]): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
}

/** Candidates one scan yields, and how long they may be used before a fresh scan. */
const CANDIDATE_BATCH = 1_024;
/** Lost ticket inserts on one candidate list cost at least this much before it is rescanned. */
const MIN_WASTE_BEFORE_RESCAN_MS = 20;
/** …or once this many were lost, more than were won. */
const STALE_LIST_LOSSES = 32;
const CANDIDATE_TTL_MS = 2_000;
/** …or for this many times the scan's own duration, so that scans stay a small share of the work on big pools. */
const CANDIDATE_TTL_SCANS = 20;
/** Expiry sweeps (FerretDB) are at least this many times their own duration apart. */
const SWEEP_SPACING = 20;

/** A ticket's winner's write must be visible by then, or the claim is rolled forward. */
const TICKET_GRACE_MS = 5_000;
/** How often a claim that found only in-flight tickets looks again. */
const SETTLE_POLL_MS = 250;

function observeCommands(client: MongoClient, report: NonNullable<MongoStoreOptions['onCommand']>): void {
  const started = new Map<number, { collection: string; filterKeys: string[] }>();
  client.on('commandStarted', (e) => {
    const cmd = e.command as Document;
    const target = cmd[e.commandName];
    // The filter FerretDB decides pushdown on: find's filter, findAndModify's query, the first update/delete's q.
    const first = (list: unknown): Document | undefined => (Array.isArray(list) ? (list[0] as Document | undefined)?.['q'] : undefined);
    const filter = (cmd['filter'] ?? cmd['query'] ?? first(cmd['updates']) ?? first(cmd['deletes'])) as Document | undefined;
    started.set(e.requestId, {
      collection: typeof target === 'string' ? target : String(cmd['collection'] ?? ''),
      filterKeys: filter && typeof filter === 'object' ? Object.keys(filter) : [],
    });
  });
  const done = (ok: boolean) => (e: { requestId: number; commandName: string; duration: number }) => {
    const s = started.get(e.requestId) ?? { collection: '', filterKeys: [] };
    started.delete(e.requestId);
    report({ command: e.commandName, ...s, ms: e.duration, ok });
  };
  client.on('commandSucceeded', done(true));
  client.on('commandFailed', done(false));
}

/** What an expired lease becomes: back to the status it was claimed from, or failed once attempts are used up. */
function expiryState(t: Pick<StoredTask, 'attempts' | 'worker' | 'claimedFrom'>, maxAttempts: number, now: Date): Document {
  const attempts = typeof t.attempts === 'number' ? t.attempts : 0;
  const exhausted = attempts >= maxAttempts;
  const back = isTaskStatus(t.claimedFrom) && t.claimedFrom !== 'running' ? t.claimedFrom : 'waiting';
  const message = exhausted
    ? `lease expired on attempt ${attempts} of ${maxAttempts}; no attempts left`
    : `lease expired on attempt ${attempts}; the worker is presumed dead`;
  return {
    status: exhausted ? 'failed' : back,
    lastError: { message, code: 'LEASE_EXPIRED', worker: typeof t.worker === 'string' ? t.worker : null, at: now },
    finishedAt: exhausted ? now : null,
    leaseToken: null,
    leaseExpiresAt: null,
  };
}

const TERMINAL: readonly TaskStatus[] = ['done', 'failed', 'cancelled'];

/** Terminal statuses get a finish time; the others (waiting, part_done) have none. */
function finishedAtFor(status: TaskStatus, now: Date): Date | null {
  return TERMINAL.includes(status) ? now : null;
}
