import { parseFilter } from '../filter/parse.ts';
import type { TaskFilter } from '../types.ts';

/**
 * Validates a filter with the same parser the SQLite store uses, so a bad operator or operand is
 * the same `QueryError` (code, path, hint) on both stores and nothing is sent to the server.
 */
export function checkFilter(filter: TaskFilter): void {
  parseFilter(filter);
}
