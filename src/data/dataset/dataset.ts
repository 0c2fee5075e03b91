/**
 * qlib's `DatasetH`: a handler plus named date segments. `prepare('train', {colSet, dataKey})`
 * returns the handler's view for that segment as a columnar Panel (no row objects; the arrays are
 * views into the handler's data and must not be written into).
 */
import type { Panel } from '../types.ts';
import { configDate } from '../handler/dates.ts';
import { HandlerConfigError } from '../handler/errors.ts';
import { createHandler, type HandlerSpec } from '../handler/create.ts';
import type { ColSet, DataHandlerLP, DataKey, HandlerSource } from '../handler/handler.ts';
import { resolveBuiltin } from '../registry.ts';

/** A segment: `[start, end]`, inclusive, null = open end. */
export type Segment = readonly [string | null, string | null];

export interface PrepareOptions {
  /** Columns: `__all` (default), `feature`, `label`, or `['feature', 'label']`. */
  colSet?: ColSet;
  /** View: `infer` (default, as qlib), `learn` or `raw`. */
  dataKey?: DataKey;
}

export class DatasetH {
  readonly handler: DataHandlerLP;
  readonly segments: Readonly<Record<string, Segment>>;

  /**
   * `handler`: an instance or a `{class, module_path, kwargs}` config (then `source` is required).
   * `segments`: `{train: [start, end], …}`; dates as `YYYY-MM-DD` (or Date), null for an open end.
   */
  constructor(handler: HandlerSpec | unknown, segments: unknown, source?: HandlerSource, path = 'dataset.kwargs') {
    this.segments = parseSegments(segments, `${path}.segments`);
    if (source === undefined && !(handler !== null && typeof handler === 'object' && 'fetch' in handler)) {
      throw new HandlerConfigError('HANDLER_CONFIG', 'a handler config needs a data source', { path: `${path}.handler`, hint: 'pass the provider (e.g. new LocalProvider(providerUri))' });
    }
    this.handler = createHandler(source as HandlerSource, handler, `${path}.handler`);
  }

  /** Loads and processes the handler's data (done lazily by the first `prepare` otherwise). */
  setup(options: { onProgress?: (done: number, total: number) => void } = {}): this {
    this.handler.setup(options);
    return this;
  }

  /**
   * A segment name → its panel; a list of names → a list of panels; a `[start, end]` pair → that
   * date range (qlib passes non-names to the handler as the selector).
   */
  prepare(segment: string, options?: PrepareOptions): Panel;
  prepare(segments: readonly string[], options?: PrepareOptions): Panel[];
  prepare(range: Segment, options?: PrepareOptions): Panel;
  prepare(what: string | readonly string[] | Segment, options: PrepareOptions = {}): Panel | Panel[] {
    const fetchOpts = { colSet: options.colSet ?? '__all', dataKey: options.dataKey ?? 'infer' };
    if (typeof what === 'string') return this.handler.fetch(this.segment(what), fetchOpts);
    if (Array.isArray(what) && what.length === 2 && what.every((x) => x === null || /^\d{4}-\d{2}-\d{2}/.test(String(x))) && !what.some((x) => typeof x === 'string' && x in this.segments)) {
      return this.handler.fetch(what as unknown as Segment, fetchOpts);
    }
    if (Array.isArray(what)) return what.map((name) => this.handler.fetch(this.segment(String(name)), fetchOpts));
    throw new HandlerConfigError('DATASET_SEGMENT', 'prepare takes a segment name, a list of names, or [start, end]', { path: 'segments', hint: `segments: ${Object.keys(this.segments).join(', ')}` });
  }

  private segment(name: string): Segment {
    const seg = this.segments[name];
    if (!seg) {
      throw new HandlerConfigError('DATASET_SEGMENT', `no segment ${JSON.stringify(name)}`, { path: `segments.${name}`, hint: `segments: ${Object.keys(this.segments).join(', ') || '(none)'}` });
    }
    return seg;
  }
}

export function parseSegments(value: unknown, path: string): Record<string, Segment> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HandlerConfigError('DATASET_SEGMENT', 'segments must map names to [start, end]', { path, hint: 'e.g. {train: [2015-01-01, 2017-12-31], test: [2018-01-01, 2019-12-31]}' });
  }
  const out: Record<string, Segment> = {};
  for (const [name, seg] of Object.entries(value as Record<string, unknown>)) {
    const p = `${path}.${name}`;
    if (!Array.isArray(seg) || seg.length !== 2) {
      throw new HandlerConfigError('DATASET_SEGMENT', 'a segment is [start, end]', { path: p, hint: 'e.g. [2015-01-01, 2017-12-31]; use null for an open end' });
    }
    const a = configDate(seg[0], `${p}[0]`);
    const b = configDate(seg[1], `${p}[1]`);
    if (a !== null && b !== null && a > b) {
      throw new HandlerConfigError('DATASET_SEGMENT', `segment starts ${a}, after its end ${b}`, { path: `${p}[0]`, hint: 'swap start and end' });
    }
    out[name] = [a, b];
  }
  return out;
}

/**
 * A dataset from a task config's `dataset` section: `{class: DatasetH, module_path: qlib.data.dataset,
 * kwargs: {handler: {…}, segments: {…}}}`.
 */
export function createDataset(source: HandlerSource, spec: unknown, path = 'dataset'): DatasetH {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'a dataset is {class: DatasetH, module_path, kwargs: {handler, segments}}', { path, hint: 'see docs/handlers.md' });
  }
  const s = spec as Record<string, unknown>;
  resolveBuiltin('dataset', s['class'], s['module_path'], path);
  const kwargs = s['kwargs'];
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'DatasetH needs kwargs {handler, segments}', { path: `${path}.kwargs`, hint: 'see docs/handlers.md' });
  }
  const kw = kwargs as Record<string, unknown>;
  const extra = Object.keys(kw).find((k) => !['handler', 'segments', 'fetch_kwargs'].includes(k));
  if (extra) throw new HandlerConfigError('HANDLER_CONFIG', `DatasetH has no argument ${extra}`, { path: `${path}.kwargs.${extra}`, hint: 'DatasetH takes handler and segments' });
  if (kw['handler'] === undefined) throw new HandlerConfigError('HANDLER_CONFIG', 'DatasetH needs a handler', { path: `${path}.kwargs.handler`, hint: 'e.g. {class: Alpha158, module_path: qlib.contrib.data.handler, kwargs: {…}}' });
  return new DatasetH(kw['handler'], kw['segments'] ?? {}, source, `${path}.kwargs`);
}
