/**
 * `runTask`: qlib's `run_task` loop — claim a task, run the task function, store its result —
 * with leases, heartbeats, fencing, retries and a `failed` state.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LeaseLostError, QtaskError, ValidationError, type ValidationIssue } from '../errors.ts';
import type { ClaimedTask, Lease, TaskStore } from '../store/types.ts';
import { isTaskStatus, type JsonValue, type TaskStatus } from '../task/types.ts';
import { runTaskInChild, type ChildTaskHandle } from './childTask.ts';
import { serializeError } from './errorInfo.ts';
import { assertJsonResult } from './jsonResult.ts';
import { LeaseClock, leaseSafetyMarginMs } from './leaseClock.ts';
import { loadTaskFunction, parseTaskFnSpec, resolveTaskFnModule } from './taskFunction.ts';
import { emptyStats, type RunEvent, type RunStats, type RunTaskOptions, type TaskContext, type TaskFn, type TaskFnSpec, type TaskOutcome } from './types.ts';

/** Statuses a task can be claimed from, and what the task function then receives. */
const PARAM_FIELD: Partial<Record<TaskStatus, 'def' | 'res'>> = { waiting: 'def', part_done: 'res' };

/** Error recorded when a worker returns an unfinished task because it is shutting down. */
export class WorkerShutdownError extends QtaskError {
  constructor(message = 'the worker shut down before the task finished') {
    super('WORKER_SHUTDOWN', message, { hint: 'the task was returned and will run again' });
  }
}

/** `host:pid:random`: unique per process, readable in `qtask query` output. */
export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

interface ResolvedOptions {
  store: TaskStore;
  pool: string;
  query: NonNullable<RunTaskOptions['query']>;
  beforeStatus: TaskStatus;
  afterStatus: TaskStatus;
  leaseMs: number;
  heartbeatMs: number;
  /**
   * Whether a lease that was not renewed within its safe part ends the run (LeaseClock). Only when
   * heartbeats are due before that point: otherwise every task would end so.
   */
  guardDeadline: boolean;
  maxAttempts: number;
  graceMs: number;
  worker: string;
  signal: AbortSignal | undefined;
  forceSignal: AbortSignal | undefined;
  log: (msg: string) => void;
  warn: (msg: string) => void;
  emit: (e: RunEvent) => void;
  stats: RunStats;
  ranIds: Set<string>;
}

type Runnable = { kind: 'inProcess'; fn: TaskFn } | { kind: 'child'; module: string; export: string };

