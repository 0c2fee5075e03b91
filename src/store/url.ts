import { StoreError } from '../errors.ts';
import { SqliteTaskStore } from './sqlite.ts';
import type { TaskStore } from './types.ts';

export const DEFAULT_STORE_URL = 'sqlite:./qtask.db';
const SCHEMES_HINT = 'use sqlite:PATH (e.g. sqlite:./qtask.db), sqlite::memory:, mongodb://HOST/DB or mongodb+srv://HOST/DB';

/** Replaces the password (and user) of a URL with `***`, so URLs can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, cred: string) =>
    `${scheme}${cred.includes(':') ? `${cred.slice(0, cred.indexOf(':'))}:***` : '***'}@`,
  );
}

/**
 * Opens the store a URL names. Default: `$QTASK_STORE`, else `sqlite:./qtask.db`.
 * - `sqlite:PATH` (relative to the working directory), `sqlite::memory:`
 * - `mongodb://…`, `mongodb+srv://…` (loads the MongoDB backend on demand)
 * Anything else is `StoreError` `STORE_URL`.
 */
export async function openStore(url: string = process.env.QTASK_STORE ?? DEFAULT_STORE_URL): Promise<TaskStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new StoreError('STORE_URL', 'sqlite: URL without a path', { path: 'store', hint: SCHEMES_HINT });
    return new SqliteTaskStore(path.startsWith('//') ? path.slice(2) : path);
  }
  if (url.startsWith('mongodb://') || url.startsWith('mongodb+srv://')) {
    let mod: { openMongoStore?: (url: string) => Promise<TaskStore> };
    try {
      mod = (await import(/* the backend is optional */ './mongodb.ts')) as typeof mod;
    } catch (e) {
      throw new StoreError('STORE_URL', `the MongoDB backend could not be loaded for ${redactUrl(url)}: ${(e as Error).message}`, {
        path: 'store',
        hint: 'use a sqlite: store, or install a qtask build with src/store/mongodb.ts',
        cause: e,
      });
    }
    if (typeof mod.openMongoStore !== 'function') {
      throw new StoreError('STORE_URL', 'the MongoDB backend does not export openMongoStore', { path: 'store', hint: SCHEMES_HINT });
    }
    return mod.openMongoStore(url);
  }
  throw new StoreError('STORE_URL', `unsupported store URL ${JSON.stringify(redactUrl(url))}`, { path: 'store', hint: SCHEMES_HINT });
}
