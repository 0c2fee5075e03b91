/**
 * qlib's data-loader config (`QlibDataLoader` / `Alpha158DL` / `Alpha360DL`): column groups, each
 * `[exprs]` (names = the expressions) or `[[exprs], [names]]`. Expressions are parsed up front so a
 * typo fails before any data is read, with the column it is at.
 */
import { parseExpression } from '../expr/parse.ts';
import { isQtaskError } from '../../errors.ts';
import { HandlerConfigError } from './errors.ts';
import { alpha158FeatureConfig, type FeatureConfig } from './alpha158.ts';
import { alpha360FeatureConfig } from './alpha360.ts';

export interface ColumnGroup {
  /** qlib's first column level: `feature`, `label`, or any name the config uses. */
  group: string;
  fields: string[];
  names: string[];
}

const LOADER_MODULES = ['qlib.data.dataset.loader', 'qlib.contrib.data.loader'];
const LOADERS = ['QlibDataLoader', 'Alpha158DL', 'Alpha360DL'];

/** Parses qlib's `<fields_info>`: `["expr", …]` or `(["expr", …], ["name", …])`. */
export function parseFieldsInfo(info: unknown, path: string): FeatureConfig {
  if (!Array.isArray(info) || info.length === 0) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'a column group must be a non-empty list of expressions, or [expressions, names]', {
      path,
      hint: "e.g. ['$close/Ref($close, 1) - 1'] or [['Mean($close, 5)'], ['MA5']]",
    });
  }
  let fields: unknown[];
  let names: unknown[];
  if (typeof info[0] === 'string') {
    fields = info;
    names = info;
  } else if (info.length === 2 && Array.isArray(info[0]) && Array.isArray(info[1])) {
    fields = info[0];
    names = info[1];
  } else {
    throw new HandlerConfigError('HANDLER_CONFIG', 'a column group must be a list of expressions, or [expressions, names]', {
      path,
      hint: "e.g. [['Mean($close, 5)'], ['MA5']]",
    });
  }
  if (fields.length === 0 || fields.length !== names.length) {
    throw new HandlerConfigError('HANDLER_CONFIG', `${fields.length} expressions but ${names.length} names`, {
      path,
      hint: 'give exactly one name per expression',
    });
  }
  fields.forEach((f, i) => {
    if (typeof f !== 'string') throw new HandlerConfigError('HANDLER_CONFIG', 'an expression must be a string', { path: `${path}[0][${i}]`, hint: "e.g. 'Ref($close, 1)'" });
    checkExpression(f, `${path}[0][${i}]`);
  });
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (typeof n !== 'string' || n.length === 0) {
      throw new HandlerConfigError('HANDLER_CONFIG', 'a column name must be a non-empty string', { path: `${path}[1][${i}]`, hint: 'e.g. MA5' });
    }
    if (seen.has(n)) throw new HandlerConfigError('HANDLER_CONFIG', `duplicate column name ${n}`, { path: `${path}[1][${i}]`, hint: 'column names must be unique' });
    seen.add(n);
  });
  return { fields: fields as string[], names: names as string[] };
}

/** Throws a HandlerConfigError pointing at the config path and the expression's column. */
export function checkExpression(text: string, path: string): void {
  try {
    parseExpression(text);
  } catch (e) {
    if (isQtaskError(e)) {
      throw new HandlerConfigError(e.code, `${JSON.stringify(text)}: ${e.message}`, { path, ...(e.hint ? { hint: e.hint } : {}), cause: e });
    }
    throw e;
  }
}

