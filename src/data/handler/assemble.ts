/**
 * Loads column groups into a Panel the way qlib's `QlibDataLoader` + `D.features` build their frame:
 * every expression per instrument over the query range (with qlib's extra history), rows kept where
 * the instrument has stored data (the union of the referenced fields' `.bin` ranges) and inside one
 * of its membership spans, ordered by (date, instrument).
 */
import type { FieldSource, InstrumentSpan, Panel } from '../types.ts';
import { createSeriesEvaluator, type FieldExtentSource, type InstrumentSeries, type SeriesEvaluator } from '../expr/evaluate.ts';
import { LocalProvider } from '../provider/localProvider.ts';
import { runParallel, defaultThreads } from './parallel.ts';
import { fillPointwise, pointwiseEnabled, pointwiseMemoryLayout, splitPointwise } from './pointwise.ts';
import type { ColumnGroup } from './loader.ts';

/** Calendar-index spans of one instrument (inclusive). */
interface IndexSpans {
  instrument: string;
  spans: Array<[number, number]>;
}

function lowerBound(days: readonly string[], day: string): number {
  let lo = 0;
  let hi = days.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if ((days[m] as string) < day) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Groups spans by instrument (sorted by symbol, as qlib's `sort_index`) and maps dates to calendar indices. */
export function indexSpans(days: readonly string[], spans: readonly InstrumentSpan[]): IndexSpans[] {
  const by = new Map<string, Array<[number, number]>>();
  for (const s of spans) {
    const a = lowerBound(days, s.start);
    const b = lowerBound(days, s.end) - (days[lowerBound(days, s.end)] === s.end ? 0 : 1);
    const list = by.get(s.instrument) ?? [];
    if (a <= b) list.push([a, b]);
    by.set(s.instrument, list);
  }
  return [...by.keys()].sort().map((instrument) => ({ instrument, spans: by.get(instrument) ?? [] }));
}

/** `$field` names an expression reads (qlib's `$name` regex; `$$` PIT fields excluded). */
export function referencedFields(exprs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/(?<!\$)\$([\w、：（）]+)/g)) out.add((m[1] as string).toLowerCase());
  return [...out];
}

/** A source that exposes its stored columns (LocalProvider): extents without reading values. */
interface StoredSource extends FieldSource {
  stored(instrument: string, field: string): { startIdx: number; values: { length: number } } | null;
}

function hasStored(source: FieldSource): source is StoredSource {
  return typeof (source as Partial<StoredSource>).stored === 'function';
}

function hasExtent(source: FieldSource): source is FieldExtentSource {
  return typeof (source as Partial<FieldExtentSource>).dataRange === 'function';
}

/** First/last calendar index with stored data for any of `fields`, or null when there is none. */
export function dataExtent(source: FieldSource, instrument: string, fields: readonly string[], s: number, e: number): [number, number] | null {
  let first = Infinity;
  let last = -Infinity;
  for (const f of fields) {
    if (hasStored(source)) {
      let st: ReturnType<StoredSource['stored']> = null;
      try {
        st = source.stored(instrument, f);
      } catch {
        // an unknown field: the expression engine reports it with the expression's column
      }
      if (st && st.values.length > 0) {
        first = Math.min(first, st.startIdx);
        last = Math.max(last, st.startIdx + st.values.length - 1);
      }
    } else if (hasExtent(source)) {
      const r = source.dataRange(instrument, f);
      if (r) {
        first = Math.min(first, r.first);
        last = Math.max(last, r.last);
      }
    } else {
      const v = source.load(instrument, f, s, e);
      for (let t = 0; t < v.length; t++) if (!Number.isNaN(v[t])) { first = Math.min(first, s + t); break; }
      for (let t = v.length - 1; t >= 0; t--) if (!Number.isNaN(v[t])) { last = Math.max(last, s + t); break; }
    }
  }
  return first <= last ? [first, last] : null;
}

/** Instruments buffered per scatter pass (≈ 10 KB per instrument and column over 5 years). */
export const SCATTER_BLOCK = 32;
/** Days per transpose tile in `BlockScatter.flush`. */
const FLUSH_DAYS = 16;
/**
 * Slab budget of the one-thread path: narrow jobs buffer more instruments per flush (up to 128),
 * since each flush is one pass over every page of the panel. 20 columns × 1259 days: 83 per flush,
 * add+flush measured 10-20 % faster than with 32 (in-process, alternating); Alpha158's 159 columns
 * stay at 32.
 */
