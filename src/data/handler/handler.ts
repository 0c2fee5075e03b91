/**
 * `DataHandlerLP` (qlib's DataHandler with learnable processors) and the `Alpha158` / `Alpha360`
 * configurations of it. Three views, as qlib:
 *   raw   — the loader's panel, unprocessed;
 *   infer — raw → shared processors → infer processors;
 *   learn — process_type `append` (default): infer → learn processors;
 *           `independent`: raw → shared processors → learn processors.
 * Each processor is fitted on the previous one's output (qlib's IT_FIT_SEQ). Views share unchanged
 * columns (copy-on-write), so none of them may be written into by callers.
 */
import type { FieldSource, InstrumentSpan, Panel } from '../types.ts';
import type { Processor } from '../processor/types.ts';
import { buildProcessors, type FitWindowDefaults } from '../processor/build.ts';
import { groupColumns, selectColumns, sliceDates, filterRows } from '../processor/panel.ts';
import { HandlerConfigError } from './errors.ts';
import { configDate } from './dates.ts';
import { alpha158FeatureConfig, DEFAULT_LABEL, type Alpha158Config } from './alpha158.ts';
import { alpha360FeatureConfig } from './alpha360.ts';
import { checkUnsupported, parseDataLoader, parseFieldsInfo, type ColumnGroup } from './loader.ts';
import { assemblePanel } from './assemble.ts';

/** What a handler reads: fields by calendar index plus instrument universes (LocalProvider is one). */
export interface HandlerSource extends FieldSource {
  /** Membership spans of a universe (`all`, a market file name, or a symbol list) overlapping a date range. */
  listInstruments(universe: string | readonly string[], range?: { start?: string; end?: string }): InstrumentSpan[];
}

export type DataKey = 'raw' | 'infer' | 'learn';
export const DATA_KEYS: readonly DataKey[] = ['raw', 'infer', 'learn'];

/** `__all`/`__raw`: every column; a group name; or a list of group names (in that order). */
export type ColSet = '__all' | '__raw' | string | string[];

export interface FetchOptions {
  /** Index level the selector applies to. Default `datetime`. */
  level?: 'datetime' | 'instrument';
  /** Columns to return. Default `__all`. */
  colSet?: ColSet;
  /** Which view. Default `infer` (qlib's default). */
  dataKey?: DataKey;
}

/**
 * Row selector: on the datetime level a date (`YYYY-MM-DD`) or `[start, end]` (inclusive, null = open);
 * on the instrument level a symbol or a list of symbols. null selects everything.
 */
export type Selector = string | readonly (string | null)[] | null;

/** qlib-shaped handler kwargs (snake_case, as in task YAML). */
export interface DataHandlerLPKwargs {
  /** Universe: `all` (default), an `instruments/<name>.txt` market, or a list of symbols. */
  instruments?: string | string[];
  /** First date (inclusive). Default: the calendar's first day. */
  start_time?: string | Date | null;
  /** Last date (inclusive). Default: the calendar's last day. */
  end_time?: string | Date | null;
  /** Fit window of ZScoreNorm/RobustZScoreNorm/MinMaxNorm. Default: none (then those processors need their own). */
  fit_start_time?: string | Date | null;
  fit_end_time?: string | Date | null;
  /** Default `[]`. */
  infer_processors?: unknown[];
  /** Default `[]`. */
  learn_processors?: unknown[];
  /** Default `[]`. */
  shared_processors?: unknown[];
  /** `append` (default) or `independent`. */
  process_type?: 'append' | 'independent';
  /** Free the raw view after processing. Default false. */
  drop_raw?: boolean;
  /** Columns: `{class: QlibDataLoader, kwargs: {config: {feature: …, label: …}}}`. Required for DataHandlerLP. */
  data_loader?: unknown;
  [key: string]: unknown;
}

const COMMON_KEYS = [
  'instruments', 'start_time', 'end_time', 'fit_start_time', 'fit_end_time', 'infer_processors', 'learn_processors',
  'shared_processors', 'process_type', 'drop_raw', 'freq', 'filter_pipe', 'inst_processors',
];

export interface HandlerInit {
  className: string;
  groups: ColumnGroup[];
  kwargs: Record<string, unknown>;
  path: string;
  /** Default processors when the kwargs have none (Alpha158/Alpha360 defaults). */
  defaultInfer?: unknown[];
  defaultLearn?: unknown[];
  /** Alpha158/Alpha360 force the handler's fit window into fit-window processors. */
  overrideFit?: boolean;
  extraKeys?: string[];
}

