import type { JsonValue } from '../../task/types.ts';
import type { CompareOp, Condition, FieldOp } from './parse.ts';

/**
 * Compiles a filter tree to one SQLite expression over the `tasks` table that evaluates to
 * 1 (matches), 0 (does not match) or NULL (cannot be decided in SQL: the path runs through an
 * array, or a key SQLite's JSON paths cannot spell). Callers count/update the 1s in the database
 * and hand only the NULL rows to the JS evaluator (`match.ts`). Without arrays on the queried
 * paths there are no NULL rows, so nothing is read into JS.
 *
 * SQLite's AND/OR/NOT already follow three-valued (Kleene) logic, which is what makes the NULL
 * composition sound. Literals are inlined (quoted), never concatenated raw.
 */
export interface CompiledFilter {
  sql: string;
  /** False when the expression can only be 1 or 0. */
  mayBeUnknown: boolean;
}

/** Where a top-level field lives in the row. */
type Target =
  | { kind: 'scalar'; value: string; type: string }
  | { kind: 'json'; doc: string; parts: string[]; rootMayBeArray: boolean }
  | { kind: 'unknown' };

interface Context {
  resolve(path: string[]): Target;
  alias: { n: number };
}

const MISSING_TARGET: Target = { kind: 'scalar', value: 'NULL', type: 'NULL' };

const isoOf = (col: string): string =>
  `(strftime('%Y-%m-%dT%H:%M:%S', ${col} / 1000, 'unixepoch') || '.' || printf('%03d', ${col} % 1000) || 'Z')`;
const nullableText = (col: string): Target => ({ kind: 'scalar', value: col, type: `(CASE WHEN ${col} IS NULL THEN 'null' ELSE 'text' END)` });
const nullableTime = (col: string): Target => ({ kind: 'scalar', value: `(CASE WHEN ${col} IS NULL THEN NULL ELSE ${isoOf(col)} END)`, type: `(CASE WHEN ${col} IS NULL THEN 'null' ELSE 'text' END)` });

/** Task document field → column. `def`/`res`/`lastError` are JSON text columns. */
function resolveTaskPath(path: string[]): Target {
  const [head, ...rest] = path;
  const scalar = (t: Target): Target => (rest.length === 0 ? t : MISSING_TARGET);
  switch (head) {
    case '_id':
      return scalar({ kind: 'scalar', value: 'id', type: `'text'` });
    case 'hash':
    case 'status':
      return scalar({ kind: 'scalar', value: head, type: `'text'` });
    case 'priority':
    case 'attempts':
      return scalar({ kind: 'scalar', value: head, type: `'real'` });
    case 'worker':
      return scalar(nullableText('worker'));
    case 'leaseToken':
      return scalar(nullableText('lease_token'));
    case 'createdAt':
      return scalar({ kind: 'scalar', value: isoOf('created_at'), type: `'text'` });
    case 'startedAt':
      return scalar(nullableTime('started_at'));
    case 'finishedAt':
      return scalar(nullableTime('finished_at'));
    case 'leaseExpiresAt':
      return scalar(nullableTime('lease_expires_at'));
    case 'def':
      return { kind: 'json', doc: 'def', parts: rest, rootMayBeArray: false };
    case 'res':
      return { kind: 'json', doc: 'res', parts: rest, rootMayBeArray: true };
    case 'lastError':
      return { kind: 'json', doc: 'last_error', parts: rest, rootMayBeArray: false };
    default:
      return MISSING_TARGET;
  }
}

export function compileFilter(cond: Condition): CompiledFilter {
  return compileCondition(cond, { resolve: resolveTaskPath, alias: { n: 0 } });
}

export function sqlString(s: string): string {
  // A NUL inside a quoted literal would end the SQL text early; spell such strings in hex.
  if (s.includes('\u0000')) return `CAST(X'${Buffer.from(s, 'utf8').toString('hex')}' AS TEXT)`;
  return `'${s.replaceAll("'", "''")}'`;
}

