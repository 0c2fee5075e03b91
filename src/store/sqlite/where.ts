import type { TaskFilter } from '../types.ts';
import { compileFilter, matchesCondition, parseFilter } from '../filter/index.ts';
import type { Condition } from '../filter/index.ts';
import { rowToDocument } from './rows.ts';
import type { TaskRow } from './rows.ts';

/**
 * A filter split for SQLite: `decided` is a plain boolean SQL condition (top-level conjuncts SQL
 * can decide, kept separate so SQLite can use its indexes); `undecided` is the 1/0/NULL expression
 * for the rest, or null when there is none. Rows where `undecided` is NULL go to the JS evaluator.
 */
export interface SqlWhere {
  decided: string;
  undecided: string | null;
  cond: Condition;
}

const cache = new Map<string, SqlWhere>();
let emptyWhere: SqlWhere | undefined;

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return Object.getOwnPropertySymbols(o).length === 0;
}

/** `buildWhere`, memoised by the filter's JSON text (workers claim with the same query over and over). */
export function buildWhere(filter: TaskFilter | undefined): SqlWhere {
  // The common claim filter: no conditions. Skips serialising it for the cache key.
  if (filter === undefined || (Object.getPrototypeOf(filter) === Object.prototype && isEmpty(filter))) return (emptyWhere ??= buildWhereUncached({}));
  // The replacer keeps `undefined` (which parseFilter refuses) distinct from a missing key or null.
  const key = JSON.stringify(filter ?? {}, (_k, v: unknown) => (v === undefined ? '\u0000undefined' : v));
  if (key.length > 4000) return buildWhereUncached(filter);
  let w = cache.get(key);
  if (w === undefined) {
    w = buildWhereUncached(filter);
    if (cache.size >= 200) cache.clear();
    cache.set(key, w);
  }
  return w;
}

function buildWhereUncached(filter: TaskFilter | undefined): SqlWhere {
  const cond = parseFilter(filter ?? {});
  const items = cond.kind === 'and' ? cond.items : [cond];
  const decided: string[] = [];
  const undecided: string[] = [];
  for (const item of items) {
    const compiled = compileFilter(item);
    (compiled.mayBeUnknown ? undecided : decided).push(compiled.sql);
  }
  return {
    decided: decided.length === 0 ? '1' : decided.join(' AND '),
    undecided: undecided.length === 0 ? null : undecided.join(' AND '),
    cond,
  };
}

/** SQL for rows that match for sure. */
export function matchedSql(w: SqlWhere): string {
  return w.undecided === null ? w.decided : `${w.decided} AND (${w.undecided}) IS 1`;
}

/** SQL for rows that match or may match (the JS evaluator decides the latter). */
export function candidateSql(w: SqlWhere): string {
  return w.undecided === null ? w.decided : `${w.decided} AND (${w.undecided}) IS NOT 0`;
}

/** SQL for the rows SQL could not decide; null when there are none by construction. */
export function undecidedSql(w: SqlWhere): string | null {
  return w.undecided === null ? null : `${w.decided} AND (${w.undecided}) IS NULL`;
}

/** SQL column that is 1 for decided matches, NULL for undecided rows. */
export function decisionColumn(w: SqlWhere): string {
  return w.undecided === null ? '1' : `(${w.undecided})`;
}

/** Final word on a candidate row: SQL's 1, or the JS evaluator for SQL's NULL. */
export function rowMatches(w: SqlWhere, row: TaskRow, decision: number | null): boolean {
  return decision === 1 || (decision === null && matchesCondition(rowToDocument(row), w.cond));
}
