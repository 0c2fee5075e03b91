import type { Lease } from '../types.ts';
import { release } from './release.ts';
import type { ErrorToRecord } from './release.ts';
import type { Conn } from './rows.ts';

/** Moves the task to `failed` with `error` as its lastError, under the caller's fencing token. */
export function fail(c: Conn, pool: string, lease: Lease, error: ErrorToRecord): void {
  release(c, pool, lease, 'failed', error);
}