export class DataHandlerLP {
  readonly className: string;
  readonly instruments: string | string[];
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly fitStartTime: string | null;
  readonly fitEndTime: string | null;
  readonly processType: 'append' | 'independent';
  readonly dropRaw: boolean;
  readonly groups: readonly ColumnGroup[];
  readonly sharedProcessors: Processor[];
  readonly inferProcessors: Processor[];
  readonly learnProcessors: Processor[];
  private views: { raw: Panel | null; infer: Panel; learn: Panel } | null = null;

  /** Validates the whole config (throws HandlerConfigError with paths); data is loaded by `setup()` or the first `fetch()`. */
  constructor(
    readonly source: HandlerSource,
    init: HandlerInit,
  ) {
    const { kwargs, path } = init;
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new HandlerConfigError('HANDLER_CONFIG', 'handler kwargs must be a mapping', { path, hint: 'e.g. {start_time: 2015-01-01, end_time: 2019-12-31}' });
    }
    const allowed = [...COMMON_KEYS, ...(init.extraKeys ?? [])];
    for (const k of Object.keys(kwargs)) {
      if (!allowed.includes(k)) {
        throw new HandlerConfigError('HANDLER_CONFIG', `${init.className} has no argument ${k}`, { path: `${path}.${k}`, hint: `arguments: ${allowed.join(', ')}` });
      }
    }
    checkUnsupported(kwargs, path);
    this.className = init.className;
    this.groups = init.groups;
    const inst = kwargs['instruments'] ?? 'all';
    if (typeof inst === 'string' ? inst.length === 0 : !Array.isArray(inst) || inst.length === 0 || inst.some((x) => typeof x !== 'string' || x.length === 0)) {
      throw new HandlerConfigError('HANDLER_CONFIG', 'instruments must be a market name (e.g. all) or a non-empty list of symbols', { path: `${path}.instruments`, hint: 'e.g. all, sp500, or [AAPL, MSFT]' });
    }
    this.instruments = inst as string | string[];
    this.startTime = configDate(kwargs['start_time'], `${path}.start_time`);
    this.endTime = configDate(kwargs['end_time'], `${path}.end_time`);
    if (this.startTime && this.endTime && this.startTime > this.endTime) {
      throw new HandlerConfigError('HANDLER_CONFIG', `start_time ${this.startTime} is after end_time ${this.endTime}`, { path: `${path}.start_time`, hint: 'swap them' });
    }
    this.fitStartTime = configDate(kwargs['fit_start_time'], `${path}.fit_start_time`);
    this.fitEndTime = configDate(kwargs['fit_end_time'], `${path}.fit_end_time`);
    const pt = kwargs['process_type'] ?? 'append';
    if (pt !== 'append' && pt !== 'independent') {
      throw new HandlerConfigError('HANDLER_CONFIG', `process_type must be append or independent, not ${JSON.stringify(pt)}`, { path: `${path}.process_type`, hint: 'append: learn = infer + learn processors' });
    }
    this.processType = pt;
    const dr = kwargs['drop_raw'] ?? false;
    if (typeof dr !== 'boolean') throw new HandlerConfigError('HANDLER_CONFIG', 'drop_raw must be true or false', { path: `${path}.drop_raw`, hint: 'the default is false' });
    this.dropRaw = dr;
    const fit: FitWindowDefaults = { fitStartTime: this.fitStartTime, fitEndTime: this.fitEndTime, override: init.overrideFit ?? false };
    if (init.overrideFit) {
      // qlib's check_transform_proc asserts the handler's window exists before injecting it.
      const needsFit = (list: unknown) => Array.isArray(list) && list.some((p) => ['ZScoreNorm', 'RobustZScoreNorm', 'MinMaxNorm'].includes(typeof p === 'string' ? p : ((p as { class?: string } | null)?.class ?? '')));
      if ((needsFit(kwargs['infer_processors'] ?? init.defaultInfer) || needsFit(kwargs['learn_processors'] ?? init.defaultLearn)) && (this.fitStartTime === null || this.fitEndTime === null)) {
        throw new HandlerConfigError('HANDLER_CONFIG', `${init.className} has a fit-window processor but no fit_start_time/fit_end_time`, {
          path: `${path}.fit_start_time`,
          hint: 'set fit_start_time and fit_end_time (usually the train segment)',
        });
      }
    }
    this.sharedProcessors = buildProcessors(kwargs['shared_processors'] ?? [], `${path}.shared_processors`, fit);
    this.inferProcessors = buildProcessors(kwargs['infer_processors'] ?? init.defaultInfer ?? [], `${path}.infer_processors`, fit);
    this.learnProcessors = buildProcessors(kwargs['learn_processors'] ?? init.defaultLearn ?? [], `${path}.learn_processors`, fit);
    for (const [list, name] of [[this.sharedProcessors, 'shared_processors'], [this.inferProcessors, 'infer_processors']] as const) {
      list.forEach((p, i) => {
        if (!p.isForInfer()) {
          throw new HandlerConfigError('PROCESSOR_NOT_FOR_INFER', `${p.className} drops rows by label and cannot be an ${name.replace('_processors', '')} processor`, {
            path: `${path}.${name}[${i}]`,
            hint: 'move it to learn_processors',
          });
        }
      });
    }
  }

  /** Column names and groups, in panel order. */
  columns(): Array<{ name: string; group: string }> {
    return this.groups.flatMap((g) => g.names.map((name) => ({ name, group: g.group })));
  }

  /** Calendar index range `[s, e]` of the handler's dates (start rounded forward, end back, as qlib). */
  indexRange(): [number, number] {
    const days = this.source.calendarDays();
    const start = this.startTime ?? days[0] ?? '';
    const end = this.endTime ?? days[days.length - 1] ?? '';
    let s = 0;
    while (s < days.length && (days[s] as string) < start) s++;
    let e = days.length - 1;
    while (e >= 0 && (days[e] as string) > end) e--;
    return [s, e];
  }

  /** Loads the raw panel (no processing). */
  loadRaw(options: { onProgress?: (done: number, total: number) => void } = {}): Panel {
    const [s, e] = this.indexRange();
    const days = this.source.calendarDays();
    const spans = s <= e ? this.source.listInstruments(this.instruments, { start: days[s] as string, end: days[e] as string }) : [];
    return assemblePanel(this.source, this.groups, spans, s, e, options);
  }

  /** Loads and processes (fit each processor on the previous one's output). Idempotent. */
  setup(options: { onProgress?: (done: number, total: number) => void } = {}): this {
    if (this.views) return this;
    const raw = this.loadRaw(options);
    this.setupFrom(raw);
    return this;
  }

  /** Processes an already loaded raw panel (for callers that load it themselves). */
  setupFrom(raw: Panel): this {
    const run = (panel: Panel, procs: Processor[]): Panel => {
      let p = panel;
      for (const proc of procs) {
        proc.fit(p);
        p = proc.transform(p);
      }
      return p;
    };
    const shared = run(raw, this.sharedProcessors);
    const infer = run(shared, this.inferProcessors);
    const learn = run(this.processType === 'append' ? infer : shared, this.learnProcessors);
    this.views = { raw: this.dropRaw ? null : raw, infer, learn };
    return this;
  }

  /** One of the three views, whole. */
  view(dataKey: DataKey = 'infer'): Panel {
    this.setup();
    const v = this.views as { raw: Panel | null; infer: Panel; learn: Panel };
    if (!DATA_KEYS.includes(dataKey)) {
      throw new HandlerConfigError('FETCH_ARGS', `data_key must be raw, infer or learn, not ${JSON.stringify(dataKey)}`, { path: 'data_key', hint: 'raw: unprocessed; infer: for prediction; learn: for training' });
    }
    if (dataKey === 'raw' && v.raw === null) {
      throw new HandlerConfigError('FETCH_ARGS', 'the raw view was dropped (drop_raw: true)', { path: 'data_key', hint: 'set drop_raw: false to fetch raw data' });
    }
    return (dataKey === 'raw' ? v.raw : v[dataKey]) as Panel;
  }

  /** qlib's `fetch(selector, level, col_set, data_key)`. */
  fetch(selector: Selector = null, options: FetchOptions = {}): Panel {
    const panel = this.view(options.dataKey ?? 'infer');
    return selectColSet(selectRows(panel, selector, options.level ?? 'datetime'), options.colSet ?? '__all');
  }

  /** Column names of a column set in a view (qlib's `get_cols`). */
  getCols(colSet: ColSet = '__all', dataKey: DataKey = 'infer'): string[] {
    return selectColSet(this.view(dataKey), colSet).columns;
  }
}

