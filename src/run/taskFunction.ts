import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskFunctionError, ValidationError } from '../errors.ts';
import { BUILTIN_PREFIX, builtinTaskFnNames, findBuiltinTaskFn } from './builtinTaskFns.ts';
import type { TaskFn, TaskFnSpec } from './types.ts';

const PATH_LIKE = /^(\.{1,2}[\\/]|[\\/])|\.(ts|mts|cts|js|mjs|cjs)$/;

/** `'path/to/mod.ts#exportName'` → `{module, export}`; the export defaults to `default`. */
export function parseTaskFnSpec(text: string): TaskFnSpec {
  const trimmed = text.trim();
  const hash = trimmed.lastIndexOf('#');
  const module = hash > 0 ? trimmed.slice(0, hash) : trimmed;
  const exportName = hash > 0 ? trimmed.slice(hash + 1) : 'default';
  if (!module || !exportName) {
    throw new ValidationError([{ path: 'taskFn', message: `"${text}" is not MODULE[#EXPORT]` }], {
      hint: 'e.g. ./tasks/train.ts#train, my-package#train or qtask:echo',
    });
  }
  return { module, export: exportName };
}

export function formatTaskFnSpec(spec: TaskFnSpec): string {
  const name = spec.export ?? 'default';
  return spec.module.startsWith(BUILTIN_PREFIX) || name === 'default' ? spec.module : `${spec.module}#${name}`;
}

/**
 * Turns the module part into something `import()` can load from anywhere: a `file:` URL for a path
 * (relative to `cwd`), the resolved entry for a package, or the `qtask:` name unchanged. A child
 * process given this form loads exactly the same module whatever its own cwd.
 */
export function resolveTaskFnModule(module: string, cwd = process.cwd()): string {
  if (module.startsWith(BUILTIN_PREFIX)) {
    const name = module.slice(BUILTIN_PREFIX.length);
    if (!findBuiltinTaskFn(name)) {
      throw new TaskFunctionError('TASK_FN_MODULE_NOT_FOUND', `no built-in task function "${module}"`, {
        path: 'taskFn',
        hint: `built-ins: ${builtinTaskFnNames().map((n) => BUILTIN_PREFIX + n).join(', ')}`,
      });
    }
    return module;
  }
  if (module.startsWith('file:')) return module;
  const asPath = isAbsolute(module) ? module : resolvePath(cwd, module);
  if (existsSync(asPath) && statSync(asPath).isFile()) return pathToFileURL(asPath).href;
  if (PATH_LIKE.test(module)) {
    throw new TaskFunctionError('TASK_FN_MODULE_NOT_FOUND', `task function module "${module}" not found (looked at ${asPath})`, {
      path: 'taskFn',
      hint: 'paths are relative to the current directory',
    });
  }
  try {
    const found = createRequire(resolvePath(cwd, 'package.json')).resolve(module);
    // Node built-ins (`node:fs`) resolve to their own name.
    return isAbsolute(found) ? pathToFileURL(found).href : found;
  } catch {
    // ESM-only packages have no `require` entry; fall back to ESM resolution from qtask itself.
    try {
      return import.meta.resolve(module);
    } catch {
      throw new TaskFunctionError('TASK_FN_MODULE_NOT_FOUND', `task function module "${module}" not found`, {
        path: 'taskFn',
        hint: 'give a path to a file (e.g. ./tasks.ts#train) or an installed package name',
      });
    }
  }
}

/**
 * Loads a task function named by the user (CLI flag or code — never by a stored task).
 * Errors (`TaskFunctionError`): `TASK_FN_MODULE_NOT_FOUND`, `TASK_FN_MODULE_LOAD_FAILED` (the module
 * threw while loading), `TASK_FN_EXPORT_NOT_FOUND` (lists the exports it has), `TASK_FN_NOT_A_FUNCTION`.
 */
export async function loadTaskFunction(spec: string | TaskFnSpec, opts: { cwd?: string } = {}): Promise<TaskFn> {
  const parsed = typeof spec === 'string' ? parseTaskFnSpec(spec) : spec;
  const exportName = parsed.export ?? 'default';
  const resolved = resolveTaskFnModule(parsed.module, opts.cwd);
  if (resolved.startsWith(BUILTIN_PREFIX)) {
    const load = findBuiltinTaskFn(resolved.slice(BUILTIN_PREFIX.length));
    if (!load) throw new TaskFunctionError('TASK_FN_MODULE_NOT_FOUND', `no built-in task function "${resolved}"`, { path: 'taskFn' });
    return load();
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(resolved)) as Record<string, unknown>;
  } catch (e) {
    throw new TaskFunctionError('TASK_FN_MODULE_LOAD_FAILED', `task function module "${parsed.module}" failed to load: ${e instanceof Error ? e.message : String(e)}`, {
      path: 'taskFn',
      cause: e,
      hint: 'fix the error in the module (run it with `node --import tsx` to see the stack)',
    });
  }
  if (!(exportName in mod) || mod[exportName] === undefined) {
    const names = Object.keys(mod).filter((k) => mod[k] !== undefined);
    throw new TaskFunctionError('TASK_FN_EXPORT_NOT_FOUND', `module "${parsed.module}" has no export "${exportName}"`, {
      path: 'taskFn',
      hint: names.length ? `its exports: ${names.join(', ')}` : 'it exports nothing',
    });
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new TaskFunctionError('TASK_FN_NOT_A_FUNCTION', `export "${exportName}" of "${parsed.module}" is a ${fn === null ? 'null' : typeof fn}, not a function`, {
      path: 'taskFn',
      hint: 'export a function (param, ctx) => result',
    });
  }
  return fn as TaskFn;
}
