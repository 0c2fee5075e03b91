/**
 * What every pool command needs: the root `--store`/`--pool` options, a store opened from them
 * (and always closed), and parsers for the option values users type (JSON filters, numbers,
 * statuses) that turn mistakes into one-line typed errors naming the option.
 */
import type { Command } from 'commander';
import { QtaskError, ValidationError } from '../errors.ts';
import { assertPoolName } from '../store/pool.ts';
import type { TaskManager } from '../store/taskManager.ts';
import type { TaskFilter, TaskStore } from '../store/types.ts';
import type { JsonObject, TaskStatus } from '../task/types.ts';
import { isTaskStatus, TASK_STATUSES } from '../task/types.ts';

/** A mistake in how the CLI was called (an option value, a missing argument). */
export class CliUsageError extends QtaskError {}

export interface GlobalOptions {
  /** Store URL; default `$QTASK_STORE` or `sqlite:./qtask.db`. */
  store: string;
  /** Pool name; default `$QTASK_POOL` or `default`. */
  pool: string;
}

export interface PoolContext {
  store: TaskStore;
  pool: string;
  /** qlib's TaskManager API over `store` and `pool`; its log lines are left to the commands. */
  tm: TaskManager;
}

/** The root program's `--store`/`--pool`, as seen from any (sub)command. */
export function globalOptions(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals<Partial<GlobalOptions>>();
  return {
    store: opts.store ?? process.env.QTASK_STORE ?? 'sqlite:./qtask.db',
    pool: opts.pool ?? process.env.QTASK_POOL ?? 'default',
  };
}

/** Opens the store named by the root options, runs `fn`, and closes the store whatever happens. */
export async function withPool<T>(cmd: Command, fn: (ctx: PoolContext) => Promise<T>): Promise<T> {
  const { store: url, pool } = globalOptions(cmd);
  // Loaded on use so that `--help` and argument errors never load the database drivers.
  const [{ openStore }, { TaskManager }] = await Promise.all([import('../store/url.ts'), import('../store/taskManager.ts')]);
  // Checked before opening, so a bad name does not create a database file.
  assertPoolName(pool);
  const store = await openStore(url);
  try {
    return await fn({ store, pool, tm: new TaskManager(store, pool, { log: () => {} }) });
  } finally {
    await store.close();
  }
}

/**
 * Parses a JSON filter given on the command line (`--query '{"status": "done"}'`). Invalid JSON
 * and non-objects are errors naming `option`; operators are validated by the store.
 */
export function parseFilter(text: string | undefined, option = '--query'): TaskFilter {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CliUsageError('INVALID_JSON', `${(e as Error).message.split('\n')[0]}`, {
      path: option,
      hint: `give a JSON object such as '{"status": "waiting"}' (in single quotes for the shell)`,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliUsageError('QUERY_SHAPE', `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`, {
      path: option,
      hint: `a filter is an object such as '{"def.model.class": "LinearModel"}'; use '{}' for every task`,
    });
  }
  return value as JsonObject;
}

/** An integer option or argument; `min` bounds it from below when given. */
export function parseInteger(text: string, name: string, min?: number): number {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new CliUsageError('INVALID_NUMBER', `${JSON.stringify(text)} is not an integer`, { path: name, hint: `give a whole number for ${name}` });
  }
  if (min !== undefined && n < min) {
    throw new CliUsageError('INVALID_NUMBER', `${n} is below the minimum ${min}`, { path: name, hint: `give ${name} >= ${min}` });
  }
  return n;
}

/** A non-negative number of seconds (fractions allowed), returned in milliseconds. */
export function parseSeconds(text: string, name: string): number {
  const s = /^\+?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(s)) {
    throw new CliUsageError('INVALID_NUMBER', `${JSON.stringify(text)} is not a number of seconds`, {
      path: name,
      hint: `give ${name} as seconds >= 0, e.g. 30 or 0.5`,
    });
  }
  return Math.round(s * 1000);
}

export function parseStatus(text: string, name = '--status'): TaskStatus {
  if (!isTaskStatus(text)) {
    throw new ValidationError([{ path: name, message: `unknown status ${JSON.stringify(text)}` }], {
      hint: `one of ${TASK_STATUSES.join(', ')}`,
    });
  }
  return text;
}
