import { QueryError } from '../../errors.ts';
import type { JsonObject, JsonValue } from '../../task/types.ts';

/**
 * A validated filter. Both evaluators (SQL in `sql.ts`, JS in `match.ts`) work on this tree, never
 * on the raw JSON, so both see exactly the same meaning.
 */
export type Condition =
  | { kind: 'and' | 'or' | 'nor'; items: Condition[] }
  | { kind: 'field'; path: string[]; ops: FieldOp[] };

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte';

export type FieldOp =
  | { op: 'eq' | 'ne'; value: JsonValue }
  | { op: CompareOp; value: JsonValue }
  | { op: 'in' | 'nin' | 'all'; values: JsonValue[] }
  | { op: 'exists'; value: boolean }
  | { op: 'regex'; source: string; flags: string }
  | { op: 'size'; value: number }
  | { op: 'not'; ops: FieldOp[] }
  | { op: 'elemMatchOps'; ops: FieldOp[] }
  | { op: 'elemMatchDoc'; cond: Condition };

export const SUPPORTED_OPERATORS = [
  '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$and', '$or', '$nor',
  '$not', '$regex', '$options', '$size', '$all', '$elemMatch',
] as const;

const OPERATOR_HINT = `supported operators: ${SUPPORTED_OPERATORS.join(' ')}`;
const REGEX_FLAGS = /^[imsu]*$/;

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shape(path: string, message: string, hint: string): QueryError {
  return new QueryError('QUERY_SHAPE', message, { path, hint });
}

function unknownOperator(path: string, op: string): QueryError {
  return new QueryError('QUERY_OPERATOR', `unknown operator ${op}`, { path, hint: OPERATOR_HINT });
}

const join = (base: string, key: string): string => (base ? `${base}.${key}` : key);

/**
 * Validates a Mongo-style filter and returns its tree. `filter.X` paths are rewritten to `def.X`
 * (qlib stores the definition twice; here both names address the same data).
 * Throws `QueryError` `QUERY_OPERATOR` for an unknown `$operator`, `QUERY_SHAPE` for a malformed
 * operand; `path` says where.
 */
export function parseFilter(filter: unknown, errorBase = ''): Condition {
  return parseDocument(filter, errorBase, true);
}

function parseDocument(filter: unknown, at: string, topLevel: boolean): Condition {
  if (!isPlainObject(filter)) {
    throw shape(at, 'a filter must be an object', 'write a filter like {"def.model.class": "LinearModel"}');
  }
  const items: Condition[] = [];
  for (const [key, value] of Object.entries(filter)) {
    const where = join(at, key);
    if (key.startsWith('$')) {
      if (key !== '$and' && key !== '$or' && key !== '$nor') throw unknownOperator(where, key);
      if (!Array.isArray(value) || value.length === 0) {
        throw shape(where, `${key} needs a non-empty list of filters`, `write {"${key}": [{...}, {...}]}`);
      }
      const kind = key.slice(1) as 'and' | 'or' | 'nor';
      items.push({ kind, items: value.map((v, i) => parseDocument(v, `${where}[${i}]`, topLevel)) });
      continue;
    }
    items.push({ kind: 'field', path: parsePath(key, where, topLevel), ops: parseFieldValue(value, where) });
  }
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

function parsePath(key: string, where: string, topLevel: boolean): string[] {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) {
    throw shape(where, `field path ${JSON.stringify(key)} has an empty part`, 'write dotted paths like def.model.class');
  }
  if (topLevel && parts[0] === 'filter') parts[0] = 'def';
  return parts;
}

function parseFieldValue(value: JsonValue | undefined, where: string): FieldOp[] {
  if (value === undefined) throw shape(where, 'value is undefined', 'use null to match a missing or null field');
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const operatorKeys = keys.filter((k) => k.startsWith('$'));
    if (operatorKeys.length > 0) {
      if (operatorKeys.length !== keys.length) {
        throw shape(where, 'an object mixes $operators and field names', 'use either {"$gt": 1} or a literal object, not both');
      }
      return parseOperators(value, where);
    }
  }
  assertLiteral(value, where);
  return [{ op: 'eq', value }];
}

