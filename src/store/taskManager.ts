import { hostname } from 'node:os';
import { QtaskError, TaskNotFoundError, ValidationError } from '../errors.ts';
import type { JsonValue, TaskDef, TaskDocument, TaskStatus } from '../task/types.ts';
import { assertPoolName } from './pool.ts';
import type { CreateTasksResult, Lease, StatusCounts, TaskFilter, TaskStore } from './types.ts';
import { assertPositiveMs, assertSettableStatus, assertStatus } from './validate.ts';

/** A task handed out by `fetchTask`: the stored document plus the lease every later write must present. */
export type FetchedTask = TaskDocument & { lease: Lease };

/** `wait()` ran out of time. Code `WAIT_TIMEOUT`; `counts` is the last status count seen. */
export class WaitTimeoutError extends QtaskError {
  readonly counts: StatusCounts;
  constructor(timeoutMs: number, counts: StatusCounts) {
    super('WAIT_TIMEOUT', `tasks still unfinished after ${timeoutMs} ms: ${JSON.stringify(counts)}`, {
      hint: 'start more workers, raise --timeout, or look for stuck running tasks (`qtask reset`)',
    });
    this.counts = counts;
  }
}

export interface TaskManagerOptions {
  /** Where `createTask` writes its "Total Tasks: N, New Tasks: M" line. Default: stderr. */
  log?: (line: string) => void;
  /** Worker id recorded on fetched tasks. Default `<hostname>:<pid>`. */
  worker?: string;
  /** Lease length for `fetchTask`, in ms. Default 300000 (5 min). */
  leaseMs?: number;
}

export interface FetchOptions {
  /** Only tasks matching this filter. Default `{}`. */
  query?: TaskFilter;
  /** Status to fetch from. Default `waiting`. */
  status?: TaskStatus;
  /** Default: the manager's worker id. */
  worker?: string;
  /** Default: the manager's lease length. */
  leaseMs?: number;
  /** Default 3 (see `ClaimOptions.maxAttempts`). */
  maxAttempts?: number;
  excludeIds?: string[];
}

export interface WaitOptions {
  /** Only tasks matching this filter. Default `{}`. */
  query?: TaskFilter;
  /** Give up (WaitTimeoutError) after this long. Default: wait forever. */
  timeoutMs?: number;
  /** First poll interval; it grows ×1.5 per poll up to `maxPollMs`. Default 500. */
  pollMs?: number;
  /** Longest poll interval. Default 10000 (qlib's fixed 10 s). */
  maxPollMs?: number;
  /** Called after every poll with the counts and the number still unfinished. */
  onProgress?: (counts: StatusCounts, unfinished: number) => void;
}

const UNFINISHED: TaskStatus[] = ['waiting', 'running', 'part_done'];

/**
 * qlib's `TaskManager` API (camelCase) over any `TaskStore` and one pool. Differences from qlib:
 * fetched tasks carry a lease and commits are fenced by it; `remove` has no default filter;
 * `resetStatus`/`resetWaiting`/`cancel` return counts; `wait` has a timeout and backs off.
 */
export class TaskManager {
  readonly store: TaskStore;
  readonly pool: string;
  readonly #log: (line: string) => void;
  readonly #worker: string;
  readonly #leaseMs: number;

