/**
 * `runWorker`: the long-running loop behind `qtask worker`. Claims and runs tasks until the pool
 * is drained (nothing claimable and nothing running anywhere), with a two-stage shutdown:
 * the first SIGINT/SIGTERM stops claiming and lets the running task finish within `graceMs`;
 * the second returns it at once.
 */
import type { TaskFilter, TaskStore } from '../store/types.ts';
import type { TaskStatus } from '../task/types.ts';
import { defaultWorkerId, runTask, validateRunOptions } from './runTask.ts';
import { loadTaskFunction, parseTaskFnSpec, resolveTaskFnModule } from './taskFunction.ts';
import { openStoreWithRetry, sleep } from './workerConnect.ts';
import { emptyStats, type RunEvent, type RunLogger, type RunStats, type TaskFn, type TaskFnSpec } from './types.ts';

export interface WorkerOptions {
  /** Store URL (`sqlite:PATH`, `mongodb://…`); ignored when `store` is given. */
  storeUrl?: string;
  /** An open store to use instead of `storeUrl` (left open). */
  store?: TaskStore;
  /**
   * With `storeUrl`: how long a worker that starts while the store is unreachable keeps retrying
   * (backoff, one log line per attempt) before failing with `STORE_UNREACHABLE`. 0 = one attempt;
   * `Infinity` = until stopped. Default 120 000 ms, the window a running worker gets to reconnect.
   */
  connectTimeoutMs?: number;
  pool: string;
  /** `module#export`, `{module, export}`, or a function (not with `fork`). */
  taskFn: string | TaskFnSpec | TaskFn;
  /** Default `{}`. */
  query?: TaskFilter;
  /** Default `waiting`. */
  beforeStatus?: TaskStatus;
  /** Default `done`. */
  afterStatus?: TaskStatus;
  /** Default 60000. */
  leaseMs?: number;
  /** Default `leaseMs / 3`. */
  heartbeatMs?: number;
  /** Default 3. */
  maxAttempts?: number;
  /** Exit as soon as nothing is claimable, even if other workers still hold tasks. Default false. */
  once?: boolean;
  /** Run each task in a fresh child process. Default false. */
  fork?: boolean;
  /** How often to look again while other workers hold tasks. Default 1000. */
  pollMs?: number;
  /** Give up waiting for other workers' tasks after this long without running anything. Default: never. */
  idleExitMs?: number;
  /** Time the running task gets to finish after the first signal. Default 30000. */
  graceMs?: number;
  /** Default `host:pid:random`. */
  worker?: string;
  /** Install SIGINT/SIGTERM handlers. Default true. */
  handleSignals?: boolean;
  /** Stops the worker like a first signal (for embedding). */
  signal?: AbortSignal;
  /** Default: lines on stderr. */
  logger?: RunLogger;
  onEvent?: (e: RunEvent) => void;
}

export interface WorkerResult {
  worker: string;
  stats: RunStats;
  elapsedMs: number;
  /** 0, or 128 + the signal number that stopped the worker (130 SIGINT, 143 SIGTERM). */
  exitCode: number;
  /** The one-line summary that was logged. */
  summary: string;
}

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

export const stderrLogger: RunLogger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};

/** `worker w1: 37 done, 2 failed, 1 returned in 12.3s` */
export function formatSummary(worker: string, stats: RunStats, elapsedMs: number): string {
  const lost = stats.leaseLost ? `, ${stats.leaseLost} lease lost` : '';
  return `worker ${worker}: ${stats.succeeded} done, ${stats.failed} failed, ${stats.released + stats.returned} returned${lost} in ${(elapsedMs / 1000).toFixed(1)}s`;
}

function withoutStatus(query: TaskFilter): TaskFilter {
  const { status: _status, ...rest } = query;
  return rest;
}