const SLAB_BUDGET_BYTES = 16 * 2 ** 20;

/** Instruments per flush for `ncol` columns over `len` days (between SCATTER_BLOCK and 128). */
export function scatterCapacity(ncol: number, len: number): number {
  const fit = Math.floor(SLAB_BUDGET_BYTES / Math.max(1, ncol * len * 8));
  return Math.max(SCATTER_BLOCK, Math.min(128, fit));
}

export interface AssembleOptions {
  /** Called after each instrument (in blocks of 32 when threads > 1). Default: none. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Threads evaluating instruments: this one plus `threads - 1` worker threads, used only for a
   * `LocalProvider` source (workers reopen it by path) and at least 4 blocks of instruments.
   * Default: `QTASK_DATA_THREADS`, else the machine's parallelism (≤ 4) for jobs of ≥ 8M cells
   * (columns × days inside membership spans: the panel's rows are known only once the threads read
   * the data), 1 for smaller ones (see `defaultThreads`).
   */
  threads?: number;
  /**
   * Compute pointwise columns (fields, `Ref($field, d ≥ 1)` and NaN-propagating arithmetic over
   * them, see pointwise.ts) in panel order instead of instrument by instrument: the same values,
   * faster. Only for a `LocalProvider` source. Default: true unless `QTASK_POINTWISE=0`.
   */
  pointwise?: boolean;
}

/**
 * Evaluates `groups` for `spans` over calendar indices `[s, e]` and returns the panel (rows by date,
 * then instrument). Peak memory is the panel plus one instrument's results per thread, and with
 * pointwise columns a copy of their fields' stored columns (pointwise.ts).
 */
