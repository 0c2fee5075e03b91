/**
 * Opening the store for a worker that may start while the store is down (a machine booting
 * before the database, a network blip at a scheduled start): an unreachable store is retried with
 * backoff, one log line per attempt, instead of ending the worker at once. Any other error (bad
 * URL, refused credentials, bad pool) is final on the first attempt: waiting would not fix it.
 */
import { StoreError, isQtaskError } from '../errors.ts';
import type { TaskStore } from '../store/types.ts';

/** Default for `connectTimeoutMs`: the window the MongoDB store also gives a running worker to reconnect. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 120_000;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

export interface ConnectRetryOptions {
  /**
   * How long to keep retrying while the store is unreachable (`STORE_UNREACHABLE`), counted from
   * the first attempt; then the last error is thrown. 0 = one attempt; `Infinity` = until stopped.
   * Default 120 000 ms.
   */
  timeoutMs?: number;
  /** Stops waiting (the worker was signalled); `openStoreWithRetry` then resolves to null. */
  signal: AbortSignal;
  /** Where the per-attempt lines go. */
  log: (line: string) => void;
  /** Prefix of the log lines, e.g. `worker w1`. */
  who: string;
}

/** Replaces the URL's password (as written and percent-decoded) in `text` with `***`. */
export function scrubPassword(text: string, url: string | undefined): string {
  const password = url ? /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(url)?.[1] : undefined;
  if (!password) return text;
  let out = text.replaceAll(password, '***');
  try {
    const decoded = decodeURIComponent(password);
    if (decoded) out = out.replaceAll(decoded, '***');
  } catch {
    // not valid percent-encoding: the raw form was replaced above
  }
  return out;
}

function isUnreachable(e: unknown): e is StoreError {
  return isQtaskError(e) && e.code === 'STORE_UNREACHABLE';
}

/** Resolves after `ms`, or as soon as `signal` fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * `open(url)` until it succeeds, retrying `STORE_UNREACHABLE` with exponential backoff (1 s
 * doubling to 30 s, jittered) for up to `timeoutMs`. Resolves to null if `signal` fires first.
 */
export async function openStoreWithRetry(
  url: string | undefined,
  open: (url: string | undefined) => Promise<TaskStore>,
  o: ConnectRetryOptions,
): Promise<TaskStore | null> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    if (o.signal.aborted) return null;
    try {
      const store = await open(url);
      if (attempt > 1) o.log(`${o.who}: store reachable after ${attempt} attempts (${seconds(Date.now() - started)})`);
      if (o.signal.aborted) {
        await store.close();
        return null;
      }
      return store;
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      const elapsed = Date.now() - started;
      const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 1, 5)) * (0.5 + Math.random() / 2);
      if (elapsed + backoff > timeoutMs) {
        // One attempt was asked for: its own error says it all.
        if (timeoutMs === 0) throw e;
        throw new StoreError('STORE_UNREACHABLE', `${scrubPassword(e.message, url)}; still unreachable after ${attempt} attempt${attempt === 1 ? '' : 's'} over ${seconds(elapsed)}`, {
          ...(e.path !== undefined ? { path: e.path } : {}),
          hint: 'start the store server or fix the network; --connect-timeout sets how long a starting worker waits (inf: until stopped)',
          cause: e,
        });
      }
      const limit = Number.isFinite(timeoutMs) ? `gives up after ${seconds(timeoutMs)}` : 'no time limit';
      o.log(`${o.who}: ${scrubPassword(e.message, url)}; attempt ${attempt} failed after ${seconds(elapsed)}, retrying in ${seconds(backoff)} (${limit}; --connect-timeout)`);
      await sleep(backoff, o.signal);
    }
  }
}
