import { ObjectId } from 'mongodb';
import type { Filter } from 'mongodb';
import type { JsonValue } from '../../task/types.ts';
import type { TaskFilter } from '../types.ts';
import type { StoredTask } from './codec.ts';

// Stored as BSON dates (so tools show real times); users write ISO strings, as TaskDocument shows them.
const DATE_FIELDS = new Set(['createdAt', 'startedAt', 'finishedAt', 'leaseExpiresAt', 'lastError.at']);
const HEX_ID = /^[0-9a-f]{24}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

type Convert = (v: JsonValue) => unknown;

const toObjectId: Convert = (v) => (typeof v === 'string' && HEX_ID.test(v) ? new ObjectId(v) : v);
const toDate: Convert = (v) => (typeof v === 'string' && ISO_TIME.test(v) && !Number.isNaN(Date.parse(v)) ? new Date(v) : v);

function convertOperand(value: JsonValue, convert: Convert): unknown {
  if (Array.isArray(value)) return value.map((v) => convertOperand(v, convert));
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length > 0 && keys.every((k) => k.startsWith('$'))) {
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = k === '$regex' || k === '$options' || k === '$exists' || k === '$size' ? value[k] : convertOperand(value[k] as JsonValue, convert);
      return out;
    }
    return value;
  }
  return convert(value);
}

/**
 * A validated TaskFilter in MongoDB's terms: `_id` strings become ObjectIds and ISO times on the
 * date fields become BSON dates, inside operators and logical combinators too. Everything else —
 * `def.*`, `filter.*`, `status` — is stored as the user sees it and passes through unchanged.
 */
export function toMongoFilter(filter: TaskFilter): Filter<StoredTask> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      out[key] = Array.isArray(value) ? value.map((f) => (f !== null && typeof f === 'object' && !Array.isArray(f) ? toMongoFilter(f) : f)) : value;
    } else if (key === '_id') {
      out[key] = convertOperand(value, toObjectId);
    } else if (DATE_FIELDS.has(key)) {
      out[key] = convertOperand(value, toDate);
    } else {
      out[key] = value;
    }
  }
  return out as Filter<StoredTask>;
}