export function assemblePanel(source: FieldSource, groups: readonly ColumnGroup[], spans: readonly InstrumentSpan[], s: number, e: number, options: AssembleOptions = {}): Panel {
  const days = source.calendarDays();
  const insts = indexSpans(days, spans);
  const exprs = groups.flatMap((g) => g.fields);
  const columns = groups.flatMap((g) => g.names);
  const colGroups = groups.flatMap((g) => g.names.map(() => g.group));
  const len = Math.max(0, e - s + 1);
  const fields = referencedFields(exprs);

  const names = insts.map((x) => x.instrument);
  const work = insts.length > 0 && len > 0 && exprs.length > 0;
  // Pointwise columns are computed in panel order (pointwise.ts); they need the stored columns.
  const found = work && source instanceof LocalProvider && (options.pointwise ?? pointwiseEnabled()) ? splitPointwise(exprs) : null;
  const threads = options.threads ?? defaultThreads(exprs.length * spanDays(insts, s, e));
  const parallel = work && threads > 1 && source instanceof LocalProvider && insts.length >= 4 * SCATTER_BLOCK;
  const memoryLayout = found && found.pointwise.columns.length > 0 ? pointwiseMemoryLayout(found.pointwise, names.length, len, s, parallel ? threads : 1) : null;
  const split = found && memoryLayout ? { ...found, memoryLayout } : null;
  if (parallel) {
    // The workers read the instruments' columns (and so learn where their data starts and ends)
    // while this thread reads its share; the rows are laid out from those extents.
    const rowLabels: { of?: () => { dates: string[]; instruments: string[] } } = {};
    const values = runParallel({
      source,
      exprs,
      ...(split ? { roots: split.others, pointwise: { plan: split.pointwise, layout: split.memoryLayout } } : {}),
      instruments: names,
      layout: {
        fields,
        build: (extentOf) => {
          const plan = planRows(insts, days, s, e, extentOf);
          rowLabels.of = plan.labels;
          return { rows: plan.rows, live: plan.live, fill: (rowsAll) => plan.fill(rowsAll) };
        },
      },
      start: s,
      end: e,
      threads,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const labels = rowLabels.of;
    if (!labels) throw new Error('internal: the panel was computed without laying out its rows');
    return withLazyLabels({ columns, groups: colGroups, values }, labels);
  }
  const plan = planRows(insts, days, s, e, (i) => dataExtent(source, names[i] as string, fields, s, e));
  const rowsAll = new Int32Array(insts.length * len);
  plan.fill(rowsAll);
  const values = columns.map(() => new Float64Array(plan.rows));
  const live = names.map((_, i) => i).filter((i) => plan.live[i] === 1);
  if (work && live.length > 0) {
    const liveNames = live.map((i) => names[i] as string);
    // Built over every expression even when some are pointwise: it checks them all (parse and
    // field errors, as before) and keeps the loaded window the same.
    const evaluator = createSeriesEvaluator(exprs, liveNames, s, e, source, {}, split?.others);
    if (split) fillPointwise(split.pointwise, { values, rowsAll, instruments: names, live: plan.live, layout: split.memoryLayout, stored: (i, f) => (source as LocalProvider).stored(i, f) });
    const scattered = split ? split.others.map((k) => values[k] as Float64Array) : values;
    if (scattered.length > 0) {
      const block = scatterCapacity(scattered.length, len);
      const scatter = new BlockScatter(scattered, live.map((i) => rowsAll.subarray(i * len, (i + 1) * len)), len, s, block);
      for (let k = 0; k < live.length; k += block) {
        const to = Math.min(live.length, k + block);
        scatterBlock(evaluator, liveNames, scatter, k, to, options.onProgress ? (done) => options.onProgress?.(done, live.length) : undefined);
      }
    } else options.onProgress?.(live.length, live.length);
  }
  return withLazyLabels({ columns, groups: colGroups, values }, plan.labels);
}

/**
 * The panel with its row labels (~600k date and instrument strings for 482 stocks × 5 years, 24–53
 * ms to build) made on first read of `dates` or `instruments`, as pandas keeps a MultiIndex as codes
 * and builds the values on demand: callers that only read the values (a model's training loop)
 * never pay for them. The properties are own, enumerable and writable, so spreading, JSON and
 * structured clones see plain arrays.
 */
function withLazyLabels(panel: Omit<Panel, 'dates' | 'instruments'>, labels: () => { dates: string[]; instruments: string[] }): Panel {
  let made: { dates: string[]; instruments: string[] } | null = null;
  const get = (): { dates: string[]; instruments: string[] } => (made ??= labels());
  const out = panel as Panel;
  for (const key of ['dates', 'instruments'] as const) {
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get: () => get()[key],
      set: (v: string[]) => Object.defineProperty(out, key, { value: v, enumerable: true, configurable: true, writable: true }),
    });
  }
  return out;
}

/** Days of `[s, e]` inside some membership span, summed over instruments: the panel's rows at most. */
function spanDays(insts: readonly IndexSpans[], s: number, e: number): number {
  let days = 0;
  for (const { spans } of insts) for (const [a, b] of spans) days += Math.max(0, Math.min(b, e) - Math.max(a, s) + 1);
  return days;
}

/**
 * The panel's rows, in steps so a parallel fetch can allocate the panel (and have its pages
 * faulted in) before the row maps are written, and build the labels while workers compute:
 * `rows` and `live` first, then `fill` writes the row maps, `labels` the rows' dates and instruments.
 */
interface RowPlan {
  rows: number;
  /** Per instrument: 1 when it has at least one row. */
  live: Uint8Array;
  /** Writes `rowsAll[i * len + (t - s)]`: the row of instrument i on day t, or -1. */
  fill(rowsAll: Int32Array): void;
  /** Each row's date and instrument. */
  labels(): { dates: string[]; instruments: string[] };
}

/**
 * Rows where an instrument is a member and has stored data (`extentOf(i)`: first and last calendar
 * index with data, or null), ordered by date, then instrument.
 */
