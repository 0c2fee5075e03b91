import type { JsonObject, JsonValue, TaskDef, TaskDocument, TaskStatus } from '../task/types.ts';

/**
 * A MongoDB-style filter over the task document, e.g.
 * `{"def.model.class": "LinearModel", status: {$in: ["waiting", "running"]}}`.
 * qlib's `filter.*` paths address the same data as `def.*`.
 * Supported operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $nor $not $regex $size $all $elemMatch.
 * Anything else is a `QueryError` with code `QUERY_OPERATOR`.
 */
export type TaskFilter = JsonObject;

/** A claimed task's lease: the fencing token that every later write for this run must present. */
export interface Lease {
  taskId: string;
  token: string;
  /** ISO-8601. */
  expiresAt: string;
  worker: string;
  /** The attempt number this claim started (1 for the first run). */
  attempt: number;
}

export interface ClaimOptions {
  /** Only tasks matching this filter (its `status` key, if any, is overridden by `status`). Default `{}`. */
  query?: TaskFilter;
  /** Status to claim from (qlib's `before_status`). Default `waiting`. */
  status?: TaskStatus;
  /** Worker id recorded on the task. */
  worker: string;
  /** Lease length in ms. */
  leaseMs: number;
  /**
   * A task whose lease expired is claimable again while `attempts < maxAttempts`; one that has used
   * them all is moved to `failed` (lastError code `LEASE_EXPIRED`) instead. Default 3.
   */
  maxAttempts?: number;
  /** Ids this caller must not be given (runTask passes the ids it already ran, so a run never takes a task twice). */
  excludeIds?: string[];
}

export interface ClaimedTask {
  task: TaskDocument;
  lease: Lease;
}

export interface CreateTasksResult {
  /** One id per input definition, in input order; `null` for new definitions under `dryRun`. */
  ids: (string | null)[];
  /** How many definitions were new (inserted, or would be under `dryRun`). */
  created: number;
  /** How many already existed (their id is returned whatever their status). */
  existing: number;
}

export interface ReleaseOptions {
  /** Status to return the task to. Default `waiting`. */
  status?: TaskStatus;
  /** Error to record in `lastError` (a failed attempt). */
  error?: { message: string; code: string };
}

export type StatusCounts = Partial<Record<TaskStatus, number>>;

export interface FindOptions {
  limit?: number;
  /** Default: priority desc, then creation asc. */
  sort?: 'priority' | 'created';
}

/**
 * The store contract. Every backend (SQLite, MongoDB) implements exactly this and is proven by
 * `test/store/conformance.ts`. A pool is a named set of tasks inside the store (qlib's collection).
 *
 * Lease-holding writes (`heartbeat`, `commit`, `release`, `fail`) take the `Lease` from `claim` and
 * change nothing — throwing `LeaseLostError` — unless the task is still `running` under that token.
 */
export interface TaskStore {
  /** The store URL with credentials redacted. */
  readonly url: string;

  /** Pool names, sorted. */
  listPools(): Promise<string[]>;

  /**
   * Inserts the definitions that are new (by canonical hash, unique per pool) and returns every
   * id in input order. Race-free under concurrent creators: the unique index decides.
   */
  createTasks(pool: string, defs: TaskDef[], opts?: { dryRun?: boolean; priority?: number }): Promise<CreateTasksResult>;

  /** Replaces a task's definition (and hash); status and result are kept. */
  replaceTask(pool: string, id: string, def: TaskDef): Promise<void>;

  find(pool: string, filter?: TaskFilter, opts?: FindOptions): Promise<TaskDocument[]>;
  get(pool: string, id: string): Promise<TaskDocument | null>;

  /**
   * One atomic operation: picks the best task in `status` (priority desc, then creation asc, then id) —
   * including a `running` task whose lease expired and that was claimed from `status` (so an
   * expired second-stage `part_done` run is retaken from `part_done`, not `waiting`); expired tasks
   * out of attempts become `failed` first (see `maxAttempts`) — sets it `running`
   * with a fresh lease, increments `attempts`, sets `startedAt` and `worker`.
   */
  claim(pool: string, opts: ClaimOptions): Promise<ClaimedTask | null>;

  /** Extends the lease by `leaseMs` from now. */
  heartbeat(pool: string, lease: Lease, leaseMs: number): Promise<Lease>;

  /** Stores `res` and moves the task to `status` (default `done`); clears the lease. */
  commit(pool: string, lease: Lease, res: JsonValue, status?: TaskStatus): Promise<void>;

  /** Returns the task (qlib's `return_task`) to `opts.status`, recording `opts.error` if given. */
  release(pool: string, lease: Lease, opts?: ReleaseOptions): Promise<void>;

  /** Moves the task to `failed` with `error` as `lastError`. */
  fail(pool: string, lease: Lease, error: { message: string; code: string }): Promise<void>;

  /**
   * Moves running tasks whose lease expired back to the status they were claimed from (usually
   * `waiting`), or to `failed` when out of attempts; `lastError.code` is `LEASE_EXPIRED`.
   * Returns how many were moved. `claim` does this implicitly.
   */
  reclaimExpired(pool: string, opts?: { maxAttempts?: number }): Promise<number>;

  /**
   * Sets `status` on every matching task (clears leases, so their workers get LeaseLostError).
   * Returns the number changed. `running` is refused (ValidationError): only `claim` starts a run.
   */
  setStatus(pool: string, filter: TaskFilter, status: TaskStatus): Promise<number>;

  setPriority(pool: string, id: string, priority: number): Promise<void>;

  /** Deletes matching tasks; returns the count. No default filter: `{}` removes the whole pool. */
  remove(pool: string, filter: TaskFilter): Promise<number>;

  /** Counts per status of the matching tasks, computed in the store. */
  stat(pool: string, filter?: TaskFilter): Promise<StatusCounts>;

  close(): Promise<void>;
}
