import { StoreError } from '../../errors.ts';

/**
 * Waiting for another process's write lock, in JS instead of SQLite's busy handler.
 *
 * SQLite's default handler (what better-sqlite3's `timeout` installs) sleeps 1, 2, 5, 10, 15, 20,
 * 25, 25, 25, 50, 50, 100… ms between attempts. A qtask claim or commit holds the lock for tens of
 * microseconds, so with two workers a loser slept ≥ 1 ms for a lock that was free again after
 * ~50 µs, and then often a further 2 and 5 ms: the two-process throughput fell below the
 * one-process throughput. Here a loser retries at once a few times (short spins: the holder is
 * usually running on the other core and about to commit), then sleeps in steps that start at
 * 50 µs and double up to 2 ms, until `timeoutMs` has passed.
 *
 * Every operation passed in must be atomic (one statement, or one transaction that
 * better-sqlite3 rolls back on error), so retrying it from the start is safe.
 */

/** Attempts retried after a short spin instead of a sleep. */
const SPIN_ATTEMPTS = 4;
/** How long each spin lasts, in ms. */
const SPIN_MS = 0.02;
/** First and longest sleep between attempts, in ms. */
const FIRST_SLEEP_MS = 0.05;
const MAX_SLEEP_MS = 2;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (fractions allowed). Synchronous on purpose: the store's methods are. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy-wait: cheaper than a sleep's wake-up latency for a lock held for microseconds.
  }
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

export function newBusyStats(): BusyStats {
  return { retries: 0, waitedMs: 0 };
}

/**
 * Runs `op`, retrying it while SQLite reports the database busy, for at most `timeoutMs`; then
 * `StoreError` `STORE_BUSY`. `timeoutMs` 0 means a single attempt.
 */
export function retryWhileBusy<T>(op: () => T, timeoutMs: number, stats?: BusyStats): T {
  let started = 0;
  let sleepMs = FIRST_SLEEP_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return op();
    } catch (e) {
      if (!isBusy(e)) throw e;
      const now = performance.now();
      if (attempt === 0) started = now;
      else if (now - started >= timeoutMs) {
        throw new StoreError('STORE_BUSY', `the database stayed locked by another process for ${Math.round(now - started)} ms`, {
          hint: 'another process holds a long write transaction; retry later or raise busyTimeoutMs',
          cause: e,
        });
      }
      if (timeoutMs === 0) {
        throw new StoreError('STORE_BUSY', 'the database is locked by another process', { hint: 'retry later or set busyTimeoutMs above 0', cause: e });
      }
      if (stats !== undefined) stats.retries++;
      if (attempt < SPIN_ATTEMPTS) {
        spin(SPIN_MS);
      } else {
        sleepSync(Math.min(sleepMs * (0.5 + Math.random()), timeoutMs - (now - started)));
        sleepMs = Math.min(sleepMs * 2, MAX_SLEEP_MS);
      }
      if (stats !== undefined) stats.waitedMs += performance.now() - now;
    }
  }
}
