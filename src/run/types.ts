import type { JsonValue, TaskStatus } from '../task/types.ts';
import type { TaskStore, TaskFilter } from '../store/types.ts';

/** What a task function gets besides its parameter. */
export interface TaskContext {
  taskId: string;
  /** 1 for the first run of this task, 2 for the first retry, … */
  attempt: number;
  /** Id of the worker running it (`host:pid:random` unless set). */
  worker: string;
  /**
   * Fires when the lease was lost (another worker may now hold the task) or the worker is returning
   * the task because it is shutting down. Its `reason` says which. A result returned after it fired
   * is not stored.
   */
  signal: AbortSignal;
  /** Writes one line to the worker's log, prefixed with the task id. */
  log(msg: string): void;
}

/** A task function: gets `task.def` (claimed from `waiting`) or `task.res` (claimed from `part_done`). */
export type TaskFn = (param: JsonValue, ctx: TaskContext) => JsonValue | Promise<JsonValue>;

/**
 * Names a task function by module and export, so a fresh child process can load it again
 * (`forceRelease`). `module` is a path relative to the cwd, a package name, or `qtask:NAME` for a
 * built-in. `export` defaults to `default`.
 */
export interface TaskFnSpec {
  module: string;
  export?: string;
}

export interface RunLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

/**
 * How one claimed task ended:
 * - `done`: result committed with `afterStatus`;
 * - `failed`: moved to `failed` (non-retryable error, result not JSON, or attempts used up);
 * - `released`: threw; returned to `beforeStatus` for another attempt;
 * - `returned`: the worker shut down before it finished; returned to `beforeStatus`;
 * - `lease_lost`: the lease was taken over; nothing of this run was written.
 */
export type TaskOutcome = 'done' | 'failed' | 'released' | 'returned' | 'lease_lost';

export interface RunStats {
  /** Tasks claimed (and run) by this call. */
  ran: number;
  succeeded: number;
  failed: number;
  /** Returned for a retry after a retryable error. */
  released: number;
  /** Returned because of shutdown. */
  returned: number;
  leaseLost: number;
}

export type RunEvent =
  | { type: 'claimed'; taskId: string; attempt: number; worker: string }
  | {
      type: 'finished';
      taskId: string;
      attempt: number;
      worker: string;
      outcome: TaskOutcome;
      durationMs: number;
      error?: { message: string; code: string };
    }
  | { type: 'log'; taskId: string; worker: string; msg: string }
  | { type: 'heartbeat_error'; taskId: string; worker: string; message: string };

export interface RunTaskOptions {
  store: TaskStore;
  pool: string;
  /** Only tasks matching this filter. Default `{}`. */
  query?: TaskFilter;
  /** Status to claim from: `waiting` (fn gets `def`) or `part_done` (fn gets `res`). Default `waiting`. */
  beforeStatus?: TaskStatus;
  /** Status a successful result is committed with. Default `done`. */
  afterStatus?: TaskStatus;
  /**
   * Run each task in a fresh child process (qlib's `force_release`), so memory is returned and a
   * crash only costs that task. Needs a `TaskFnSpec`, not a closure. Default false.
   */
  forceRelease?: boolean;
  /** Lease length in ms. Default 60000. */
  leaseMs?: number;
  /** Heartbeat interval in ms. Default `leaseMs / 3`. */
  heartbeatMs?: number;
  /** Attempts per task before it is `failed`. Default 3. */
  maxAttempts?: number;
  /** Worker id recorded on each task. Default `host:pid:random`. */
  worker?: string;
  /** Aborting it stops claiming; the running task gets `graceMs` to finish, then is returned. */
  signal?: AbortSignal;
  /** Aborting it returns the running task at once (second Ctrl-C). */
  forceSignal?: AbortSignal;
  /** How long a running task may keep running after `signal` fired. Default 30000. */
  graceMs?: number;
  /** Default: silent. */
  logger?: RunLogger;
  onEvent?: (event: RunEvent) => void;
  /** Filled in as tasks finish (pass your own object to read it while running). */
  stats?: RunStats;
  /**
   * Ids never to claim; runTask adds every id it runs, so a run never takes a task twice (qlib's
   * part_done→part_done loop never ended). Pass the same set to several calls to share it. Default: a new set.
   */
  ranIds?: Set<string>;
}

export function emptyStats(): RunStats {
  return { ran: 0, succeeded: 0, failed: 0, released: 0, returned: 0, leaseLost: 0 };
}
