import { StoreError } from '../../errors.ts';

/**
 * Waiting for another process's write lock, in JS instead of inside SQLite, so that giving up is
 * a typed `StoreError` `STORE_BUSY` (with a hint) rather than a bare SQLITE_BUSY, and waits are
 * counted.
 *
 * The schedule is SQLite's own busy handler's (what better-sqlite3's `timeout` installs): sleep
 * 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms between attempts. Shorter waits were
 * measured and lost (BENCHMARKS.md, Store): with two workers, a waiter that retries within
 * microseconds takes the lock right after every commit of the other worker, so the two
 * alternate transaction by transaction, each handover costs a wake-up and makes the next
 * transaction re-read its pages (SQLite drops a connection's page cache whenever another
 * connection wrote), and claim+commit throughput fell. Millisecond sleeps let one worker run
 * a burst of transactions while the other sleeps.
 *
 * Every operation passed in must be atomic (one statement, or one transaction that
 * better-sqlite3 rolls back on error), so retrying it from the start is safe.
 */

const SLEEPS_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms`. Synchronous on purpose: the store's methods are. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Counters for diagnostics and benchmarks: how often and how long operations waited for the lock. */
export interface BusyStats {
  retries: number;
  waitedMs: number;
}

/**
 * Runs `op`, retrying it while SQLite reports the database busy, for at most `timeoutMs`; then
 * `StoreError` `STORE_BUSY`. `timeoutMs` 0 means a single attempt.
 */
export function retryWhileBusy<T>(op: () => T, timeoutMs: number, stats?: BusyStats): T {
  let started = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return op();
    } catch (e) {
      if (!isBusy(e)) throw e;
      const now = performance.now();
      if (attempt === 0) started = now;
      const left = timeoutMs - (now - started);
      if (left <= 0) {
        throw new StoreError(
          'STORE_BUSY',
          timeoutMs === 0
            ? 'the database is locked by another process'
            : `the database stayed locked by another process for ${Math.round(now - started)} ms`,
          { hint: 'another process holds a long write transaction; retry later or raise busyTimeoutMs', cause: e },
        );
      }
      if (stats !== undefined) stats.retries++;
      sleepSync(Math.min(SLEEPS_MS[Math.min(attempt, SLEEPS_MS.length - 1)]!, left));
      if (stats !== undefined) stats.waitedMs += performance.now() - now;
    }
  }
}
