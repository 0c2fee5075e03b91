import { resolveBuiltin } from '../registry.ts';
import { HandlerConfigError } from './errors.ts';
import { createAlpha158, createAlpha360, createDataHandlerLP, DataHandlerLP, type HandlerSource } from './handler.ts';

/** A handler as a task config gives it: `{class, module_path?, kwargs?}`, or an instance. */
export type HandlerSpec = DataHandlerLP | { class: string; module_path?: string; kwargs?: Record<string, unknown> };

/**
 * Builds a handler from qlib's `{class, module_path, kwargs}` (e.g. `Alpha158` /
 * `qlib.contrib.data.handler`). `path` locates the spec in the config for errors.
 */
export function createHandler(source: HandlerSource, spec: HandlerSpec | unknown, path = 'handler'): DataHandlerLP {
  if (spec instanceof DataHandlerLP) return spec;
  if (typeof spec === 'string') {
    throw new HandlerConfigError('HANDLER_CONFIG', `a handler given as the string ${JSON.stringify(spec)} cannot be loaded`, {
      path,
      hint: 'qlib uses strings for pickled handlers (file://…); give {class: Alpha158, module_path: qlib.contrib.data.handler, kwargs: …}',
    });
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'a handler is {class, module_path, kwargs}', { path, hint: 'e.g. {class: Alpha158, module_path: qlib.contrib.data.handler, kwargs: {…}}' });
  }
  const s = spec as Record<string, unknown>;
  const extra = Object.keys(s).find((k) => !['class', 'module_path', 'kwargs'].includes(k));
  if (extra) throw new HandlerConfigError('HANDLER_CONFIG', `unexpected key ${extra} in a handler config`, { path: `${path}.${extra}`, hint: 'a handler is {class, module_path, kwargs}' });
  const entry = resolveBuiltin('handler', s['class'], s['module_path'], path);
  const kwargs = (s['kwargs'] ?? {}) as Record<string, unknown>;
  const kpath = `${path}.kwargs`;
  switch (entry.className) {
    case 'Alpha158':
      return createAlpha158(source, kwargs, kpath);
    case 'Alpha360':
      return createAlpha360(source, kwargs, kpath);
    default:
      return createDataHandlerLP(source, kwargs, kpath);
  }
}
