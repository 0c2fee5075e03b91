/** JSON values: the only things a task definition or a task result may contain. */
export type JsonPrimitive = null | boolean | number | string;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** `YYYY-MM-DD`, or `null` for an open end. */
export type DateBound = string | null;
/** An inclusive `[start, end]` pair of trading days. */
export type Segment = [DateBound, DateBound];

/**
 * A qlib-shaped task definition:
 * `{model: {class, module_path?, kwargs}, dataset: {class, kwargs: {handler, segments}}, record: [...]}`
 * plus anything users add. Kept as plain JSON; use the accessors in `task/definition.ts` to read
 * the parts generators rely on.
 */
export type TaskDef = JsonObject;

/** Task statuses: qlib's four plus `failed` (attempts exhausted or non-retryable) and `cancelled`. */
export const TASK_STATUSES = ['waiting', 'running', 'part_done', 'done', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const STATUS_WAITING: TaskStatus = 'waiting';
export const STATUS_RUNNING: TaskStatus = 'running';
export const STATUS_PART_DONE: TaskStatus = 'part_done';
export const STATUS_DONE: TaskStatus = 'done';
export const STATUS_FAILED: TaskStatus = 'failed';
export const STATUS_CANCELLED: TaskStatus = 'cancelled';

export function isTaskStatus(s: unknown): s is TaskStatus {
  return typeof s === 'string' && (TASK_STATUSES as readonly string[]).includes(s);
}

/** The last error a task's run ended with. */
export interface TaskErrorInfo {
  message: string;
  code: string;
  worker: string | null;
  /** ISO-8601 time the error was recorded. */
  at: string;
}

/**
 * A stored task, in qlib's field names (`_id`, `def`, `filter`, `status`, `priority`, `res`) plus
 * the lease and bookkeeping fields. All times are ISO-8601 strings.
 */
export interface TaskDocument {
  /** 24 hex characters (a MongoDB ObjectId's form, on every store). */
  _id: string;
  def: TaskDef;
  /** qlib's queryable copy of the definition: `filter.model.class` etc. Equal to `def`. */
  filter: TaskDef;
  /** SHA-256 of the canonical definition; unique within a pool. */
  hash: string;
  status: TaskStatus;
  /** Higher runs first. Default 0. */
  priority: number;
  /** Present once a result was committed. */
  res?: JsonValue;
  /** Number of claims so far. */
  attempts: number;
  lastError: TaskErrorInfo | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Worker holding (or last holding) the task. */
  worker: string | null;
  /** Fencing token of the current lease; null when not running. */
  leaseToken: string | null;
  leaseExpiresAt: string | null;
}
