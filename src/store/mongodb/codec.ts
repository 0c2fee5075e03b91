import { ObjectId } from 'mongodb';
import type { JsonValue, TaskDef, TaskDocument, TaskErrorInfo } from '../../task/types.ts';
import { isTaskStatus } from '../../task/types.ts';

/** A task as stored in MongoDB: plain JSON fields plus BSON dates, readable in any MongoDB tool. */
export interface StoredTask {
  _id: ObjectId;
  def: TaskDef;
  filter: TaskDef;
  hash: string;
  status: string;
  priority: number;
  res?: JsonValue;
  attempts: number;
  lastError: StoredError | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  worker: string | null;
  leaseToken: string | null;
  leaseExpiresAt: Date | null;
  /** The status the current run was claimed from; an expired lease returns the task there. */
  claimedFrom?: string;
  /** Token of the last lease that wrote a result or error (lets a retried write see its own success). */
  lastLeaseToken?: string;
}

export interface StoredError {
  message: string;
  code: string;
  worker: string | null;
  at: Date;
}

/** Only documents with these can be claimed or counted; anything else was written by another tool. */
export const WELL_FORMED: Record<string, { $type: string }> = { hash: { $type: 'string' }, def: { $type: 'object' }, attempts: { $type: 'number' } };

/**
 * FerretDB 1.x refuses arrays directly inside arrays (`[[1, 2], [3, 4]]`). On that path they are
 * stored as `{"@array": [1, 2]}` elements and unwrapped on read; MongoDB stores them as they are.
 */
export const NESTED_ARRAY_KEY = '@array';

export function wrapNestedArrays(value: JsonValue, insideArray = false): JsonValue {
  if (Array.isArray(value)) {
    const items = value.map((v) => wrapNestedArrays(v, true));
    return insideArray ? { [NESTED_ARRAY_KEY]: items } : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) out[k] = wrapNestedArrays(v);
    return out;
  }
  return value;
}

export function unwrapNestedArrays(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => {
      const inner = unwrapNestedArrays(v);
      if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
        const keys = Object.keys(inner);
        if (keys.length === 1 && keys[0] === NESTED_ARRAY_KEY && Array.isArray((inner as Record<string, unknown>)[NESTED_ARRAY_KEY])) {
          return (inner as Record<string, unknown>)[NESTED_ARRAY_KEY];
        }
      }
      return inner;
    });
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !(value instanceof ObjectId)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapNestedArrays(v);
    return out;
  }
  return value;
}

export function newStoredTask(def: TaskDef, hash: string, priority: number, now: Date, wrap: boolean): StoredTask {
  const stored = wrap ? (wrapNestedArrays(def) as TaskDef) : def;
  return {
    _id: new ObjectId(),
    def: stored,
    filter: stored,
    hash,
    status: 'waiting',
    priority,
    attempts: 0,
    lastError: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    worker: null,
    leaseToken: null,
    leaseExpiresAt: null,
  };
}

const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : typeof d === 'string' ? d : null);
const isPlainObject = (v: unknown): v is TaskDef => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes a stored document, or says what is wrong with it. Optional bookkeeping fields that a
 * foreign writer left out get their defaults; the identity fields (`_id`, `def`, `hash`, a known
 * `status`) must be there.
 */
export function decodeTask(stored: object): TaskDocument | { problem: string } {
  const doc = stored as Record<string, unknown>;
  const id = doc['_id'];
  if (!(id instanceof ObjectId)) return { problem: '_id is not an ObjectId' };
  const def = unwrapNestedArrays(doc['def']);
  if (!isPlainObject(def)) return { problem: 'def is missing or not a JSON object (written by another tool?)' };
  const hash = doc['hash'];
  if (typeof hash !== 'string') return { problem: 'hash is missing' };
  const status = doc['status'];
  if (!isTaskStatus(status)) return { problem: `status ${JSON.stringify(status)} is not a task status` };
  const priority = doc['priority'];
  const attempts = doc['attempts'];
  const filter = unwrapNestedArrays(doc['filter']);
  const task: TaskDocument = {
    _id: id.toHexString(),
    def,
    filter: isPlainObject(filter) ? filter : def,
    hash,
    status,
    priority: typeof priority === 'number' ? priority : 0,
    attempts: typeof attempts === 'number' ? attempts : 0,
    lastError: decodeError(doc['lastError']),
    createdAt: iso(doc['createdAt']) ?? id.getTimestamp().toISOString(),
    startedAt: iso(doc['startedAt']),
    finishedAt: iso(doc['finishedAt']),
    worker: typeof doc['worker'] === 'string' ? doc['worker'] : null,
    leaseToken: typeof doc['leaseToken'] === 'string' ? doc['leaseToken'] : null,
    leaseExpiresAt: iso(doc['leaseExpiresAt']),
  };
  if ('res' in doc && doc['res'] !== undefined) task.res = unwrapNestedArrays(doc['res']) as JsonValue;
  return task;
}

function decodeError(v: unknown): TaskErrorInfo | null {
  if (!isPlainObject(v as JsonValue)) return null;
  const e = v as Record<string, unknown>;
  return {
    message: typeof e['message'] === 'string' ? e['message'] : String(e['message'] ?? ''),
    code: typeof e['code'] === 'string' ? e['code'] : 'UNKNOWN',
    worker: typeof e['worker'] === 'string' ? e['worker'] : null,
    at: iso(e['at']) ?? '',
  };
}