const TRUE: CompiledFilter = { sql: '1', mayBeUnknown: false };
const FALSE: CompiledFilter = { sql: '0', mayBeUnknown: false };
const UNKNOWN: CompiledFilter = { sql: 'NULL', mayBeUnknown: true };

function and(items: CompiledFilter[]): CompiledFilter {
  if (items.length === 0) return TRUE;
  if (items.length === 1) return items[0]!;
  return { sql: `(${items.map((i) => i.sql).join(' AND ')})`, mayBeUnknown: items.some((i) => i.mayBeUnknown) };
}
function or(items: CompiledFilter[]): CompiledFilter {
  if (items.length === 0) return FALSE;
  if (items.length === 1) return items[0]!;
  return { sql: `(${items.map((i) => i.sql).join(' OR ')})`, mayBeUnknown: items.some((i) => i.mayBeUnknown) };
}
function not(item: CompiledFilter): CompiledFilter {
  return { sql: `(NOT ${item.sql})`, mayBeUnknown: item.mayBeUnknown };
}
/** Wraps a boolean SQL test whose NULLs mean "no" (missing values) into a definite 1/0. */
function definite(test: string): CompiledFilter {
  return { sql: `ifnull(${test}, 0)`, mayBeUnknown: false };
}

function compileCondition(cond: Condition, ctx: Context): CompiledFilter {
  switch (cond.kind) {
    case 'and':
      return and(cond.items.map((c) => compileCondition(c, ctx)));
    case 'or':
      return or(cond.items.map((c) => compileCondition(c, ctx)));
    case 'nor':
      return not(or(cond.items.map((c) => compileCondition(c, ctx))));
    case 'field': {
      const target = ctx.resolve(cond.path);
      return and(cond.ops.map((op) => compileOp(target, op, ctx)));
    }
  }
}

