import { ValidationError } from '../errors.ts';
import type { JsonValue } from '../task/types.ts';
import type { TaskContext, TaskFn } from './types.ts';

/** Prefix that names a built-in task function: `qtask:echo`. */
export const BUILTIN_PREFIX = 'qtask:';

/** Returns its parameter unchanged. */
export const echoTaskFn: TaskFn = (param) => param;

/**
 * Waits `param.ms` milliseconds (stopping early, with the abort reason, when `ctx.signal` fires),
 * then returns `param.result` if given, else the parameter.
 */
export const sleepTaskFn: TaskFn = async (param: JsonValue, ctx: TaskContext) => {
  const obj = param !== null && typeof param === 'object' && !Array.isArray(param) ? param : null;
  const ms = obj?.ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new ValidationError([{ path: 'ms', message: 'qtask:sleep needs a parameter {ms: number >= 0}' }]);
  }
  await new Promise<void>((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(ctx.signal.reason);
    };
    const timer = setTimeout(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  return obj?.result !== undefined ? obj.result : param;
};

// Loaders rather than functions so heavy built-ins (training) are imported only when named.
const registry = new Map<string, () => Promise<TaskFn>>([
  ['echo', async () => echoTaskFn],
  ['sleep', async () => sleepTaskFn],
  ['taskTrain', async () => (await import('../workflow/taskFns.ts')).taskTrainTaskFn],
  ['beginTaskTrain', async () => (await import('../workflow/taskFns.ts')).beginTaskTrainTaskFn],
  ['endTaskTrain', async () => (await import('../workflow/taskFns.ts')).endTaskTrainTaskFn],
]);

/** Adds a built-in task function, reachable as `qtask:<name>`. Later registrations replace earlier ones. */
export function registerBuiltinTaskFn(name: string, load: () => Promise<TaskFn>): void {
  registry.set(name, load);
}

export function builtinTaskFnNames(): string[] {
  return [...registry.keys()].sort();
}

/** The loader for `qtask:<name>`, or undefined. */
export function findBuiltinTaskFn(name: string): (() => Promise<TaskFn>) | undefined {
  return registry.get(name);
}
