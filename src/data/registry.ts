/**
 * qlib `class` / `module_path` pairs that qtask implements itself. A task config written for qlib
 * (`{class: Alpha158, module_path: qlib.contrib.data.handler, kwargs: …}`) resolves to the built-in
 * of the same name; `module_path` may also be omitted or `qtask`. Anything else is a typed error
 * listing what is built in.
 */
import { HandlerConfigError } from './handler/errors.ts';

export type BuiltinKind = 'handler' | 'dataset' | 'processor';

export interface BuiltinClass {
  kind: BuiltinKind;
  className: string;
  /** qlib module paths under which qlib users name this class. */
  modulePaths: readonly string[];
}

const PROCESSOR_MODULES = ['qlib.data.dataset.processor'] as const;
const HANDLER_MODULES = ['qlib.contrib.data.handler'] as const;
const CORE_HANDLER_MODULES = ['qlib.data.dataset.handler', 'qlib.data.dataset'] as const;
const DATASET_MODULES = ['qlib.data.dataset'] as const;

export const BUILTIN_CLASSES: readonly BuiltinClass[] = [
  { kind: 'handler', className: 'Alpha158', modulePaths: HANDLER_MODULES },
  { kind: 'handler', className: 'Alpha360', modulePaths: HANDLER_MODULES },
  { kind: 'handler', className: 'DataHandlerLP', modulePaths: CORE_HANDLER_MODULES },
  { kind: 'dataset', className: 'DatasetH', modulePaths: DATASET_MODULES },
  ...[
    'DropnaProcessor', 'DropnaLabel', 'Fillna', 'ProcessInf', 'DropCol', 'FilterCol', 'CSZFillna',
    'ZScoreNorm', 'RobustZScoreNorm', 'MinMaxNorm', 'CSZScoreNorm', 'CSRankNorm',
  ].map((className): BuiltinClass => ({ kind: 'processor', className, modulePaths: PROCESSOR_MODULES })),
];

const CODES: Record<BuiltinKind, string> = {
  handler: 'HANDLER_UNKNOWN_CLASS',
  dataset: 'DATASET_UNKNOWN_CLASS',
  processor: 'PROCESSOR_UNKNOWN_CLASS',
};

/** Names of the built-ins of a kind, in registry order. */
export function knownClasses(kind: BuiltinKind): string[] {
  return BUILTIN_CLASSES.filter((c) => c.kind === kind).map((c) => c.className);
}

/**
 * The built-in for `className` (+ optional qlib `modulePath`). `path` names the config field in errors.
 */
export function resolveBuiltin(kind: BuiltinKind, className: unknown, modulePath: unknown, path: string): BuiltinClass {
  const known = knownClasses(kind);
  if (typeof className !== 'string' || className.length === 0) {
    throw new HandlerConfigError(CODES[kind], `a ${kind} needs a class name`, { path: `${path}.class`, hint: `built-in ${kind}s: ${known.join(', ')}` });
  }
  const entry = BUILTIN_CLASSES.find((c) => c.kind === kind && c.className === className);
  if (!entry) {
    const near = known.find((k) => k.toLowerCase() === className.toLowerCase());
    throw new HandlerConfigError(CODES[kind], `unknown ${kind} class ${JSON.stringify(className)}`, {
      path: `${path}.class`,
      hint: near ? `did you mean ${near}? built-in ${kind}s: ${known.join(', ')}` : `built-in ${kind}s: ${known.join(', ')}`,
    });
  }
  if (modulePath !== undefined && modulePath !== null && modulePath !== 'qtask' && !entry.modulePaths.includes(modulePath as string)) {
    throw new HandlerConfigError(CODES[kind], `${className} from module ${JSON.stringify(modulePath)} is not built in`, {
      path: `${path}.module_path`,
      hint: `qtask provides ${className} as ${entry.modulePaths.join(' or ')} (or omit module_path)`,
    });
  }
  return entry;
}