/** SQLite JSON path for object keys; null when a key cannot be spelled safely (then SQL gives up). */
function jsonPath(parts: string[]): string | null {
  let p = '$';
  for (const k of parts) {
    if (/["\\\u0000]/.test(k)) return null;
    p += `."${k}"`;
  }
  return p;
}

interface Located {
  value: string;
  type: string;
  /** For JSON targets: `json_each(doc, path)` arguments, to iterate an array value. */
  each: string | null;
  /** For JSON targets: SQL that is 1 when no array sits on the way to the value (SQL is exact there). */
  guard: string | null;
}

function locate(target: Target): Located | null {
  if (target.kind === 'unknown') return null;
  if (target.kind === 'scalar') return { value: target.value, type: target.type, each: null, guard: null };
  const path = jsonPath(target.parts);
  if (path === null) return null;
  const prefixes: string[] = [];
  for (let i = target.rootMayBeArray ? 0 : 1; i < target.parts.length; i++) prefixes.push(jsonPath(target.parts.slice(0, i))!);
  const guard = prefixes.length === 0 ? null : prefixes.map((p) => `json_type(${target.doc}, ${sqlString(p)}) IS NOT 'array'`).join(' AND ');
  const p = sqlString(path);
  return { value: `json_extract(${target.doc}, ${p})`, type: `json_type(${target.doc}, ${p})`, each: `${target.doc}, ${p}`, guard };
}

function guarded(loc: Located, exact: CompiledFilter): CompiledFilter {
  if (loc.guard === null) return exact;
  return { sql: `(CASE WHEN ${loc.guard} THEN ${exact.sql} ELSE NULL END)`, mayBeUnknown: true };
}

/** A value test applied to the value and, when it is an array, to each element (MongoDB's array rule). */
function expanded(loc: Located, test: (value: string, type: string) => string, ctx: Context): CompiledFilter {
  const whole = test(loc.value, loc.type);
  if (loc.each === null) return guarded(loc, definite(whole));
  const a = `j${ctx.alias.n++}`;
  const sql = `(CASE WHEN ${loc.type} = 'array' THEN (${whole} OR EXISTS (SELECT 1 FROM json_each(${loc.each}) AS ${a} WHERE ${test(`${a}.value`, `${a}.type`)})) ELSE ${whole} END)`;
  return guarded(loc, definite(sql));
}

function literal(v: number | string): string {
  return typeof v === 'number' ? `(${String(v)})` : sqlString(v);
}

/** 1/0 test that `value` (with SQLite JSON type name `type`) equals `x`. */
function equalsTest(x: JsonValue, value: string, type: string): string {
  if (x === null) return `(${type} IS NULL OR ${type} = 'null')`;
  if (typeof x === 'boolean') return `(${type} = '${x ? 'true' : 'false'}')`;
  if (typeof x === 'number') return `(${type} IN ('integer', 'real') AND ${value} = ${literal(x)})`;
  if (typeof x === 'string') return `(${type} = 'text' AND ${value} = ${literal(x)})`;
  const kind = Array.isArray(x) ? 'array' : 'object';
  // CASE, not AND: SQLite may evaluate both sides of AND, and json() of a plain string is an error.
  return `(CASE WHEN ${type} = '${kind}' THEN json(${value}) = json(${sqlString(JSON.stringify(x))}) ELSE 0 END)`;
}

const SQL_COMPARE: Record<CompareOp, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

function compareTest(op: CompareOp, x: JsonValue, value: string, type: string): string {
  if (x === null) return op === 'gte' || op === 'lte' ? equalsTest(null, value, type) : '0';
  const sqlOp = SQL_COMPARE[op];
  if (typeof x === 'number') return `(${type} IN ('integer', 'real') AND ${value} ${sqlOp} ${literal(x)})`;
  if (typeof x === 'string') return `(${type} = 'text' AND ${value} ${sqlOp} ${literal(x)})`;
  if (typeof x === 'boolean') return `(${type} IN ('true', 'false') AND (${type} = 'true') ${sqlOp} ${x ? 1 : 0})`;
  return '0';
}

function regexTest(source: string, flags: string, value: string, type: string): string {
  return `(${type} = 'text' AND qtask_regexp(${sqlString(source)}, ${sqlString(flags)}, ${value}))`;
}

/** Per-element test for `$elemMatch` operator form and the value tests. */
function scalarTest(op: FieldOp, value: string, type: string): string | null {
  switch (op.op) {
    case 'eq':
      return equalsTest(op.value, value, type);
    case 'ne':
      return `(NOT ${equalsTest(op.value, value, type)})`;
    case 'in':
      return op.values.length === 0 ? '0' : `(${op.values.map((x) => equalsTest(x, value, type)).join(' OR ')})`;
    case 'nin':
      return op.values.length === 0 ? '1' : `(NOT (${op.values.map((x) => equalsTest(x, value, type)).join(' OR ')}))`;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compareTest(op.op, op.value, value, type);
    case 'regex':
      return regexTest(op.source, op.flags, value, type);
    case 'not': {
      const inner = op.ops.map((o) => scalarTest(o, value, type));
      return inner.some((s) => s === null) ? null : `(NOT (${inner.join(' AND ')}))`;
    }
    default:
      return null;
  }
}

function isWholeDefColumn(target: Target): boolean {
  return target.kind === 'json' && target.doc === 'def' && target.parts.length === 0;
}

/** Plain `col = lit` / `col IN (…)` for NOT NULL columns, so SQLite can use its indexes. */
function columnShortcut(target: Target, op: FieldOp): CompiledFilter | null {
  if (target.kind !== 'scalar' || (target.type !== `'text'` && target.type !== `'real'`)) return null;
  const want = target.type === `'text'` ? 'string' : 'number';
  const lit = (x: JsonValue): string | null => (typeof x === want ? literal(x as string | number) : null);
  if (op.op === 'eq') {
    const l = lit(op.value);
    return l === null ? FALSE : { sql: `(${target.value} = ${l})`, mayBeUnknown: false };
  }
  if (op.op === 'in') {
    const ls = op.values.map(lit).filter((l): l is string => l !== null);
    return ls.length === 0 ? FALSE : { sql: `(${target.value} IN (${ls.join(', ')}))`, mayBeUnknown: false };
  }
  return null;
}

function compileOp(target: Target, op: FieldOp, ctx: Context): CompiledFilter {
  const shortcut = columnShortcut(target, op);
  if (shortcut !== null) return shortcut;
  const loc = locate(target);
  if (loc === null) return UNKNOWN;
  switch (op.op) {
    case 'eq':
      if (isWholeDefColumn(target) && typeof op.value === 'object' && op.value !== null && !Array.isArray(op.value)) {
        // qlib's dedupe query {filter: def}: the column holds JSON.stringify output, so equal
        // documents (BSON equality: same keys in the same order) have identical text.
        return { sql: `(def = ${sqlString(JSON.stringify(op.value))})`, mayBeUnknown: false };
      }
      return expanded(loc, (v, t) => equalsTest(op.value, v, t), ctx);
    case 'ne':
      return not(expanded(loc, (v, t) => equalsTest(op.value, v, t), ctx));
    case 'in':
      return expanded(loc, (v, t) => scalarTest({ op: 'in', values: op.values }, v, t)!, ctx);
    case 'nin':
      return not(expanded(loc, (v, t) => scalarTest({ op: 'in', values: op.values }, v, t)!, ctx));
    case 'all':
      if (op.values.length === 0) return FALSE;
      return and(op.values.map((x) => expanded(loc, (v, t) => equalsTest(x, v, t), ctx)));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return expanded(loc, (v, t) => compareTest(op.op, op.value, v, t), ctx);
    case 'regex':
      return expanded(loc, (v, t) => regexTest(op.source, op.flags, v, t), ctx);
    case 'exists':
      return guarded(loc, definite(op.value ? `(${loc.type} IS NOT NULL)` : `(${loc.type} IS NULL)`));
    case 'size':
      return guarded(loc, definite(`(CASE WHEN ${loc.type} = 'array' THEN json_array_length(${loc.value}) = ${op.value} ELSE 0 END)`));
    case 'not':
      return not(and(op.ops.map((o) => compileOp(target, o, ctx))));
    case 'elemMatchOps': {
      if (loc.each === null) return FALSE;
      const a = `j${ctx.alias.n++}`;
      const tests = op.ops.map((o) => scalarTest(o, `${a}.value`, `${a}.type`));
      if (tests.some((t) => t === null)) return guarded(loc, UNKNOWN);
      const sql = `(${loc.type} = 'array' AND EXISTS (SELECT 1 FROM json_each(${loc.each}) AS ${a} WHERE ${tests.join(' AND ')}))`;
      return guarded(loc, definite(sql));
    }
    case 'elemMatchDoc': {
      if (loc.each === null) return FALSE;
      const a = `j${ctx.alias.n++}`;
      const inner = compileCondition(op.cond, {
        alias: ctx.alias,
        resolve: (path) => ({ kind: 'json', doc: `${a}.value`, parts: path, rootMayBeArray: false }),
      });
      const from = `FROM json_each(${loc.each}) AS ${a} WHERE ${a}.type = 'object'`;
      const body = `(CASE WHEN ${a}.type = 'object' THEN ${inner.sql} ELSE 0 END)`;
      if (!inner.mayBeUnknown) {
        return guarded(loc, definite(`(${loc.type} = 'array' AND EXISTS (SELECT 1 ${from} AND ${body} = 1))`));
      }
      const sql = `(CASE WHEN ${loc.type} IS NOT 'array' THEN 0 WHEN EXISTS (SELECT 1 ${from} AND ${body} IS 1) THEN 1 WHEN EXISTS (SELECT 1 ${from} AND ${body} IS NULL) THEN NULL ELSE 0 END)`;
      return guarded(loc, { sql, mayBeUnknown: true });
    }
  }
}
