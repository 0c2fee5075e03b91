/**
 * Class resolution: `{class, module_path, kwargs}` → an instance, in one place. qlib module paths
 * (`qlib.contrib.model.linear`, `qlib.data.dataset`, `qlib.workflow.record_temp`, …) map to qtask's
 * built-ins through the model, data and record registries. Users add classes two ways:
 * - `registerModelClass` / `registerRecordClass` in code (then configs name them by `class`);
 * - a `module_path` that is a file path (`./my/models.ts`), which is imported only if the LOCAL
 *   config's `allowModules` lists it. The check happens before any import, so a task from a shared
 *   store naming `./evil.ts` fails with MODULE_NOT_ALLOWED and the module's code never runs.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createModel, registerModel } from '../model/registry.ts';
import type { ModelClass } from '../model/registry.ts';
import type { Model, ModelDataset } from '../model/types.ts';
import { createDataset } from '../data/dataset/index.ts';
import type { DatasetH } from '../data/dataset/index.ts';
import type { HandlerSource } from '../data/handler/handler.ts';
import { createRecord, RECORD_CLASSES } from '../record/create.ts';
import type { RecordContext } from '../record/create.ts';
import type { RecordSink } from '../record/sink.ts';
import { WorkflowError } from './errors.ts';

/** What a record built by a user class must offer: `generate()` (sync or async). */
export interface GeneratingRecord {
  generate(): unknown;
}

/** A user record class: built with the recorder, the record's kwargs and the model/dataset context. */
export type RecordFactory = (recorder: RecordSink, kwargs: Record<string, unknown>, ctx: RecordContext) => GeneratingRecord;

const userRecords = new Map<string, RecordFactory>();

/** Adds a model class configs can name by `class` (module_path omitted or `qtask`). */
export function registerModelClass(entry: ModelClass): void {
  registerModel(entry);
}

/** Adds a record class configs can name by `class` in `task.record`. */
export function registerRecordClass(className: string, factory: RecordFactory): void {
  userRecords.set(className, factory);
}

export interface ResolveOptions {
  /** Absolute module paths that configs may import (the local config's `allowModules`). Default: none. */
  allowModules?: readonly string[];
  /** Base for relative `module_path`s. Default: `process.cwd()`. */
  cwd?: string;
}

const LOCAL_MODULE = /^(\.{1,2}[\\/]|[\\/]|file:)|\.(ts|mts|cts|js|mjs|cjs)$/;

/** True when a `module_path` names a file rather than a (qlib) module path. */
export function isLocalModulePath(modulePath: unknown): modulePath is string {
  return typeof modulePath === 'string' && LOCAL_MODULE.test(modulePath);
}

function spec(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new WorkflowError('WORKFLOW_CONFIG', 'expected {class, module_path, kwargs}', { path, hint: 'e.g. {class: LinearModel, module_path: qlib.contrib.model.linear, kwargs: {}}' });
  }
  return v as Record<string, unknown>;
}

function kwargsOf(s: Record<string, unknown>, path: string): Record<string, unknown> {
  const kw = s['kwargs'] ?? {};
  if (kw === null || typeof kw !== 'object' || Array.isArray(kw)) throw new WorkflowError('WORKFLOW_CONFIG', 'kwargs must be a mapping', { path: `${path}.kwargs`, hint: 'e.g. kwargs: {}' });
  return kw as Record<string, unknown>;
}

/**
 * Imports the export named `className` from an allowed local module. Throws MODULE_NOT_ALLOWED
 * (before importing anything) when the module is not in `allowModules`.
 */
export async function importAllowedClass(modulePath: string, className: string, path: string, opts: ResolveOptions = {}): Promise<unknown> {
  const cwd = opts.cwd ?? process.cwd();
  const file = modulePath.startsWith('file:') ? new URL(modulePath).pathname : isAbsolute(modulePath) ? modulePath : resolvePath(cwd, modulePath);
  const allowed = opts.allowModules ?? [];
  if (!allowed.includes(file)) {
    throw new WorkflowError('MODULE_NOT_ALLOWED', `module ${JSON.stringify(modulePath)} is not in the local allowModules`, {
      path: `${path}.module_path`,
      hint: allowed.length
        ? `allowed: ${allowed.join(', ')}; add it to allowModules in your local qtask.config.yaml if you trust it`
        : 'a task may only import modules your local qtask.config.yaml lists under allowModules (none are listed)',
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new WorkflowError('CLASS_UNKNOWN', `module ${file} failed to load: ${(e as Error).message}`, { path: `${path}.module_path`, hint: 'check the module compiles and its imports resolve', cause: e });
  }
  const cls = mod[className];
  if (typeof cls !== 'function') {
    const exports = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new WorkflowError('CLASS_UNKNOWN', `${file} has no class ${JSON.stringify(className)}`, { path: `${path}.class`, hint: `its exported classes/functions: ${exports.join(', ') || '(none)'}` });
  }
  return cls;
}

/** A model from `task.model`: a built-in (via the model registry) or a class from an allowed module. */
export async function resolveModel(config: unknown, opts: ResolveOptions = {}, path = 'task.model'): Promise<Model> {
  const s = spec(config, path);
  if (isLocalModulePath(s['module_path'])) {
    const Cls = (await importAllowedClass(s['module_path'], String(s['class']), path, opts)) as new (kwargs: Record<string, unknown>) => Model;
    const model = new Cls(kwargsOf(s, path));
    if (typeof model.fit !== 'function' || typeof model.predict !== 'function') {
      throw new WorkflowError('CLASS_UNKNOWN', `${String(s['class'])} is not a model (needs fit and predict)`, { path: `${path}.class`, hint: 'implement the Model interface (src/model/types.ts)' });
    }
    return model;
  }
  return createModel(s, path);
}

/** A dataset from `task.dataset` (DatasetH over the given data source). */
export function resolveDataset(config: unknown, source: HandlerSource, path = 'task.dataset'): DatasetH {
  return createDataset(source, config, path);
}

/** One record from `task.record[i]`: built-in, registered, or a class from an allowed module. */
export async function resolveRecord(config: unknown, ctx: RecordContext, opts: ResolveOptions = {}, path = 'task.record'): Promise<GeneratingRecord> {
  // qlib also accepts a bare class name for a record.
  const s = typeof config === 'string' ? { class: config.split('.').pop() } : spec(config, path);
  const cls = s['class'];
  if (isLocalModulePath(s['module_path'])) {
    const Cls = (await importAllowedClass(s['module_path'], String(cls), path, opts)) as new (recorder: RecordSink, kwargs: Record<string, unknown>, ctx: RecordContext) => GeneratingRecord;
    return new Cls(ctx.recorder, kwargsOf(s, path), ctx);
  }
  if (typeof cls === 'string' && userRecords.has(cls) && !(RECORD_CLASSES as readonly string[]).includes(cls)) {
    return userRecords.get(cls)!(ctx.recorder, kwargsOf(s, path), ctx);
  }
  if (typeof cls === 'string' && !(RECORD_CLASSES as readonly string[]).includes(cls)) {
    throw new WorkflowError('CLASS_UNKNOWN', `unknown record class ${JSON.stringify(cls)}`, {
      path: `${path}.class`,
      hint: `known records: ${[...RECORD_CLASSES, ...userRecords.keys()].join(', ')}`,
    });
  }
  return createRecord(s, ctx, path);
}

export type { ModelDataset };
