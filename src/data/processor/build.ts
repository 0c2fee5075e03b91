/**
 * Processors from qlib-shaped configs: `{class, kwargs?, module_path?}`, a bare class name, or a
 * Processor instance. Unknown classes and kwargs are typed errors with the config path.
 */
import type { Processor } from './types.ts';
import { HandlerConfigError } from '../handler/errors.ts';
import { configDate } from '../handler/dates.ts';
import { resolveBuiltin } from '../registry.ts';
import { CSZFillna, DropCol, DropnaLabel, DropnaProcessor, FilterCol, Fillna, ProcessInf } from './basic.ts';
import { CSRankNorm, CSZScoreNorm, MinMaxNorm, RobustZScoreNorm, ZScoreNorm } from './normalize.ts';
import type { FieldsGroup } from './panel.ts';

/** A processor as a task config names it. */
export type ProcessorSpec = string | { class: string; module_path?: string; kwargs?: Record<string, unknown> } | Processor;

/** Processors whose constructor takes `fit_start_time` / `fit_end_time` (qlib's check_transform_proc test). */
export const FIT_WINDOW_PROCESSORS: ReadonlySet<string> = new Set(['ZScoreNorm', 'RobustZScoreNorm', 'MinMaxNorm']);

export interface FitWindowDefaults {
  fitStartTime: string | null;
  fitEndTime: string | null;
  /**
   * true: the handler's fit window replaces the processor's own (qlib's Alpha158/Alpha360
   * behaviour). false: it only fills in when the processor has none. Default false.
   */
  override?: boolean;
}

export function isProcessor(value: unknown): value is Processor {
  return (
    typeof value === 'object' && value !== null &&
    typeof (value as Processor).transform === 'function' &&
    typeof (value as Processor).fit === 'function' &&
    typeof (value as Processor).className === 'string'
  );
}

const KWARGS: Record<string, readonly string[]> = {
  DropnaProcessor: ['fields_group'],
  DropnaLabel: ['fields_group'],
  Fillna: ['fields_group', 'fill_value'],
  ProcessInf: [],
  DropCol: ['col_list'],
  FilterCol: ['fields_group', 'col_list'],
  CSZFillna: ['fields_group'],
  ZScoreNorm: ['fit_start_time', 'fit_end_time', 'fields_group'],
  RobustZScoreNorm: ['fit_start_time', 'fit_end_time', 'fields_group', 'clip_outlier'],
  MinMaxNorm: ['fit_start_time', 'fit_end_time', 'fields_group'],
  CSZScoreNorm: ['fields_group', 'method'],
  CSRankNorm: ['fields_group'],
};

