import { MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { QtaskError, StoreError } from '../../errors.ts';

// Server error codes (MongoDB's, which FerretDB reuses).
const AUTH_CODES = new Set([18 /* AuthenticationFailed */, 13 /* Unauthorized */]);
const NAMESPACE_CODES = new Set([73 /* InvalidNamespace */]);

/** True for failures that a later retry may get past (server down, network cut, election). */
export function isConnectionFailure(e: unknown): boolean {
  if (!(e instanceof MongoError)) return false;
  // MongoNetworkError covers timeouts and pools cleared by the monitor ("interrupted due to server monitor timeout").
  if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError) return true;
  const name = e.name;
  return (
    name === 'MongoTopologyClosedError' ||
    name === 'MongoNotConnectedError' ||
    e.hasErrorLabel('RetryableWriteError') ||
    e.hasErrorLabel('TransientTransactionError')
  );
}

export function isAuthFailure(e: unknown): boolean {
  return e instanceof MongoServerError && typeof e.code === 'number' && AUTH_CODES.has(e.code);
}

/**
 * Turns a driver error into a typed StoreError. Messages name the redacted URL only; the driver's
 * own messages name hosts but never the password.
 */
export function toStoreError(e: unknown, url: string, action: string): Error {
  if (e instanceof QtaskError) return e;
  if (isConnectionFailure(e)) {
    return new StoreError('STORE_UNREACHABLE', `MongoDB at ${url} is unreachable (${action}): ${(e as Error).message}`, {
      hint: 'check that the server runs and that this machine can reach its host and port; workers retry with backoff',
      cause: e,
    });
  }
  if (e instanceof MongoServerError && typeof e.code === 'number') {
    if (isAuthFailure(e)) {
      return new StoreError('STORE_AUTH', `MongoDB at ${url} refused the credentials (${action}): ${e.message}`, {
        hint: 'check the user, password and authSource in the store URL',
        cause: e,
      });
    }
    if (NAMESPACE_CODES.has(e.code)) {
      return new StoreError('POOL_NAME', `MongoDB rejected the pool name (${action}): ${e.message}`, {
        path: 'pool',
        hint: 'use letters, digits, "_" and "-"',
        cause: e,
      });
    }
  }
  if (e instanceof MongoError) {
    return new StoreError('STORE_OP', `MongoDB ${action} failed at ${url}: ${e.message}`, { cause: e });
  }
  return e instanceof Error ? e : new StoreError('STORE_OP', `MongoDB ${action} failed: ${String(e)}`);
}
