import { StoreError } from '../../errors.ts';

/** Database used when a `mongodb://` URL has no path. */
export const DEFAULT_DATABASE = 'qtask';

/** Collections whose names start with this are qtask's own bookkeeping, never pools. */
export const INTERNAL_PREFIX = '_qtask';

const URL_SHAPE = /^(mongodb(?:\+srv)?):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?[^#]*)?$/;
// MongoDB's own rule for database names (plus length), which FerretDB narrows to [A-Za-z0-9_-]{1,63}.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_DB_CHARS = /[/\\. "$*<>:|?\x00]/;

/** `mongodb://user:secret@host/db` → `mongodb://user:***@host/db`. Never leaks the password. */
export function redactMongoUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/?#]*)@/, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`}@`;
  });
}

/** The database name from a store URL's path (`mongodb://h/db?x` → `db`), default `qtask`. */
export function databaseFromUrl(url: string): string {
  const m = URL_SHAPE.exec(url);
  if (!m) {
    throw new StoreError('STORE_URL', `not a MongoDB URL: ${redactMongoUrl(url)}`, {
      path: 'store',
      hint: 'use mongodb://HOST[:PORT][/DATABASE] or mongodb+srv://HOST[/DATABASE]',
    });
  }
  if (!m[2]) {
    throw new StoreError('STORE_URL', `MongoDB URL has no host: ${redactMongoUrl(url)}`, {
      path: 'store',
      hint: 'e.g. mongodb://127.0.0.1:27017/qtask',
    });
  }
  let db: string;
  try {
    db = decodeURIComponent(m[3] ?? '');
  } catch (cause) {
    throw new StoreError('STORE_URL', `MongoDB URL has a malformed database name: ${redactMongoUrl(url)}`, { path: 'store', cause });
  }
  if (db === '') return DEFAULT_DATABASE;
  if (BAD_DB_CHARS.test(db) || Buffer.byteLength(db) > 63) {
    throw new StoreError('STORE_URL', `invalid MongoDB database name ${JSON.stringify(db)} in ${redactMongoUrl(url)}`, {
      path: 'store',
      hint: 'database names are at most 63 characters without / \\ . space " $ * < > : | ?',
    });
  }
  return db;
}

/**
 * Rejects pool (collection) names MongoDB or FerretDB would refuse, before any request is sent:
 * empty, `$` or NUL anywhere, a leading `.`, the `system.` namespace, FerretDB's `_ferretdb_`
 * prefix, qtask's own `_qtask` prefix, and a full namespace (`db.pool`) over 235 bytes.
 */
export function validatePoolName(pool: unknown, database: string): string {
  const fail = (why: string): never => {
    throw new StoreError('POOL_NAME', `invalid pool name ${JSON.stringify(pool)}: ${why}`, {
      path: 'pool',
      hint: 'use letters, digits, "_" and "-" (a pool is a MongoDB collection)',
    });
  };
  if (typeof pool !== 'string' || pool === '') return fail('it must be a non-empty string');
  if (pool.includes('$')) fail('"$" is not allowed in MongoDB collection names');
  if (pool.includes('\x00')) fail('NUL is not allowed in MongoDB collection names');
  if (pool.startsWith('.')) fail('it must not start with "."');
  if (pool.startsWith('system.')) fail('the "system." namespace is reserved by MongoDB');
  if (pool.startsWith('_ferretdb_')) fail('the "_ferretdb_" prefix is reserved by FerretDB');
  if (pool.startsWith(INTERNAL_PREFIX)) fail(`the "${INTERNAL_PREFIX}" prefix is reserved by qtask`);
  if (LONE_SURROGATE.test(pool)) fail('it is not valid UTF-8');
  if (Buffer.byteLength(`${database}.${pool}`) > 235) fail('database + "." + pool must fit in 235 bytes');
  return pool;
}