  constructor(store: TaskStore, pool: string, opts: TaskManagerOptions = {}) {
    assertPoolName(pool);
    this.store = store;
    this.pool = pool;
    this.#log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#worker = opts.worker ?? `${hostname()}:${process.pid}`;
    this.#leaseMs = opts.leaseMs ?? 300_000;
    assertPositiveMs(this.#leaseMs, 'leaseMs');
  }

  /** Pool names in the store (qlib: collection names). */
  static async list(store: TaskStore): Promise<string[]> {
    return store.listPools();
  }

  /**
   * Inserts the new definitions (deduplicated by canonical hash) and returns all ids in input order
   * plus the summary line, which is also logged. Under `dryRun` nothing is written and new
   * definitions get `null` ids (qlib returned `[]`).
   */
  async createTask(defs: TaskDef[], opts: { dryRun?: boolean; priority?: number } = {}): Promise<CreateTasksResult & { summary: string }> {
    const result = await this.store.createTasks(this.pool, defs, opts);
    const summary = `Total Tasks: ${defs.length}, New Tasks: ${result.created}${opts.dryRun ? ' (dry run)' : ''}`;
    this.#log(summary);
    return { ...result, summary };
  }

  /** Inserts one definition (or finds its existing task) and returns its id. */
  async insertTaskDef(def: TaskDef): Promise<string> {
    const { ids } = await this.store.createTasks(this.pool, [def]);
    return ids[0]!;
  }

  async replaceTask(task: TaskDocument | string, newDef: TaskDef): Promise<void> {
    await this.store.replaceTask(this.pool, idOf(task), newDef);
  }

  /** Claims the best matching task (priority desc, then oldest) and returns it with its lease, or null. */
  async fetchTask(opts: FetchOptions = {}): Promise<FetchedTask | null> {
    if (opts.status !== undefined) assertStatus(opts.status);
    const claimed = await this.store.claim(this.pool, {
      query: opts.query ?? {},
      status: opts.status ?? 'waiting',
      worker: opts.worker ?? this.#worker,
      leaseMs: opts.leaseMs ?? this.#leaseMs,
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      ...(opts.excludeIds !== undefined ? { excludeIds: opts.excludeIds } : {}),
    });
    return claimed === null ? null : { ...claimed.task, lease: claimed.lease };
  }

  /**
   * qlib's `safe_fetch_task` as a callback: fetches a task, runs `fn(task)` (or `fn(null)` when
   * nothing is available) and returns its value. If `fn` throws, the task goes back to the status
   * it was fetched from (unless it was committed or taken over meanwhile) and the error is re-thrown.
   */
  async safeFetchTask<T>(fn: (task: FetchedTask | null) => T | Promise<T>, opts: FetchOptions = {}): Promise<T> {
    const task = await this.fetchTask(opts);
    try {
      return await fn(task);
    } catch (e) {
      if (task !== null) {
        const current = await this.store.get(this.pool, task._id);
        if (current?.status === 'running' && current.leaseToken === task.lease.token) {
          await this.store.release(this.pool, task.lease, { status: opts.status ?? 'waiting' }).catch(() => undefined);
        }
      }
      throw e;
    }
  }

  /** Matching tasks, priority desc then oldest first. */
  async query(filter: TaskFilter = {}, opts: { limit?: number } = {}): Promise<TaskDocument[]> {
    return this.store.find(this.pool, filter, opts);
  }

  /** The task with this id; `TaskNotFoundError` if there is none. */
  async reQuery(id: string): Promise<TaskDocument> {
    const task = await this.store.get(this.pool, id);
    if (task === null) throw new TaskNotFoundError(id, this.pool);
    return task;
  }

  /** Stores `res` and moves the task to `status`; `LeaseLostError` if the fetched lease is no longer current. */
  async commitTaskRes(task: FetchedTask, res: JsonValue, status: TaskStatus = 'done'): Promise<void> {
    assertSettableStatus(status);
    await this.store.commit(this.pool, leaseOf(task), res, status);
  }

  /** Gives a fetched task back (default to `waiting`). */
  async returnTask(task: FetchedTask, status: TaskStatus = 'waiting', error?: { message: string; code: string }): Promise<void> {
    assertSettableStatus(status);
    await this.store.release(this.pool, leaseOf(task), { status, ...(error ? { error } : {}) });
  }

  /** Deletes matching tasks. There is no default: pass `{}` explicitly to empty the pool. */
  async remove(filter: TaskFilter): Promise<number> {
    if (filter === undefined || filter === null) {
      throw new ValidationError([{ path: 'filter', message: 'remove needs a filter' }], { hint: 'pass {} explicitly to remove every task in the pool' });
    }
    return this.store.remove(this.pool, filter);
  }

  async taskStat(filter: TaskFilter = {}): Promise<StatusCounts> {
    return this.store.stat(this.pool, filter);
  }

  /**
   * qlib's `reset_waiting`: matching tasks go back to `waiting`; with no `status` in the filter
   * only `running` ones. Their workers lose their leases. Returns the count.
   */
  async resetWaiting(filter: TaskFilter = {}): Promise<number> {
    const f = 'status' in filter ? filter : { ...filter, status: 'running' };
    return this.store.setStatus(this.pool, f, 'waiting');
  }

  /** Sets `status` on every matching task; returns the count (qlib printed it). */
  async resetStatus(filter: TaskFilter, status: TaskStatus): Promise<number> {
    assertSettableStatus(status);
    return this.store.setStatus(this.pool, filter, status);
  }

  async prioritize(task: TaskDocument | string, priority: number): Promise<void> {
    return this.store.setPriority(this.pool, idOf(task), priority);
  }

  /** Cancels matching unfinished tasks (waiting, part_done, running); running workers lose their lease. */
  async cancel(filter: TaskFilter = {}): Promise<number> {
    return this.store.setStatus(this.pool, { $and: [filter, { status: { $in: UNFINISHED } }] }, 'cancelled');
  }

  /** Resolves with the final counts once no matching task is waiting, running or part_done. */
  async wait(opts: WaitOptions = {}): Promise<StatusCounts> {
    const timeoutMs = opts.timeoutMs ?? Infinity;
    if (timeoutMs !== Infinity) assertPositiveMs(timeoutMs, 'timeoutMs');
    let poll = opts.pollMs ?? 500;
    assertPositiveMs(poll, 'pollMs');
    const maxPoll = opts.maxPollMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await this.store.stat(this.pool, opts.query ?? {});
      const unfinished = UNFINISHED.reduce((n, s) => n + (counts[s] ?? 0), 0);
      opts.onProgress?.(counts, unfinished);
      if (unfinished === 0) return counts;
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(timeoutMs, counts);
      await new Promise((r) => setTimeout(r, Math.min(poll, left)));
      poll = Math.min(maxPoll, poll * 1.5);
    }
  }

  toString(): string {
    return `TaskManager(${this.store.url}, pool=${this.pool})`;
  }
}

function idOf(task: TaskDocument | string): string {
  return typeof task === 'string' ? task : task._id;
}

function leaseOf(task: FetchedTask): Lease {
  if (typeof task !== 'object' || task === null || typeof task.lease !== 'object' || task.lease === null) {
    throw new ValidationError([{ path: 'task.lease', message: 'this task was not fetched (it has no lease)' }], {
      hint: 'commit or return only tasks obtained from fetchTask / safeFetchTask',
    });
  }
  return task.lease;
}