function group(kw: Record<string, unknown>, path: string, dflt: FieldsGroup, allowList = false): FieldsGroup | string[] {
  const v = kw['fields_group'];
  if (v === undefined) return dflt;
  if (v === null || typeof v === 'string') return v;
  if (allowList && Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  throw new HandlerConfigError('PROCESSOR_CONFIG', `fields_group must be a group name (feature, label) or null`, {
    path: `${path}.kwargs.fields_group`,
    hint: 'null applies the processor to every column, label included',
  });
}

function names(kw: Record<string, unknown>, key: string, path: string): string[] {
  const v = kw[key];
  if (v === undefined) return [];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new HandlerConfigError('PROCESSOR_CONFIG', `${key} must be a list of column names`, { path: `${path}.kwargs.${key}`, hint: 'e.g. [KMID, ROC5]' });
}

/** Builds one processor. `path` is where the spec sits in the config (for errors). */
export function buildProcessor(spec: ProcessorSpec, path: string, fit: FitWindowDefaults = { fitStartTime: null, fitEndTime: null }): Processor {
  if (isProcessor(spec)) return spec;
  let className: unknown;
  let modulePath: unknown;
  let kwargs: Record<string, unknown> = {};
  if (typeof spec === 'string') className = spec;
  else if (typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
    const extra = Object.keys(spec).filter((k) => !['class', 'module_path', 'kwargs'].includes(k));
    if (extra.length > 0) {
      throw new HandlerConfigError('PROCESSOR_CONFIG', `unexpected key ${extra[0]} in a processor config`, {
        path: `${path}.${extra[0]}`,
        hint: 'a processor is {class, kwargs, module_path} or a class name',
      });
    }
    className = spec.class;
    modulePath = spec.module_path;
    if (spec.kwargs !== undefined && spec.kwargs !== null) {
      if (typeof spec.kwargs !== 'object' || Array.isArray(spec.kwargs)) {
        throw new HandlerConfigError('PROCESSOR_CONFIG', 'kwargs must be a mapping', { path: `${path}.kwargs`, hint: 'e.g. kwargs: {fields_group: label}' });
      }
      kwargs = spec.kwargs;
    }
  } else {
    throw new HandlerConfigError('PROCESSOR_CONFIG', 'a processor is {class, kwargs} or a class name', { path, hint: 'e.g. {class: DropnaLabel}' });
  }
  const entry = resolveBuiltin('processor', className, modulePath, path);
  const name = entry.className;
  const allowed = KWARGS[name] ?? [];
  for (const k of Object.keys(kwargs)) {
    if (!allowed.includes(k)) {
      throw new HandlerConfigError('PROCESSOR_CONFIG', `${name} has no argument ${k}`, {
        path: `${path}.kwargs.${k}`,
        hint: allowed.length ? `${name} takes ${allowed.join(', ')}` : `${name} takes no arguments`,
      });
    }
  }
  const g = (d: FieldsGroup): FieldsGroup => group(kwargs, path, d) as FieldsGroup;
  if (FIT_WINDOW_PROCESSORS.has(name)) {
    let start = configDate(kwargs['fit_start_time'], `${path}.kwargs.fit_start_time`);
    let end = configDate(kwargs['fit_end_time'], `${path}.kwargs.fit_end_time`);
    if (fit.override || start === null) start = fit.fitStartTime ?? start;
    if (fit.override || end === null) end = fit.fitEndTime ?? end;
    if (start === null || end === null) {
      throw new HandlerConfigError('PROCESSOR_CONFIG', `${name} needs fit_start_time and fit_end_time`, {
        path: `${path}.kwargs`,
        hint: 'set fit_start_time/fit_end_time on the handler (usually the train segment) or on the processor',
      });
    }
    if (start > end) {
      throw new HandlerConfigError('PROCESSOR_CONFIG', `fit window ${start}..${end} is empty (start after end)`, { path: `${path}.kwargs.fit_start_time`, hint: 'fit_start_time must not be after fit_end_time' });
    }
    if (name === 'ZScoreNorm') return new ZScoreNorm(start, end, g(null));
    if (name === 'MinMaxNorm') return new MinMaxNorm(start, end, g(null));
    const clip = kwargs['clip_outlier'] ?? true;
    if (typeof clip !== 'boolean') {
      throw new HandlerConfigError('PROCESSOR_CONFIG', 'clip_outlier must be true or false', { path: `${path}.kwargs.clip_outlier`, hint: 'the default is true (clip to ±3)' });
    }
    return new RobustZScoreNorm(start, end, g(null), clip);
  }
  switch (name) {
    case 'DropnaProcessor':
      return new DropnaProcessor(g(null));
    case 'DropnaLabel':
      return new DropnaLabel(g('label'));
    case 'Fillna': {
      const fill = kwargs['fill_value'] ?? 0;
      if (typeof fill !== 'number') throw new HandlerConfigError('PROCESSOR_CONFIG', 'fill_value must be a number', { path: `${path}.kwargs.fill_value`, hint: 'the default is 0' });
      return new Fillna(g(null), fill);
    }
    case 'ProcessInf':
      return new ProcessInf();
    case 'DropCol':
      return new DropCol(names(kwargs, 'col_list', path));
    case 'FilterCol':
      return new FilterCol(g('feature'), names(kwargs, 'col_list', path));
    case 'CSZFillna':
      return new CSZFillna(g(null));
    case 'CSRankNorm':
      return new CSRankNorm(g(null));
    case 'CSZScoreNorm': {
      const method = kwargs['method'] ?? 'zscore';
      if (method !== 'zscore' && method !== 'robust') {
        throw new HandlerConfigError('PROCESSOR_CONFIG', `method must be zscore or robust, not ${JSON.stringify(method)}`, { path: `${path}.kwargs.method`, hint: 'the default is zscore' });
      }
      return new CSZScoreNorm(group(kwargs, path, null, true), method);
    }
    default:
      throw new HandlerConfigError('PROCESSOR_UNKNOWN_CLASS', `processor ${name} is registered but not constructible`, { path, hint: 'this is a qtask bug; please report it' });
  }
}

/** Builds a processor list; `path` is the list's config path. */
export function buildProcessors(specs: unknown, path: string, fit?: FitWindowDefaults): Processor[] {
  if (specs === undefined || specs === null) return [];
  if (!Array.isArray(specs)) {
    throw new HandlerConfigError('PROCESSOR_CONFIG', 'processors must be a list', { path, hint: 'e.g. [{class: DropnaLabel}]' });
  }
  return specs.map((s, i) => buildProcessor(s as ProcessorSpec, `${path}[${i}]`, fit));
}
