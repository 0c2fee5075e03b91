/**
 * Records from qlib task configs: `{class: SignalRecord | SigAnaRecord | PortAnaRecord, module_path:
 * qlib.workflow.record_temp, kwargs}` (the `task.record` list of a qrun YAML). `<MODEL>`/`<DATASET>`
 * placeholders and SignalRecord's model/dataset kwargs are taken from the context, never from the config.
 */
import type { FieldSource } from '../data/types.ts';
import type { ModelDataset } from '../model/types.ts';
import { RecordError } from './errors.ts';
import { PortAnaRecord, SigAnaRecord, SignalRecord } from './records.ts';
import type { PortAnaConfig, PredictingModel, RecordTemp } from './records.ts';
import type { RecordSink } from './sink.ts';

export const RECORD_CLASSES = ['SignalRecord', 'SigAnaRecord', 'PortAnaRecord'] as const;
const RECORD_MODULES = ['qlib.workflow.record_temp', 'qlib.workflow', 'qtask'];

export interface RecordContext {
  recorder: RecordSink;
  /** The fitted model (SignalRecord). */
  model?: PredictingModel;
  /** The dataset (SignalRecord). */
  dataset?: ModelDataset;
  /** Price data for PortAnaRecord's backtest. */
  source?: FieldSource;
}

function dateString(v: unknown): unknown {
  return v instanceof Date ? v.toISOString().slice(0, 10) : v;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new RecordError('RECORD_INPUT', `${path} must be a mapping`, { path, hint: 'see qlib workflow YAMLs: kwargs: {…}' });
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new RecordError('RECORD_INPUT', `unknown option ${k}`, { path: `${path}.${k}`, hint: `known: ${allowed.join(', ')}` });
  }
}

/** Builds one record from a `{class, module_path, kwargs}` config; `path` names it in errors (e.g. `task.record[1]`). */
export function createRecord(spec: unknown, ctx: RecordContext, path = 'record'): RecordTemp {
  const s = obj(spec, path);
  const cls = s.class;
  if (typeof cls !== 'string' || !(RECORD_CLASSES as readonly string[]).includes(cls)) {
    throw new RecordError('RECORD_CLASS', `unknown record class ${JSON.stringify(cls)}`, { path: `${path}.class`, hint: `built-in records: ${RECORD_CLASSES.join(', ')}` });
  }
  if (s.module_path !== undefined && !RECORD_MODULES.includes(String(s.module_path))) {
    throw new RecordError('RECORD_CLASS', `${cls} is not in module ${JSON.stringify(s.module_path)}`, { path: `${path}.module_path`, hint: `use ${RECORD_MODULES.join(' or ')} (or omit module_path)` });
  }
  const kw = obj(s.kwargs, `${path}.kwargs`);
  // Accepted for config compatibility only at their no-op values: qtask does not implement them.
  if (kw.skip_existing !== undefined && kw.skip_existing !== false) {
    throw new RecordError('RECORD_INPUT', 'skip_existing is not supported', { path: `${path}.kwargs.skip_existing`, hint: 'remove it (or set false); records always regenerate' });
  }
  for (const k of ['indicator_analysis_freq', 'indicator_analysis_method']) {
    if (kw[k] !== undefined && kw[k] !== null) {
      throw new RecordError('RECORD_INPUT', `${k} is not supported (trade indicators ffr/pa/pos are not ported)`, { path: `${path}.kwargs.${k}`, hint: 'remove it' });
    }
  }
  if (cls === 'SignalRecord') {
    onlyKeys(kw, ['model', 'dataset', 'recorder'], `${path}.kwargs`);
    if (!ctx.model || !ctx.dataset) throw new RecordError('RECORD_INPUT', 'SignalRecord needs the model and the dataset', { path: `${path}.kwargs`, hint: 'pass them in the context (qrun fills <MODEL> and <DATASET>)' });
    return new SignalRecord(ctx.model, ctx.dataset, ctx.recorder);
  }
  if (cls === 'SigAnaRecord') {
    onlyKeys(kw, ['ana_long_short', 'ann_scaler', 'label_col', 'skip_existing', 'recorder'], `${path}.kwargs`);
    if (kw.ana_long_short !== undefined && typeof kw.ana_long_short !== 'boolean') throw new RecordError('RECORD_INPUT', 'ana_long_short must be true or false', { path: `${path}.kwargs.ana_long_short`, hint: 'default false' });
    if (kw.ann_scaler !== undefined && typeof kw.ann_scaler !== 'number') throw new RecordError('RECORD_INPUT', 'ann_scaler must be a number', { path: `${path}.kwargs.ann_scaler`, hint: 'default 252' });
    if (kw.label_col !== undefined && typeof kw.label_col !== 'number' && typeof kw.label_col !== 'string') throw new RecordError('RECORD_INPUT', 'label_col must be a column position or name', { path: `${path}.kwargs.label_col`, hint: 'default 0' });
    return new SigAnaRecord(ctx.recorder, {
      ...(kw.ana_long_short !== undefined ? { ana_long_short: kw.ana_long_short as boolean } : {}),
      ...(kw.ann_scaler !== undefined ? { ann_scaler: kw.ann_scaler as number } : {}),
      ...(kw.label_col !== undefined ? { label_col: kw.label_col as number | string } : {}),
    });
  }
  onlyKeys(kw, ['config', 'risk_analysis_freq', 'indicator_analysis_freq', 'indicator_analysis_method', 'skip_existing', 'recorder'], `${path}.kwargs`);
  if (!ctx.source) throw new RecordError('RECORD_INPUT', 'PortAnaRecord needs the price source', { path: `${path}.kwargs`, hint: 'pass the provider in the context' });
  let config: PortAnaConfig | undefined;
  if (kw.config !== undefined) {
    const c = obj(kw.config, `${path}.kwargs.config`);
    const bt = obj(c.backtest, `${path}.kwargs.config.backtest`);
    config = {
      ...(c as PortAnaConfig),
      ...(c.backtest !== undefined ? { backtest: { ...bt, start_time: dateString(bt.start_time), end_time: dateString(bt.end_time) } as PortAnaConfig['backtest'] } : {}),
    };
  }
  const freq = kw.risk_analysis_freq;
  if (freq !== undefined && freq !== null && typeof freq !== 'string' && !(Array.isArray(freq) && freq.every((f) => typeof f === 'string'))) {
    throw new RecordError('RECORD_INPUT', 'risk_analysis_freq must be a frequency or a list of them', { path: `${path}.kwargs.risk_analysis_freq`, hint: 'e.g. day' });
  }
  return new PortAnaRecord(ctx.recorder, {
    source: ctx.source,
    ...(config ? { config } : {}),
    ...(freq !== undefined ? { risk_analysis_freq: freq as string | string[] | null } : {}),
  });
}
