import type { JsonValue } from '../../task/types.ts';
import type { CompareOp, Condition, FieldOp } from './parse.ts';

/**
 * The JS evaluator: MongoDB's matching rules over plain JSON documents. The SQLite store uses it
 * only for rows its SQL could not decide (paths through arrays); it is also the reference the SQL
 * compiler is tested against.
 *
 * Rules: a path through an array visits its object elements; a field whose value is an array
 * matches a value test when the array itself or any element passes; null matches missing;
 * `$ne`/`$nin`/`$not` match missing; comparisons only between the same type (numbers with numbers,
 * strings with strings by UTF-8 bytes, booleans with booleans); object equality is key-order
 * sensitive, as in BSON.
 */
const MISSING: unique symbol = Symbol('missing');
/**
 * A value reached by an array index as the last path part (`a.0`): MongoDB compares it whole and
 * does not look inside it when it is itself an array (`{"a.0": 1}` does not match `{a: [[1, 2]]}`).
 */
class Positional {
  constructor(readonly value: JsonValue) {}
}
type Candidate = JsonValue | typeof MISSING | Positional;

const valueOf = (c: Candidate): JsonValue | typeof MISSING => (c instanceof Positional ? c.value : c);

export function matchesCondition(doc: unknown, cond: Condition): boolean {
  switch (cond.kind) {
    case 'and':
      return cond.items.every((c) => matchesCondition(doc, c));
    case 'or':
      return cond.items.some((c) => matchesCondition(doc, c));
    case 'nor':
      return !cond.items.some((c) => matchesCondition(doc, c));
    case 'field': {
      const candidates = resolvePath(doc as JsonValue, cond.path, 0);
      return cond.ops.every((op) => matchesOp(candidates, op));
    }
  }
}

function isObject(v: unknown): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolvePath(value: JsonValue, parts: string[], i: number): Candidate[] {
  if (i === parts.length) return [value];
  const key = parts[i]!;
  if (Array.isArray(value)) {
    const out: Candidate[] = [];
    // A numeric part on an array is an index (and still a key of object elements).
    if (/^\d+$/.test(key) && Number(key) < value.length) {
      const el = value[Number(key)]!;
      if (i === parts.length - 1) out.push(new Positional(el));
      else out.push(...resolvePath(el, parts, i + 1));
    }
    for (const el of value) if (isObject(el)) out.push(...resolvePath(el, parts, i));
    return out.length > 0 ? out : [MISSING];
  }
  if (isObject(value) && Object.prototype.hasOwnProperty.call(value, key)) {
    return resolvePath(value[key]!, parts, i + 1);
  }
  return [MISSING];
}

function matchesOp(candidates: Candidate[], op: FieldOp): boolean {
  switch (op.op) {
    case 'eq':
      return candidates.some((c) => expandedTest(c, (v) => valueEquals(v, op.value)));
    case 'ne':
      return !candidates.some((c) => expandedTest(c, (v) => valueEquals(v, op.value)));
    case 'in':
      return candidates.some((c) => expandedTest(c, (v) => op.values.some((x) => valueEquals(v, x))));
    case 'nin':
      return !candidates.some((c) => expandedTest(c, (v) => op.values.some((x) => valueEquals(v, x))));
    case 'all':
      return op.values.length > 0 && op.values.every((x) => candidates.some((c) => expandedTest(c, (v) => valueEquals(v, x))));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return candidates.some((c) => expandedTest(c, (v) => compares(v, op.op, op.value)));
    case 'exists':
      return candidates.some((c) => c !== MISSING) === op.value;
    case 'regex': {
      const re = new RegExp(op.source, op.flags);
      return candidates.some((c) => expandedTest(c, (v) => typeof v === 'string' && re.test(v)));
    }
    case 'size':
      return candidates.map(valueOf).some((c) => Array.isArray(c) && c.length === op.value);
    case 'not':
      return !op.ops.every((inner) => matchesOp(candidates, inner));
    case 'elemMatchOps':
      return candidates.map(valueOf).some((c) => Array.isArray(c) && c.some((el) => op.ops.every((inner) => matchesScalarOp(el, inner))));
    case 'elemMatchDoc':
      return candidates.map(valueOf).some((c) => Array.isArray(c) && c.some((el) => isObject(el) && matchesCondition(el, op.cond)));
  }
}

/** `$elemMatch` operator form: each element is tested as one value (nested arrays are not expanded). */
function matchesScalarOp(el: JsonValue, op: FieldOp): boolean {
  switch (op.op) {
    case 'eq':
      return valueEquals(el, op.value);
    case 'ne':
      return !valueEquals(el, op.value);
    case 'in':
      return op.values.some((x) => valueEquals(el, x));
    case 'nin':
      return !op.values.some((x) => valueEquals(el, x));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compares(el, op.op, op.value);
    case 'regex':
      return typeof el === 'string' && new RegExp(op.source, op.flags).test(el);
    case 'not':
      return !op.ops.every((inner) => matchesScalarOp(el, inner));
    default:
      return matchesOp([el], op);
  }
}

/** A value test passes on the value itself or, when it is an array, on any element. */
function expandedTest(c: Candidate, test: (v: JsonValue | typeof MISSING) => boolean): boolean {
  if (c instanceof Positional) return test(c.value);
  if (test(c)) return true;
  return Array.isArray(c) && c.some((el) => test(el));
}

export function valueEquals(a: JsonValue | typeof MISSING, b: JsonValue): boolean {
  if (b === null) return a === null || a === MISSING;
  if (a === MISSING || a === null) return false;
  if (typeof b !== 'object') return a === b;
  if (Array.isArray(b)) {
    return Array.isArray(a) && a.length === b.length && a.every((x, i) => valueEquals(x, b[i]!));
  }
  if (!isObject(a)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  return ak.length === bk.length && ak.every((k, i) => k === bk[i] && valueEquals(a[k]!, b[k]!));
}

function compares(a: JsonValue | typeof MISSING, op: CompareOp, b: JsonValue): boolean {
  if (b === null) return (op === 'gte' || op === 'lte') && (a === null || a === MISSING);
  let order: number;
  if (typeof a === 'number' && typeof b === 'number') order = a < b ? -1 : a > b ? 1 : 0;
  else if (typeof a === 'string' && typeof b === 'string') order = Buffer.compare(Buffer.from(a), Buffer.from(b));
  else if (typeof a === 'boolean' && typeof b === 'boolean') order = Number(a) - Number(b);
  else return false;
  switch (op) {
    case 'gt':
      return order > 0;
    case 'gte':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'lte':
      return order <= 0;
  }
}