/** Literal values may not contain `$` keys: `{def: {model: {$regex: …}}}` is almost always a mistyped dotted path. */
function assertLiteral(value: JsonValue, where: string): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw shape(where, `${value} is not a JSON number`, 'filters hold JSON values only');
  }
  if (value === undefined) throw shape(where, 'value is undefined', 'use null to match a missing or null field');
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertLiteral(v, `${where}[${i}]`));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('$')) {
        throw shape(join(where, k), `operator ${k} inside a literal value`, 'to match a nested field use a dotted path, e.g. {"def.model.class": {"$regex": "^Lin"}}');
      }
      assertLiteral(v, join(where, k));
    }
  }
}

function parseOperators(obj: JsonObject, at: string): FieldOp[] {
  const ops: FieldOp[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const where = join(at, key);
    switch (key) {
      case '$eq':
      case '$ne':
        assertLiteral(value, where);
        ops.push({ op: key === '$eq' ? 'eq' : 'ne', value });
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        assertLiteral(value, where);
        ops.push({ op: key.slice(1) as CompareOp, value });
        break;
      case '$in':
      case '$nin':
      case '$all':
        if (!Array.isArray(value)) throw shape(where, `${key} needs a list`, `write {"${key}": [value, …]}`);
        assertLiteral(value, where);
        ops.push({ op: key.slice(1) as 'in' | 'nin' | 'all', values: value });
        break;
      case '$exists':
        if (typeof value !== 'boolean') throw shape(where, '$exists needs true or false', 'write {"$exists": true}');
        ops.push({ op: 'exists', value });
        break;
      case '$regex': {
        const options = obj['$options'];
        if (typeof value !== 'string') throw shape(where, '$regex needs a string pattern', 'write {"$regex": "^Lin", "$options": "i"}');
        if (options !== undefined && (typeof options !== 'string' || !REGEX_FLAGS.test(options))) {
          throw shape(join(at, '$options'), '$options must be a string of the flags i, m, s, u', 'write {"$options": "i"}');
        }
        const flags = options ?? '';
        try {
          new RegExp(value, flags);
        } catch (e) {
          throw shape(where, `invalid regular expression: ${(e as Error).message}`, 'check the pattern syntax');
        }
        ops.push({ op: 'regex', source: value, flags });
        break;
      }
      case '$options':
        if (!('$regex' in obj)) throw shape(where, '$options without $regex', 'add a $regex next to $options');
        break;
      case '$size':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw shape(where, '$size needs a non-negative integer', 'write {"$size": 2}');
        }
        ops.push({ op: 'size', value });
        break;
      case '$not': {
        if (!isPlainObject(value) || Object.keys(value).length === 0 || !Object.keys(value).every((k) => k.startsWith('$'))) {
          throw shape(where, '$not needs an object of operators', 'write {"$not": {"$gt": 5}}');
        }
        ops.push({ op: 'not', ops: parseOperators(value, where) });
        break;
      }
      case '$elemMatch': {
        if (!isPlainObject(value) || Object.keys(value).length === 0) {
          throw shape(where, '$elemMatch needs a non-empty object', 'write {"$elemMatch": {"class": "SignalRecord"}} or {"$elemMatch": {"$gt": 1}}');
        }
        const keys = Object.keys(value);
        const isOperatorForm = keys.every((k) => k.startsWith('$') && k !== '$and' && k !== '$or' && k !== '$nor');
        if (isOperatorForm) ops.push({ op: 'elemMatchOps', ops: parseOperators(value, where) });
        else ops.push({ op: 'elemMatchDoc', cond: parseDocument(value, where, false) });
        break;
      }
      default:
        throw unknownOperator(where, key);
    }
  }
  return ops;
}
