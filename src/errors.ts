/**
 * Typed errors. Every error a user can cause carries a stable `code`, the `path` of the offending
 * field when there is one, and a `hint`. The CLI prints `message` (one line) and exits non-zero;
 * it never prints a stack for a `QtaskError`.
 *
 * `nonRetryable` follows Temporal's notion: a task function that throws an error with
 * `nonRetryable: true` fails its task at once instead of being retried.
 */

export interface ErrorDetails {
  /** Dotted path of the offending field, e.g. `dataset.kwargs.segments.test[0]`. */
  path?: string;
  /** What the user can do about it. */
  hint?: string;
  /** Underlying error, kept for logs. */
  cause?: unknown;
}

export class QtaskError extends Error {
  readonly code: string;
  readonly path?: string;
  readonly hint?: string;
  /** When true, a task failing with this error is not retried. Default false. */
  readonly nonRetryable: boolean = false;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.hint !== undefined) this.hint = details.hint;
  }

  /** One readable line: `CODE: path: message (hint)`. */
  toLine(): string {
    const where = this.path ? `${this.path}: ` : '';
    const hint = this.hint ? ` (hint: ${this.hint})` : '';
    return `${this.code}: ${where}${this.message}${hint}`;
  }

  toJSON(): { name: string; code: string; message: string; path?: string; hint?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
    };
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Bad input: every problem found, each with its path. Code `VALIDATION`. */
export class ValidationError extends QtaskError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], details: Omit<ErrorDetails, 'path'> & { source?: string } = {}) {
    const first = issues[0];
    const src = details.source ? `${details.source}: ` : '';
    const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super('VALIDATION', `${src}${summary}`, { ...details, ...(first?.path ? { path: first.path } : {}) });
    this.issues = issues;
  }
  override toLine(): string {
    return `${this.code}: ${this.message}${this.hint ? ` (hint: ${this.hint})` : ''}`;
  }
}

/**
 * A lease-holding operation (heartbeat, commit, return) was refused because the caller's fencing
 * token is no longer the task's current one: the lease expired and another worker took the task,
 * or an operator reset it. Nothing was changed.
 */
export class LeaseLostError extends QtaskError {
  readonly taskId: string;
  constructor(taskId: string, message = `lease on task ${taskId} was lost; the result was not written`) {
    super('LEASE_LOST', message, { hint: 'the task was taken over after its lease expired; raise --lease if tasks run long without heartbeats' });
    this.taskId = taskId;
  }
}

/** Thrown by a task function to fail its task at once, without further attempts. */
export class NonRetryableError extends QtaskError {
  override readonly nonRetryable = true;
  constructor(message: string, details: ErrorDetails & { code?: string } = {}) {
    super(details.code ?? 'NON_RETRYABLE', message, details);
  }
}

export class TaskNotFoundError extends QtaskError {
  constructor(id: string, pool?: string) {
    super('TASK_NOT_FOUND', `no task with id ${JSON.stringify(id)}${pool ? ` in pool ${JSON.stringify(pool)}` : ''}`, {
      hint: 'list ids with `qtask query {}`',
    });
  }
}

/** Store URL, connection, file or schema problems. Codes: STORE_URL, STORE_OPEN, STORE_CORRUPT, STORE_UNREACHABLE, STORE_AUTH, POOL_NAME, … */
export class StoreError extends QtaskError {}

/** A Mongo-style filter the stores cannot evaluate. Codes: QUERY_OPERATOR, QUERY_SHAPE. */
export class QueryError extends QtaskError {}

/** Calendar and date arithmetic problems. Codes: CALENDAR_EMPTY, CALENDAR_UNSORTED, DATE_OUT_OF_CALENDAR, … */
export class CalendarError extends QtaskError {}

/** A task function could not be loaded or its result could not be stored. Codes: TASK_FN_*, RESULT_NOT_JSON, TASK_THREW. */
export class TaskFunctionError extends QtaskError {}

export function isQtaskError(e: unknown): e is QtaskError {
  return e instanceof QtaskError;
}

/** Normalises anything thrown (strings, objects, undefined) into an Error with a message. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  let text: string;
  try {
    text = typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  } catch {
    text = String(e);
  }
  return new TaskFunctionError('TASK_THREW_NON_ERROR', `task function threw a non-Error value: ${text}`, {
    hint: 'throw an Error (or a NonRetryableError) so the stored error has a message and a code',
  });
}