function fetchError(message: string, path: string, hint: string): HandlerConfigError {
  return new HandlerConfigError('FETCH_ARGS', message, { path, hint });
}

export function selectRows(panel: Panel, selector: Selector, level: 'datetime' | 'instrument'): Panel {
  if (selector === null || selector === undefined) return panel;
  if (level === 'datetime') {
    if (typeof selector === 'string') {
      const d = configDate(selector, 'selector');
      return sliceDates(panel, d, d);
    }
    if (Array.isArray(selector) && selector.length === 2) {
      const a = configDate(selector[0], 'selector[0]');
      const b = configDate(selector[1], 'selector[1]');
      return sliceDates(panel, a, b);
    }
    throw fetchError('a datetime selector is a date or [start, end]', 'selector', 'e.g. ["2017-01-01", "2017-12-31"] or [null, "2016-12-31"]');
  }
  if (level === 'instrument') {
    const wanted = new Set(typeof selector === 'string' ? [selector] : (selector as (string | null)[]).filter((x): x is string => typeof x === 'string'));
    const keep = new Uint8Array(panel.dates.length);
    for (let r = 0; r < keep.length; r++) keep[r] = wanted.has(panel.instruments[r] as string) ? 1 : 0;
    return filterRows(panel, keep);
  }
  throw fetchError(`level must be datetime or instrument, not ${JSON.stringify(level)}`, 'level', 'the default is datetime');
}