function planRows(insts: readonly IndexSpans[], days: readonly string[], s: number, e: number, extentOf: (i: number) => readonly [number, number] | null): RowPlan {
  const len = Math.max(0, e - s + 1);
  // One buffer for the masks (views per instrument): ~1000 separately allocated typed arrays made
  // V8 run its external-memory GCs in the middle of this loop.
  const maskAll = new Uint8Array(insts.length * len);
  const exists = insts.map(({ spans: sp }, i) => {
    const mask = maskAll.subarray(i * len, (i + 1) * len);
    const ext = extentOf(i);
    if (!ext) return mask;
    for (const [a, b] of sp) {
      const from = Math.max(a, ext[0], s);
      const to = Math.min(b, ext[1], e);
      if (from <= to) mask.fill(1, from - s, to - s + 1);
    }
    return mask;
  });
  let rowCount = 0;
  for (let k = 0; k < maskAll.length; k++) rowCount += maskAll[k] as number;
  const live = new Uint8Array(insts.length);
  exists.forEach((mask, i) => {
    live[i] = mask.indexOf(1) >= 0 ? 1 : 0;
  });
  const fill = (rowsAll: Int32Array): void => {
    // Rows go by date, then instrument. Walked instrument by instrument (the masks and row maps are
    // instrument-major; day by day strode across all of them): each day's next row is its first
    // row plus the instruments already placed on it.
    const next = new Int32Array(len);
    for (const mask of exists) for (let t = 0; t < len; t++) next[t] += mask[t] as number;
    for (let t = 0, first = 0; t < len; t++) {
      const count = next[t] as number;
      next[t] = first;
      first += count;
    }
    for (let i = 0; i < insts.length; i++) {
      const mask = exists[i] as Uint8Array;
      for (let t = 0, at = i * len; t < len; t++, at++) rowsAll[at] = mask[t] ? (next[t] as number)++ : -1;
    }
  };
  const labels = (): { dates: string[]; instruments: string[] } => {
    // Sized up front: growing two arrays of ~600k rows by push() measured ~4x slower than filling them.
    // Pre-filled (packed) arrays: stores into a fresh holey `new Array(n)` measured 1.5-3x slower.
    const dates: string[] = new Array<string>(rowCount).fill('');
    const instruments: string[] = new Array<string>(rowCount).fill('');
    let row = 0;
    for (let t = 0; t < len; t++) {
      const first = row;
      for (let i = 0; i < insts.length; i++) {
        if ((exists[i] as Uint8Array)[t]) instruments[row++] = (insts[i] as IndexSpans).instrument;
      }
      dates.fill(days[s + t] as string, first, row);
    }
    return { dates, instruments };
  };
  return { rows: rowCount, live, fill, labels };
}

/**
 * Writes instruments' results into the date-major panel. Rows are date-major, so one instrument's
 * values land one row per date apart and writing them directly touches a new cache line per value
 * (measured: ~40% of the handler's time). Instead a block of consecutive instruments is buffered
 * (each instrument's columns copied sequentially into one slab as soon as it is done, since the
 * evaluator recycles its arrays) and written out column by column, date by date, so neighbouring
 * panel rows are filled together.
 */
export class BlockScatter {
  private readonly slab: Float64Array;
  /** `rows[t * capacity + j]`: panel row of block member j on day t, or -1. */
  private readonly rows: Int32Array;
  private readonly tile: Float64Array;
  /** Per day of the block being flushed: the first member's row when every member has a row that day, else -1. */
  private readonly firstRow: Int32Array;
  private members = 0;

  /**
   * `capacity`: instruments buffered before a flush. Default `SCATTER_BLOCK`; larger blocks write
   * longer runs of each panel row per pass (fewer passes over the panel's pages) for a larger slab.
   */
  constructor(
    private readonly values: Float64Array[],
    private readonly rowOf: Int32Array[],
    private readonly len: number,
    private readonly start: number,
    private readonly capacity: number = SCATTER_BLOCK,
  ) {
    this.slab = new Float64Array(capacity * values.length * len);
    this.rows = new Int32Array(capacity * len);
    this.tile = new Float64Array(FLUSH_DAYS * capacity);
    this.firstRow = new Int32Array(len);
  }

  add(instrumentIndex: number, results: InstrumentSeries): void {
    if (this.members === this.capacity) this.flush();
    const j = this.members++;
    const rowsOfInst = this.rowOf[instrumentIndex] as Int32Array;
    const { len, rows, capacity } = this;
    for (let t = 0; t < len; t++) rows[t * capacity + j] = rowsOfInst[t] as number;
    const ncol = this.values.length;
    for (let c = 0; c < ncol; c++) {
      copyAligned(this.slab, (j * ncol + c) * len, results.series[c] as InstrumentSeries['series'][number], this.start, len, results.round);
    }
  }