export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const started = Date.now();
  const worker = opts.worker ?? defaultWorkerId();
  const logger = opts.logger ?? stderrLogger;
  const stop = new AbortController();
  const force = new AbortController();
  let exitCode = 0;
  const fork = opts.fork ?? false;

  // Load once (runTask would load on every poll round); `fork` keeps the spec for the children.
  let taskFn: string | TaskFnSpec | TaskFn = opts.taskFn;
  // Bad options and unloadable task functions are reported before the store is touched.
  const settings = {
    pool: opts.pool,
    beforeStatus: opts.beforeStatus ?? 'waiting',
    afterStatus: opts.afterStatus ?? 'done',
    forceRelease: fork,
    leaseMs: opts.leaseMs ?? 60_000,
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    maxAttempts: opts.maxAttempts ?? 3,
    graceMs: opts.graceMs ?? 30_000,
  };
  validateRunOptions(taskFn, { ...settings, store: undefined as never });
  if (fork) {
    const spec = typeof taskFn === 'string' ? parseTaskFnSpec(taskFn) : (taskFn as TaskFnSpec);
    taskFn = { module: resolveTaskFnModule(spec.module), export: spec.export ?? 'default' };
  } else if (typeof taskFn !== 'function') {
    taskFn = await loadTaskFunction(typeof taskFn === 'string' ? parseTaskFnSpec(taskFn) : taskFn);
  }
  const stats = emptyStats();
  const ranIds = new Set<string>();
  let store: TaskStore | null = null;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (!stop.signal.aborted && store === null) {
      exitCode = SIGNAL_EXIT[sig];
      logger.info(`worker ${worker}: ${sig} while connecting to the store: stopping`);
      stop.abort();
    } else if (!stop.signal.aborted) {
      exitCode = SIGNAL_EXIT[sig];
      logger.info(`worker ${worker}: ${sig}: no new tasks; the running one has ${Math.round((opts.graceMs ?? 30_000) / 1000)}s to finish (send again to return it now)`);
      stop.abort();
    } else if (!force.signal.aborted) {
      logger.info(`worker ${worker}: ${sig} again: returning the running task now`);
      force.abort();
    }
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  const onExternalStop = () => stop.abort();
  if (opts.handleSignals ?? true) {
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  }
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener('abort', onExternalStop, { once: true });

  // Signals are handled from here on, so a worker waiting for its store can be stopped.
  try {
    store =
      opts.store ??
      (await openStoreWithRetry(opts.storeUrl, openStoreByUrl, {
        ...(opts.connectTimeoutMs !== undefined ? { timeoutMs: opts.connectTimeoutMs } : {}),
        signal: stop.signal,
        log: logger.warn,
        who: `worker ${worker}`,
      }));
    if (store === null) return finish();
    const runOptions = {
      ...settings,
      store,
      query: opts.query ?? {},
      worker,
      signal: stop.signal,
      forceSignal: force.signal,
      logger: { info: () => {}, warn: logger.warn },
      onEvent: (e: RunEvent) => {
        if (e.type === 'finished') {
          const err = e.error ? `: ${e.error.code}: ${e.error.message}` : '';
          logger.info(`worker ${worker}: task ${e.taskId} ${e.outcome} (attempt ${e.attempt}, ${(e.durationMs / 1000).toFixed(2)}s)${err}`);
        } else if (e.type === 'log') logger.info(`worker ${worker}: task ${e.taskId}: ${e.msg}`);
        opts.onEvent?.(e);
      },
      stats,
      ranIds,
    };
    const pollMs = opts.pollMs ?? 1000;
    let lastProgress = Date.now();
    while (!stop.signal.aborted) {
      if (await runTask(taskFn, runOptions)) lastProgress = Date.now();
      if (opts.once || stop.signal.aborted) break;
      // Nothing claimable. Others may still hold tasks that can come back (retry, or a crashed
      // worker's expired lease): keep looking until nothing is running.
      const counts = await store.stat(opts.pool, withoutStatus(runOptions.query));
      if (!counts.running) {
        // Claim once more: a task may have been returned between our last claim and the count.
        if (await runTask(taskFn, runOptions)) {
          lastProgress = Date.now();
          continue;
        }
        break;
      }
      if (opts.idleExitMs !== undefined && Date.now() - lastProgress >= opts.idleExitMs) {
        logger.info(`worker ${worker}: idle for ${Math.round(opts.idleExitMs / 1000)}s while ${counts.running} task(s) run elsewhere; exiting`);
        break;
      }
      await sleep(pollMs, stop.signal);
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    opts.signal?.removeEventListener('abort', onExternalStop);
    if (!opts.store) await store?.close();
  }
  return finish();

  function finish(): WorkerResult {
    const elapsedMs = Date.now() - started;
    const summary = formatSummary(worker, stats, elapsedMs);
    logger.info(summary);
    return { worker, stats, elapsedMs, exitCode, summary };
  }
}

async function openStoreByUrl(url: string | undefined): Promise<TaskStore> {
  // Loaded on use so that the worker module can be imported without the database drivers.
  const { openStore } = await import('../store/url.ts');
  return openStore(url);
}