export function selectColSet(panel: Panel, colSet: ColSet): Panel {
  if (colSet === '__all' || colSet === '__raw') return panel;
  const groups = typeof colSet === 'string' ? [colSet] : colSet;
  if (!Array.isArray(groups) || groups.length === 0) throw fetchError('col_set must be __all, a group name or a list of group names', 'col_set', 'e.g. feature, label or [feature, label]');
  const idx = groups.flatMap((g) => {
    if (typeof g !== 'string') throw fetchError('col_set must be __all, a group name or a list of group names', 'col_set', 'e.g. [feature, label]');
    try {
      return groupColumns(panel, g, 'col_set');
    } catch (e) {
      if (e instanceof HandlerConfigError) throw new HandlerConfigError('FETCH_ARGS', e.message, { path: 'col_set', ...(e.hint ? { hint: e.hint } : {}) });
      throw e;
    }
  });
  return selectColumns(panel, idx);
}

function labelGroup(kwargs: Record<string, unknown>, path: string): ColumnGroup {
  const label = kwargs['label'];
  const fc = label === undefined ? DEFAULT_LABEL : parseFieldsInfo(label, `${path}.label`);
  return { group: 'label', fields: [...fc.fields], names: [...fc.names] };
}

/** Alpha158: qlib's 158 features + LABEL0; learn default `[DropnaLabel, CSZScoreNorm(label)]`, infer default `[]`. */
export function createAlpha158(source: HandlerSource, kwargs: Record<string, unknown> = {}, path = 'handler.kwargs'): DataHandlerLP {
  const fcfg = kwargs['feature_config'];
  const feature = alpha158FeatureConfig(fcfg === undefined ? undefined : (fcfg as Alpha158Config), `${path}.feature_config`);
  return new DataHandlerLP(source, {
    className: 'Alpha158',
    groups: [{ group: 'feature', ...feature }, labelGroup(kwargs, path)],
    kwargs,
    path,
    defaultInfer: [],
    defaultLearn: [{ class: 'DropnaLabel' }, { class: 'CSZScoreNorm', kwargs: { fields_group: 'label' } }],
    overrideFit: true,
    extraKeys: ['label', 'feature_config'],
  });
}

/** Alpha360: 360 price/volume features + LABEL0; infer default `[ProcessInf, ZScoreNorm, Fillna]` on all columns. */
export function createAlpha360(source: HandlerSource, kwargs: Record<string, unknown> = {}, path = 'handler.kwargs'): DataHandlerLP {
  const feature = alpha360FeatureConfig();
  return new DataHandlerLP(source, {
    className: 'Alpha360',
    groups: [{ group: 'feature', ...feature }, labelGroup(kwargs, path)],
    kwargs,
    path,
    // qlib's default includes ZScoreNorm, so like qlib it needs fit_start_time/fit_end_time.
    defaultInfer: [{ class: 'ProcessInf', kwargs: {} }, { class: 'ZScoreNorm', kwargs: {} }, { class: 'Fillna', kwargs: {} }],
    defaultLearn: [{ class: 'DropnaLabel' }, { class: 'CSZScoreNorm', kwargs: { fields_group: 'label' } }],
    overrideFit: true,
    extraKeys: ['label'],
  });
}

/** A plain DataHandlerLP with a `data_loader` config. */
export function createDataHandlerLP(source: HandlerSource, kwargs: Record<string, unknown>, path = 'handler.kwargs'): DataHandlerLP {
  if (kwargs['data_loader'] === undefined) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'DataHandlerLP needs a data_loader', {
      path: `${path}.data_loader`,
      hint: "e.g. data_loader: {class: QlibDataLoader, kwargs: {config: {feature: [['$close'], ['CLOSE']], label: [['Ref($close, -2)/Ref($close, -1) - 1'], ['LABEL0']]}}}",
    });
  }
  return new DataHandlerLP(source, {
    className: 'DataHandlerLP',
    groups: parseDataLoader(kwargs['data_loader'], `${path}.data_loader`),
    kwargs,
    path,
    extraKeys: ['data_loader'],
  });
}