/** The column groups of a `data_loader` config (`{class, kwargs: {config}}` or a bare `{config}`). */
export function parseDataLoader(spec: unknown, path: string): ColumnGroup[] {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'data_loader must be {class: QlibDataLoader, kwargs: {config: {feature: …, label: …}}}', { path, hint: 'see docs/handlers.md' });
  }
  const s = spec as Record<string, unknown>;
  let className = 'QlibDataLoader';
  let kwargs: Record<string, unknown> = s;
  if ('class' in s) {
    className = s['class'] as string;
    if (!LOADERS.includes(className)) {
      throw new HandlerConfigError('HANDLER_UNKNOWN_CLASS', `unknown data loader ${JSON.stringify(className)}`, { path: `${path}.class`, hint: `built-in loaders: ${LOADERS.join(', ')}` });
    }
    const mp = s['module_path'];
    if (mp !== undefined && mp !== null && mp !== 'qtask' && !LOADER_MODULES.includes(mp as string)) {
      throw new HandlerConfigError('HANDLER_UNKNOWN_CLASS', `${className} from module ${JSON.stringify(mp)} is not built in`, { path: `${path}.module_path`, hint: `use ${LOADER_MODULES.join(' or ')}` });
    }
    const kw = s['kwargs'] ?? {};
    if (kw === null || typeof kw !== 'object' || Array.isArray(kw)) throw new HandlerConfigError('HANDLER_CONFIG', 'kwargs must be a mapping', { path: `${path}.kwargs`, hint: 'e.g. {config: {feature: [...]}}' });
    kwargs = kw as Record<string, unknown>;
  }
  const kpath = 'class' in s ? `${path}.kwargs` : path;
  for (const k of Object.keys(kwargs)) {
    if (['config', 'freq', 'filter_pipe', 'swap_level', 'inst_processors'].includes(k)) continue;
    if ('class' in s || k !== 'class') {
      throw new HandlerConfigError('HANDLER_CONFIG', `data loader has no argument ${k}`, { path: `${kpath}.${k}`, hint: 'a data loader takes config (and freq: day)' });
    }
  }
  checkUnsupported(kwargs, kpath);
  const base: Record<string, unknown> = {};
  if (className === 'Alpha158DL') base['feature'] = alpha158AsInfo();
  if (className === 'Alpha360DL') base['feature'] = alpha360AsInfo();
  const config = kwargs['config'];
  if (config === undefined && className === 'QlibDataLoader') {
    throw new HandlerConfigError('HANDLER_CONFIG', 'QlibDataLoader needs config', { path: `${kpath}.config`, hint: "e.g. config: {feature: [['$close'], ['CLOSE']], label: [['Ref($close, -1)/$close - 1'], ['LABEL0']]}" });
  }
  let groups: Record<string, unknown>;
  if (config === undefined) groups = base;
  else if (Array.isArray(config)) groups = { ...base, feature: config };
  else if (config !== null && typeof config === 'object') groups = { ...base, ...(config as Record<string, unknown>) };
  else throw new HandlerConfigError('HANDLER_CONFIG', 'config must map group names to column lists', { path: `${kpath}.config`, hint: 'e.g. {feature: [...], label: [...]}' });
  const out: ColumnGroup[] = [];
  const allNames = new Set<string>();
  for (const [group, info] of Object.entries(groups)) {
    const fc = parseFieldsInfo(info, `${kpath}.config.${group}`);
    for (const n of fc.names) {
      if (allNames.has(n)) throw new HandlerConfigError('HANDLER_CONFIG', `column ${n} appears in two groups`, { path: `${kpath}.config.${group}`, hint: 'column names must be unique across groups' });
      allNames.add(n);
    }
    out.push({ group, fields: fc.fields, names: fc.names });
  }
  return out;
}

/** qlib options qtask does not implement: accepted only when null/empty/default. */
export function checkUnsupported(kwargs: Record<string, unknown>, path: string): void {
  const freq = kwargs['freq'];
  if (freq !== undefined && freq !== 'day') {
    throw new HandlerConfigError('HANDLER_CONFIG', `freq ${JSON.stringify(freq)} is not supported`, { path: `${path}.freq`, hint: 'qtask handlers work on daily data (freq: day)' });
  }
  for (const k of ['filter_pipe', 'inst_processors']) {
    const v = kwargs[k];
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    throw new HandlerConfigError('HANDLER_CONFIG', `${k} is not supported`, { path: `${path}.${k}`, hint: `remove ${k}; pass an explicit instrument list instead` });
  }
  const sw = kwargs['swap_level'];
  if (sw !== undefined && sw !== true) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'swap_level: false is not supported', { path: `${path}.swap_level`, hint: 'panels are always ordered by (datetime, instrument)' });
  }
}

function alpha158AsInfo(): [string[], string[]] {
  const c = alpha158FeatureConfig();
  return [c.fields, c.names];
}
function alpha360AsInfo(): [string[], string[]] {
  const c = alpha360FeatureConfig();
  return [c.fields, c.names];
}
