import { StoreError } from '../errors.ts';

/** Letters, digits, `_`, `-`, `.`; 1–120 characters; not starting with `.` or `system.` (MongoDB reserves those). */
const POOL_SHAPE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,119}$/;

/** Throws `StoreError` code `POOL_NAME` unless `pool` is usable as a pool name on every backend. */
export function assertPoolName(pool: unknown): asserts pool is string {
  if (typeof pool !== 'string' || !POOL_SHAPE.test(pool) || pool.startsWith('system.')) {
    throw new StoreError('POOL_NAME', `invalid pool name ${JSON.stringify(pool)}`, {
      path: 'pool',
      hint: 'use 1-120 letters, digits, "_", "-" or "." (not starting with "." or "system.")',
    });
  }
}