  /**
   * Copies the buffered block into the panel. A transpose: each member's column is contiguous in
   * the slab, the panel wants the block's values of one date together. Going through a small
   * 16-day × block tile (4 KB) reads each member in 128-byte runs instead of 32 interleaved
   * streams (measured ~40% less time for this loop).
   */
  flush(): void {
    const n = this.members;
    if (n === 0) return;
    const { len, rows, slab, tile, firstRow, capacity: cap } = this;
    const ncol = this.values.length;
    const stride = ncol * len;
    // Members present on a day have consecutive rows (rows go by instrument within a day). On days
    // where all are present the block's rows are firstRow[t] + j: no row lookup, no branch.
    for (let t = 0; t < len; t++) {
      const r0 = rows[t * cap] as number;
      firstRow[t] = r0 >= 0 && rows[t * cap + n - 1] === r0 + n - 1 ? r0 : -1;
    }
    for (let c = 0; c < ncol; c++) {
      const dst = this.values[c] as Float64Array;
      const base = c * len;
      for (let t0 = 0; t0 < len; t0 += FLUSH_DAYS) {
        const t1 = t0 + FLUSH_DAYS < len ? t0 + FLUSH_DAYS : len;
        for (let j = 0; j < n; j++) {
          const from = j * stride + base;
          for (let t = t0; t < t1; t++) tile[(t - t0) * cap + j] = slab[from + t] as number;
        }
        for (let t = t0; t < t1; t++) {
          const rbase = t * cap;
          const tbase = (t - t0) * cap;
          const r0 = firstRow[t] as number;
          if (r0 >= 0) {
            for (let j = 0; j < n; j++) dst[r0 + j] = tile[tbase + j] as number;
            continue;
          }
          for (let j = 0; j < n; j++) {
            const r = rows[rbase + j] as number;
            if (r >= 0) dst[r] = tile[tbase + j] as number;
          }
        }
      }
    }
    this.members = 0;
  }

  /** Drops the buffered instruments without writing them. */
  discard(): void {
    this.members = 0;
  }
}

/** Writes `s` on days `start .. start+len-1` into `out[at ..]` (NaN where the series has no row). */
function copyAligned(out: Float64Array, at: number, s: InstrumentSeries['series'][number], start: number, len: number, round: boolean): void {
  const v = s.values;
  const from = Math.max(0, s.lo - start);
  const to = Math.min(len, s.lo + v.length - start);
  if (to <= from) {
    out.fill(NaN, at, at + len);
    return;
  }
  if (from > 0) out.fill(NaN, at, at + from);
  if (to < len) out.fill(NaN, at + to, at + len);
  const off = start - s.lo;
  // float32 and bool series hold float32 values already (every operator producing them rounds), so
  // rounding them again would change nothing: copy those natively.
  if (round && s.dtype === 'f64') for (let t = from; t < to; t++) out[at + t] = Math.fround(v[t + off] as number);
  else out.set(v.subarray(from + off, to + off), at + from);
}

/** Evaluates instruments `[from, to)` (at most one block; those `live` marks 0 skipped) and writes them into the panel. */
export function scatterBlock(evaluator: SeriesEvaluator, instruments: readonly string[], scatter: BlockScatter, from: number, to: number, onEach?: (done: number) => void, live?: Uint8Array): void {
  evaluateBlock(evaluator, instruments, scatter, from, to, live, undefined, onEach);
  scatter.flush();
}

/**
 * Evaluates instruments `[from, to)` into the scatter's buffer without writing the panel (call
 * `flush` or `discard` next). Returns false as soon as `abandon()`, asked after each instrument,
 * says another thread has this block covered.
 */
export function evaluateBlock(evaluator: SeriesEvaluator, instruments: readonly string[], scatter: BlockScatter, from: number, to: number, live?: Uint8Array, abandon?: () => boolean, onEach?: (done: number) => void): boolean {
  for (let k = from; k < to; k++) {
    if (live && live[k] === 0) continue; // no rows: nothing to write
    evaluator.evaluate(instruments[k] as string, (results) => scatter.add(k, results));
    onEach?.(k + 1);
    if (abandon?.()) return false;
  }
  return true;
}
