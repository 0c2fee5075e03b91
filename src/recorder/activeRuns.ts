/**
 * Runs started in this process and not yet ended. They are ended FAILED when the process goes away
 * without ending them (qlib's W23: a KeyboardInterrupt left qlib runs RUNNING forever):
 * - on SIGINT/SIGTERM when nothing else listens for the signal: mark FAILED, then re-raise the signal
 *   so the process still dies the way it would have;
 * - when other listeners exist (e.g. a worker's graceful shutdown), they own the shutdown; runs still
 *   open at 'exit' are marked FAILED then.
 * Handlers are installed only while at least one run is open, so an idle process keeps its defaults.
 */

export interface OpenRun {
  /** Synchronous: ends the run FAILED with `reason` (called from signal and exit handlers). */
  failSync(reason: string): void;
  /** Refreshes the run's heartbeat. */
  beat(): void;
}

const open = new Set<OpenRun>();
let timer: NodeJS.Timeout | undefined;
let heartbeatMs = 10_000;

function failAll(reason: string): void {
  for (const run of [...open]) {
    try {
      run.failSync(reason);
    } catch {
      // best effort at shutdown: the stale heartbeat still tells readers the run is dead
    }
  }
}

const onExit = (): void => failAll('process exit');
const onSignal = (signal: NodeJS.Signals): void => {
  if (process.listenerCount(signal) > 1) return;
  failAll(signal);
  uninstall();
  process.kill(process.pid, signal);
};
const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function install(): void {
  process.on('exit', onExit);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  timer = setInterval(() => {
    for (const run of open) {
      try {
        run.beat();
      } catch {
        // a failed heartbeat only makes the run look stale sooner
      }
    }
  }, heartbeatMs);
  timer.unref();
}

function uninstall(): void {
  process.off('exit', onExit);
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  if (timer) clearInterval(timer);
  timer = undefined;
}

export function registerOpenRun(run: OpenRun): void {
  if (open.size === 0) install();
  open.add(run);
}

export function unregisterOpenRun(run: OpenRun): void {
  if (!open.delete(run)) return;
  if (open.size === 0) uninstall();
}

export function openRunCount(): number {
  return open.size;
}

/** Heartbeat period for runs of this process. Default 10 000 ms (readers call a run stale after 60 000 ms). */
export function setHeartbeatInterval(ms: number): void {
  heartbeatMs = ms;
  if (timer) {
    uninstall();
    if (open.size > 0) install();
  }
}