function positive(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

/** Checks every option up front and reports every problem at once; nothing is claimed on error. */
export function validateRunOptions(taskFn: TaskFn | TaskFnSpec | string, o: RunTaskOptions): void {
  const issues: ValidationIssue[] = [];
  const before = o.beforeStatus ?? 'waiting';
  const after = o.afterStatus ?? 'done';
  if (!PARAM_FIELD[before]) {
    issues.push({ path: 'beforeStatus', message: `must be "waiting" or "part_done" (a task claimed from "${String(before)}" has nothing to run on)` });
  }
  if (!isTaskStatus(after) || after === 'running') {
    issues.push({ path: 'afterStatus', message: `"${String(after)}" is not a status a result can be stored with` });
  }
  if (typeof o.pool !== 'string' || !o.pool) issues.push({ path: 'pool', message: 'must be a non-empty string' });
  if (o.leaseMs !== undefined && !positive(o.leaseMs)) issues.push({ path: 'leaseMs', message: 'must be a positive number of milliseconds' });
  if (o.heartbeatMs !== undefined && !positive(o.heartbeatMs)) issues.push({ path: 'heartbeatMs', message: 'must be a positive number of milliseconds' });
  if (o.graceMs !== undefined && !(typeof o.graceMs === 'number' && o.graceMs >= 0)) issues.push({ path: 'graceMs', message: 'must be >= 0' });
  if (o.maxAttempts !== undefined && !(Number.isInteger(o.maxAttempts) && o.maxAttempts >= 1)) {
    issues.push({ path: 'maxAttempts', message: 'must be an integer >= 1' });
  }
  if (o.forceRelease && typeof taskFn === 'function') {
    issues.push({ path: 'taskFn', message: 'forceRelease runs each task in a new process, which cannot receive a closure: pass {module, export} or "module#export"' });
  }
  if (typeof taskFn !== 'function' && typeof taskFn !== 'string' && (typeof taskFn !== 'object' || taskFn === null || typeof taskFn.module !== 'string')) {
    issues.push({ path: 'taskFn', message: 'must be a function, "module#export" or {module, export}' });
  }
  if (issues.length) throw new ValidationError(issues, { source: 'runTask' });
}

function resolveOptions(o: RunTaskOptions): ResolvedOptions {
  const leaseMs = o.leaseMs ?? 60_000;
  const heartbeatMs = o.heartbeatMs ?? leaseMs / 3;
  const worker = o.worker ?? defaultWorkerId();
  const emit = (e: RunEvent) => {
    try {
      o.onEvent?.(e);
    } catch {
      // A broken observer must not break task bookkeeping.
    }
  };
  return {
    store: o.store,
    pool: o.pool,
    query: o.query ?? {},
    beforeStatus: o.beforeStatus ?? 'waiting',
    afterStatus: o.afterStatus ?? 'done',
    leaseMs,
    heartbeatMs,
    guardDeadline: heartbeatMs < leaseMs - leaseSafetyMarginMs(leaseMs),
    maxAttempts: o.maxAttempts ?? 3,
    graceMs: o.graceMs ?? 30_000,
    worker,
    signal: o.signal,
    forceSignal: o.forceSignal,
    log: (m) => o.logger?.info(m),
    warn: (m) => o.logger?.warn(m),
    emit,
    stats: o.stats ?? emptyStats(),
    ranIds: o.ranIds ?? new Set(),
  };
}

async function prepareRunnable(taskFn: TaskFn | TaskFnSpec | string, forceRelease: boolean): Promise<Runnable> {
  if (typeof taskFn === 'function') return { kind: 'inProcess', fn: taskFn };
  const spec = typeof taskFn === 'string' ? parseTaskFnSpec(taskFn) : taskFn;
  if (!forceRelease) return { kind: 'inProcess', fn: await loadTaskFunction(spec) };
  // Resolved once here, so a missing module is an error before anything is claimed, and every
  // child loads the very same file.
  return { kind: 'child', module: resolveTaskFnModule(spec.module), export: spec.export ?? 'default' };
}

/**
 * Claims tasks from `beforeStatus` one at a time and runs `taskFn` on each until none is left
 * (or `signal` fires). Returns whether any task ran. See docs/run.md.
 *
 * - success → result committed with `afterStatus`; the task is not claimed again by this run;
 * - result not JSON → `failed` (`RESULT_NOT_JSON`), no retry;
 * - error with `nonRetryable: true` → `failed` at once;
 * - any other error → returned to `beforeStatus` with `lastError`, or `failed` on its last attempt;
 * - lease lost → `ctx.signal` fires, nothing is written.
 *
 * Throws only for bad options, store failures, or a task function that cannot be loaded in a child.
 */
export async function runTask(taskFn: TaskFn | TaskFnSpec | string, options: RunTaskOptions): Promise<boolean> {
  validateRunOptions(taskFn, options);
  const o = resolveOptions(options);
  if (o.heartbeatMs >= o.leaseMs) o.warn(`heartbeatMs (${o.heartbeatMs}) >= leaseMs (${o.leaseMs}): leases will expire between heartbeats`);
  else if (!o.guardDeadline) {
    o.warn(`heartbeatMs (${o.heartbeatMs}) leaves less than the lease's safety margin (${leaseSafetyMarginMs(o.leaseMs)} ms): a stalled heartbeat is only noticed when it fails`);
  }
  const runnable = await prepareRunnable(taskFn, options.forceRelease ?? false);
  let ranAny = false;
  while (!o.signal?.aborted && !o.forceSignal?.aborted) {
    const claimSentAt = performance.now();
    const claimed = await o.store.claim(o.pool, {
      query: o.query,
      status: o.beforeStatus,
      worker: o.worker,
      leaseMs: o.leaseMs,
      maxAttempts: o.maxAttempts,
      excludeIds: [...o.ranIds],
    });
    if (!claimed) break;
    ranAny = true;
    const clock = new LeaseClock(o.leaseMs, claimSentAt);
    if (clock.remainingMs() <= 0) {
      await giveBackLateClaim(claimed, clock, o);
      continue;
    }
    const outcome = await runClaimed(runnable, claimed, clock, o);
    if (outcome.kind === 'loadError') throw outcome.error;
  }
  return ranAny;
}

type ExecutionResult = { ok: true; res: unknown } | { ok: false; error: unknown };
type RunClaimedResult = { kind: 'finished'; outcome: TaskOutcome } | { kind: 'loadError'; error: QtaskError };

function isLoadError(e: unknown): e is QtaskError {
  return e instanceof QtaskError && e.code.startsWith('TASK_FN_');
}

/** Error recorded on a task whose claim reply came too late for its lease to be trusted. */
export class ClaimTooSlowError extends QtaskError {
  constructor(taskId: string, elapsedMs: number, clock: LeaseClock) {
    super(
      'CLAIM_TOO_SLOW',
      `the claim of task ${taskId} was answered ${Math.round(elapsedMs)} ms after it was sent; the lease of ${clock.leaseMs} ms was only safe for ${Math.round(clock.safeMs)} ms, so the task was not started`,
      { hint: 'the store or the link to it answers slowly for this lease: check the link, or use a longer lease' },
    );
  }
}

/**
 * A claim answered after the safe part of its lease: another worker may already have taken the
 * task over (a cut link held the reply back), so running it could overlap the new holder. The
 * function is not run; the task is given back under the fencing token, which the store refuses
 * harmlessly when someone else holds the task. Like any claim it used an attempt, so on the last
 * one the task is failed: a store too slow for the lease must not keep a worker claiming forever.
 */
async function giveBackLateClaim(claimed: ClaimedTask, clock: LeaseClock, o: ResolvedOptions): Promise<void> {
  const { lease } = claimed;
  const taskId = claimed.task._id;
  const elapsedMs = clock.sinceRenewalMs();
  const e = new ClaimTooSlowError(taskId, elapsedMs, clock);
  const error = { code: e.code, message: e.message };
  o.stats.ran++;
  o.emit({ type: 'claimed', taskId, attempt: lease.attempt, worker: o.worker });
  let outcome: TaskOutcome;
  try {
    if (lease.attempt >= o.maxAttempts) {
      await o.store.fail(o.pool, lease, { code: error.code, message: `${error.message} (attempt ${lease.attempt} of ${o.maxAttempts})` });
      outcome = 'failed';
    } else {
      await o.store.release(o.pool, lease, { status: o.beforeStatus, error });
      outcome = 'released';
    }
  } catch (err) {
    if (!(err instanceof LeaseLostError)) o.warn(`task ${taskId}: could not give back the late claim (${err instanceof Error ? err.message : String(err)}); its lease will expire`);
    outcome = 'lease_lost';
  }
  if (outcome === 'failed') o.ranIds.add(taskId);
  countOutcome(o.stats, outcome);
  o.emit({ type: 'finished', taskId, attempt: lease.attempt, worker: o.worker, outcome, durationMs: Math.round(elapsedMs), error });
  o.log(`task ${taskId}: not started, ${outcome} (${error.code}: ${error.message})`);
}

/** Runs one claimed task to its outcome, keeping its lease alive meanwhile. */
async function runClaimed(runnable: Runnable, claimed: ClaimedTask, clock: LeaseClock, o: ResolvedOptions): Promise<RunClaimedResult> {
  const { task } = claimed;
  const taskId = task._id;
  const attempt = claimed.lease.attempt;
  const started = Date.now();
  let lease: Lease = claimed.lease;
  o.stats.ran++;
  o.emit({ type: 'claimed', taskId, attempt, worker: o.worker });
  o.log(`task ${taskId}: claimed (attempt ${attempt})`);

  const field = PARAM_FIELD[o.beforeStatus] ?? 'def';
  const param: JsonValue = field === 'def' ? task.def : (task.res ?? null);
  const ctxController = new AbortController();

  // --- interruption: lease lost, or shutdown (grace expired / forced) ---
  let interrupt: (why: 'lease_lost' | 'returned', reason: unknown) => void = () => {};
  const interrupted = new Promise<{ why: 'lease_lost' | 'returned'; reason: unknown }>((resolve) => {
    interrupt = (why, reason) => resolve({ why, reason });
  });
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = () => {
    o.log(`task ${taskId}: stopping; the task has ${Math.round(o.graceMs / 1000)}s to finish`);
    graceTimer = setTimeout(() => interrupt('returned', new WorkerShutdownError(`the worker shut down and the task did not finish within ${o.graceMs} ms`)), o.graceMs);
  };
  const onForce = () => interrupt('returned', new WorkerShutdownError());
  if (o.forceSignal?.aborted) onForce();
  else o.forceSignal?.addEventListener('abort', onForce, { once: true });
  if (o.signal?.aborted) onStop();
  else o.signal?.addEventListener('abort', onStop, { once: true });

  // --- heartbeats, and the deadline they must beat ---
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let heartbeatInFlight: Promise<void> = Promise.resolve();
  let heartbeatsOn = true;
  let leaseLost: LeaseLostError | null = null;
  let lastHeartbeatError: string | undefined;
  const loseLease = (e: LeaseLostError) => {
    if (leaseLost) return;
    leaseLost = e;
    interrupt('lease_lost', e);
  };
  // Self-fencing: past the safe part of the lease someone else may hold the task.
  const deadlinePassed = () =>
    new LeaseLostError(
      taskId,
      lastHeartbeatError !== undefined
        ? `lease on task ${taskId} expired while heartbeats failed (${lastHeartbeatError})`
        : `lease on task ${taskId} expired: no heartbeat was answered within ${Math.round(clock.safeMs)} ms of the last renewal`,
    );
  // A heartbeat held up (a cut link) neither succeeds nor fails: only a timer notices.
  const armDeadline = () => {
    if (!o.guardDeadline) return;
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(() => (clock.remainingMs() <= 0 ? loseLease(deadlinePassed()) : armDeadline()), Math.max(0, clock.remainingMs()));
  };
  const beat = async () => {
    const sentAt = performance.now();
    try {
      lease = await o.store.heartbeat(o.pool, lease, o.leaseMs);
      clock.renewed(sentAt);
      lastHeartbeatError = undefined;
      armDeadline();
    } catch (e) {
      if (e instanceof LeaseLostError) {
        loseLease(e);
        return;
      }
      const message = e instanceof Error ? e.message : String(e);
      lastHeartbeatError = message;
      o.emit({ type: 'heartbeat_error', taskId, worker: o.worker, message });
      o.warn(`task ${taskId}: heartbeat failed: ${message}`);
      if (clock.remainingMs() <= 0) {
        loseLease(deadlinePassed());
        return;
      }
    }
    // Paced from the send time, so a slow heartbeat does not push the next one towards the deadline.
    if (heartbeatsOn) heartbeatTimer = setTimeout(scheduleBeat, Math.max(0, sentAt + o.heartbeatMs - performance.now()));
  };
  const scheduleBeat = () => {
    heartbeatInFlight = beat();
  };
  heartbeatTimer = setTimeout(scheduleBeat, Math.max(0, o.heartbeatMs - clock.sinceRenewalMs()));
  armDeadline();
  const stopHeartbeats = async () => {
    heartbeatsOn = false;
    clearTimeout(heartbeatTimer);
    await heartbeatInFlight;
    clearTimeout(deadlineTimer);
  };

  // A task that blocks the event loop (synchronous training in this process) keeps the deadline
  // timer from firing; reading `aborted` therefore checks the lease clock itself, so the next stage
  // boundary after such a stretch sees that the lease can no longer be trusted (otherwise a run could
  // end FINISHED after another worker took the task over).
  if (o.guardDeadline) {
    const signal = ctxController.signal;
    const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
    Object.defineProperty(signal, 'aborted', {
      get(): boolean {
        if (!nativeAborted.call(signal) && heartbeatsOn && clock.remainingMs() <= 0) {
          const e = deadlinePassed();
          loseLease(e);
          ctxController.abort(e);
        }
        return nativeAborted.call(signal) as boolean;
      },
    });
  }

  // --- execution ---
  let child: ChildTaskHandle | undefined;
  const ctx: TaskContext = {
    taskId,
    attempt,
    worker: o.worker,
    signal: ctxController.signal,
    log: (msg) => {
      o.emit({ type: 'log', taskId, worker: o.worker, msg });
      o.log(`task ${taskId}: ${msg}`);
    },
  };
  let execution: Promise<ExecutionResult>;
  if (runnable.kind === 'inProcess') {
    const fn = runnable.fn;
    execution = Promise.resolve()
      .then(() => fn(param, ctx))
      .then(
        (res): ExecutionResult => ({ ok: true, res }),
        (error: unknown): ExecutionResult => ({ ok: false, error }),
      );
  } else {
    child = runTaskInChild({ module: runnable.module, export: runnable.export, param, taskId, attempt, worker: o.worker, onLog: ctx.log });
    execution = child.result.then(
      (res): ExecutionResult => ({ ok: true, res }),
      (error: unknown): ExecutionResult => ({ ok: false, error }),
    );
  }

  const first = await Promise.race([execution.then((r) => ({ done: r })), interrupted.then((i) => ({ interrupted: i }))]);
  clearTimeout(graceTimer);
  o.signal?.removeEventListener('abort', onStop);
  o.forceSignal?.removeEventListener('abort', onForce);
  // The function's eventual result is ignored; an in-process function is told through ctx.signal,
  // a child process is told and then killed. Before waiting for a heartbeat, which may hang.
  const stopExecution = (reason: unknown) => {
    ctxController.abort(reason);
    child?.abort(reason);
  };
  if ('interrupted' in first) stopExecution(first.interrupted.reason);
  await stopHeartbeats();

  let outcome: TaskOutcome;
  let error: { message: string; code: string } | undefined;
  let loadError: QtaskError | undefined;
  const interruption = 'interrupted' in first ? first.interrupted : leaseLost ? { why: 'lease_lost' as const, reason: leaseLost } : null;
  if (interruption) {
    if (!('interrupted' in first)) stopExecution(interruption.reason);
    error = pick(serializeError(interruption.reason));
    if (interruption.why === 'lease_lost') outcome = 'lease_lost';
    else outcome = await write(() => o.store.release(o.pool, lease, { status: o.beforeStatus, error: error! }), 'returned');
  } else {
    const result = (first as { done: ExecutionResult }).done;
    if (result.ok) {
      let res: JsonValue | undefined;
      try {
        res = assertJsonResult(result.res);
      } catch (e) {
        error = pick(serializeError(e));
      }
      if (res !== undefined) outcome = await write(() => o.store.commit(o.pool, lease, res, o.afterStatus), 'done');
      else outcome = await write(() => o.store.fail(o.pool, lease, error!), 'failed');
    } else {
      const info = serializeError(result.error);
      error = pick(info);
      if (isLoadError(result.error)) {
        loadError = result.error;
        outcome = await write(() => o.store.release(o.pool, lease, { status: o.beforeStatus, error: error! }), 'released');
      } else if (info.nonRetryable || info.code === 'RESULT_NOT_JSON') {
        // A result that is not JSON will not become JSON on a retry (the child checks it there).
        outcome = await write(() => o.store.fail(o.pool, lease, error!), 'failed');
      } else if (attempt >= o.maxAttempts) {
        error = { code: info.code, message: `${info.message} (attempt ${attempt} of ${o.maxAttempts})` };
        outcome = await write(() => o.store.fail(o.pool, lease, error!), 'failed');
      } else {
        outcome = await write(() => o.store.release(o.pool, lease, { status: o.beforeStatus, error: error! }), 'released');
      }
    }
  }

  // A finished task must not come back in this run (part_done → part_done would loop forever).
  if (outcome === 'done' || outcome === 'failed') o.ranIds.add(taskId);
  countOutcome(o.stats, outcome);
  const durationMs = Date.now() - started;
  o.emit({ type: 'finished', taskId, attempt, worker: o.worker, outcome, durationMs, ...(error ? { error } : {}) });
  o.log(`task ${taskId}: ${outcome}${error ? ` (${error.code}: ${error.message})` : ''}`);
  if (loadError) return { kind: 'loadError', error: loadError };
  return { kind: 'finished', outcome };
}

function pick(e: { message: string; code: string }): { message: string; code: string } {
  return { message: e.message, code: e.code };
}

/** Performs a fenced store write; a refused lease means another worker owns the task now. */
async function write(op: () => Promise<void>, outcome: TaskOutcome): Promise<TaskOutcome> {
  try {
    await op();
    return outcome;
  } catch (e) {
    if (e instanceof LeaseLostError) return 'lease_lost';
    throw e;
  }
}

function countOutcome(stats: RunStats, outcome: TaskOutcome): void {
  if (outcome === 'done') stats.succeeded++;
  else if (outcome === 'failed') stats.failed++;
  else if (outcome === 'released') stats.released++;
  else if (outcome === 'returned') stats.returned++;
  else stats.leaseLost++;
}
