/**
 * Evaluates qlib expressions for instruments over calendar-index ranges.
 *
 * Like qlib's `LocalExpressionProvider`, each expression is computed over its extended window
 * `[max(0, start - lft), end + rgt]` and then sliced to `[start, end]`, so the first requested
 * rows see full rolling windows and negative `Ref`s see the future rows they need.
 *
 * Sharing in a batch: an expression whose value at a row depends only on a bounded window of rows
 * (every Alpha158 feature) gives the same numbers whether it is computed over its own window or
 * over a wider one, so all such expressions of an instrument are computed together over the union
 * of their windows, and every distinct sub-expression (`$close`, `Mean($close,5)`, …) once.
 * Expressions whose value depends on how far back loading starts (EMA, expanding windows,
 * `Ref(x,0)`, qlib's short `Delta` window) are computed over exactly their own window, as qlib does.
 */
import { QtaskError } from '../../errors.ts';
import type { FieldSource } from '../types.ts';
import { canonical, type ExprNode } from './ast.ts';
import { applyDelta, applyElem, applyIf, applyPair, applyPairRolling, applyRef, applyRolling } from './apply.ts';
import { ArrayArena, f64Scratch } from './arena.ts';
import type { ExpressionCache } from './cache.ts';
import { ExpressionError } from './errors.ts';
import { optionsKey, resolveOptions, type ExprOptions, type ResolvedOptions } from './options.ts';
import { parseExpression } from './parse.ts';
import { Plan, type PlanNode } from './plan.ts';
import { hiOf, type Operand, type Series } from './series.ts';

/**
 * A `FieldSource` that can also tell where an instrument's stored data starts and ends (the `.bin`
 * file's first and last calendar index). qlib's Series start there, which matters for partial
 * windows after a listing. `LocalProvider.stored()` is used the same way; without either the
 * engine takes the first and last non-NaN rows instead.
 */
export interface FieldExtentSource extends FieldSource {
  dataRange(instrument: string, field: string): { first: number; last: number } | undefined;
}

/** Fields qlib's own data conventionally has; asking for one the data lacks gives NaN, not an error. */
export const QLIB_CONVENTIONAL_FIELDS: readonly string[] = Object.freeze([
  'open', 'high', 'low', 'close', 'volume', 'vwap', 'factor', 'change', 'money', 'amount',
]);

function hasExtent(source: FieldSource): source is FieldExtentSource {
  return typeof (source as Partial<FieldExtentSource>).dataRange === 'function';
}

/** `LocalProvider.stored()`: the `.bin` column as stored (start index and values), or null. */
interface StoredColumnSource extends FieldSource {
  stored(instrument: string, field: string): { startIdx: number; values: { length: number } } | null;
}

function hasStored(source: FieldSource): source is StoredColumnSource {
  return typeof (source as Partial<StoredColumnSource>).stored === 'function';
}

/**
 * A source that writes a field's values over `[startIdx, startIdx + out.length - 1]` straight into
 * the caller's array (NaN where nothing is stored), saving the intermediate array `load` returns.
 * `float32Values: true` promises every value is a float32 widened to float64 (qlib's `.bin` files),
 * so the float32 cast can be skipped. `LocalProvider` is one.
 */
export interface DirectFieldSource extends FieldSource {
  readonly float32Values: boolean;
  loadInto(out: Float64Array, instrument: string, field: string, startIdx: number): void;
}

function hasLoadInto(source: FieldSource): source is DirectFieldSource {
  return typeof (source as Partial<DirectFieldSource>).loadInto === 'function';
}

/** The stored span of a field, from `dataRange()` or `stored()`; undefined when the source cannot tell. */
function storedSpan(source: FieldSource, instrument: string, field: string): { first: number; last: number } | null | undefined {
  if (hasExtent(source)) return source.dataRange(instrument, field) ?? null;
  if (hasStored(source)) {
    const st = source.stored(instrument, field);
    return st && st.values.length > 0 ? { first: st.startIdx, last: st.startIdx + st.values.length - 1 } : null;
  }
  return undefined;
}

export interface EvaluateManyOptions extends ExprOptions {
  /** Results cache; hits skip computation. Default: none. */
  cache?: ExpressionCache;
  /**
   * Fields that may be missing from the data: they evaluate to NaN (qlib reads a missing `.bin` as
   * an empty series) instead of raising `EXPR_FIELD`. Default `QLIB_CONVENTIONAL_FIELDS`, so
   * Alpha158's `$vwap` on Yahoo data is NaN while a typo like `$clsoe` is an error.
   */
  missingFields?: readonly string[];
  /** Called after each instrument with how many are done. Default: none. */
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateOptions extends EvaluateManyOptions {
  source: FieldSource;
  instrument: string;
  /** First calendar index of the result (inclusive). */
  startIdx: number;
  /** Last calendar index of the result (inclusive). */
  endIdx: number;
  /** Options may also be nested here (as in `{source, instrument, startIdx, endIdx, options}`); nested ones win. */
  options?: EvaluateManyOptions;
}

interface Root {
  id: number;
  key: string;
  text: string;
}

interface Context {
  a: number;
  b: number;
  memo: Map<number, Series>;
}

function toRoot(expr: string | ExprNode, plan: Plan, index: number, many: boolean): Root {
  const path = many ? `exprs[${index}]` : undefined;
  let node: ExprNode;
  try {
    node = typeof expr === 'string' ? parseExpression(expr) : expr;
  } catch (e) {
    if (e instanceof ExpressionError && path) throw e.withPath(path);
    throw e;
  }
  const text = typeof expr === 'string' ? expr : canonical(expr);
  if (node.kind === 'number' || node.kind === 'string') {
    throw new ExpressionError('EXPR_NOT_SERIES', 'the expression is a constant, not a series', text, node.pos, {
      hint: 'use at least one $field',
      ...(path ? { path } : {}),
    });
  }
  return { id: plan.add(node), key: canonical(node), text };
}

function checkRange(startIdx: number, endIdx: number): void {
  if (!Number.isInteger(startIdx) || !Number.isInteger(endIdx) || startIdx < 0 || endIdx < startIdx) {
    throw new QtaskError('EXPR_RANGE', `invalid calendar index range [${startIdx}, ${endIdx}]`, {
      hint: 'startIdx and endIdx are integers with 0 <= startIdx <= endIdx',
    });
  }
}

/** Instruments named by Mask/ChangeInstrument anywhere in the plan. */
function maskedInstruments(plan: Plan): string[] {
  const out = new Set<string>();
  for (const pn of plan.nodes) {
    if (pn.family === 'mask') out.add((pn.node as { args: { value: string }[] }).args[1].value);
    if (pn.family === 'changeInstrument') out.add((pn.node as { args: { value: string }[] }).args[0].value);
  }
  return [...out];
}

/** Every `$field` must exist for at least one instrument involved; instruments without it get NaN. */
function checkFields(
  plan: Plan,
  roots: Root[],
  exprs: readonly (string | ExprNode)[],
  source: FieldSource,
  instruments: readonly string[],
  missingFields: readonly string[],
): void {
  const needed = new Set<string>();
  for (const pn of plan.nodes) if (pn.family === 'field') needed.add((pn.node as { name: string }).name);
  const known = new Set<string>();
  // Stop at the first instruments that have every field needed: listing the fields of each of ~500
  // instruments (a readdir each) cost ~35 ms per evaluator, paid again by every worker thread. The
  // full list is read only when a field is missing everywhere (for the error's hint). Fields that
  // may be missing (`missingFields`, e.g. Alpha158's $vwap on Yahoo data) can raise no error, so
  // they need not be found.
  const mustExist = [...needed].filter((f) => !missingFields.includes(f));
  let missing = mustExist.length;
  if (missing === 0) return;
  for (const inst of [...instruments, ...maskedInstruments(plan)]) {
    for (const f of source.fields(inst)) {
      if (known.has(f)) continue;
      known.add(f);
      if (mustExist.includes(f)) missing--;
    }
    if (missing === 0) return;
  }
  if (known.size === 0) return; // no data at all: everything is NaN, as in qlib
  const check = (pn: PlanNode, rootIndex: number, seen: Set<number>): void => {
    if (seen.has(pn.id)) return;
    seen.add(pn.id);
    if (pn.family === 'field') {
      const name = (pn.node as { name: string }).name;
      if (!known.has(name) && !missingFields.includes(name)) {
        const text = roots[rootIndex].text;
        const col = typeof exprs[rootIndex] === 'string' ? pn.node.pos : 1;
        throw new ExpressionError('EXPR_FIELD', `unknown field $${name}`, text, col, {
          hint: `available: ${[...known].sort().map((f) => `$${f}`).join(', ')}`,
          ...(roots.length > 1 ? { path: `exprs[${rootIndex}]` } : {}),
        });
      }
    }
    for (const c of pn.children) if (c >= 0) check(plan.nodes[c], rootIndex, seen);
  };
  roots.forEach((r, i) => check(plan.nodes[r.id], i, new Set()));
}

/** Loads leaves once per (instrument, field) over the widest window any expression needs. */
class LeafStore {
  private readonly loaded = new Map<string, { values: Float64Array; first: number; last: number }>();
  private readonly fieldsOf = new Map<string, Set<string>>();
  constructor(
    private readonly source: FieldSource,
    private readonly lo: number,
    private readonly hi: number,
    private readonly float32: boolean,
  ) {}

  /** Whether `instrument` has `field` stored: from its stored column when the source keeps them (no directory listing), else from `fields()`. */
  private has(instrument: string, field: string): boolean {
    if (hasStored(this.source)) {
      try {
        return this.source.stored(instrument, field) !== null;
      } catch (e) {
        // a field missing everywhere that the caller allowed (missingFields): NaN, as without stored()
        if (e instanceof QtaskError && e.code === 'UNKNOWN_FIELD') return false;
        throw e;
      }
    }
    let fields = this.fieldsOf.get(instrument);
    if (!fields) this.fieldsOf.set(instrument, (fields = new Set(this.source.fields(instrument))));
    return fields.has(field);
  }

  series(instrument: string, field: string, a: number, b: number): Series {
    const key = `${instrument}\u0000${field}`;
    let entry = this.loaded.get(key);
    if (!entry) {
      const stored = this.has(instrument, field);
      let values: Float64Array;
      const direct = hasLoadInto(this.source);
      if (stored) {
        if (direct) {
          values = f64Scratch(this.hi - this.lo + 1);
          this.source.loadInto(values, instrument, field, this.lo);
        } else {
          const loaded = this.source.load(instrument, field, this.lo, this.hi);
          values = f64Scratch(loaded.length);
          values.set(loaded);
        }
      } else values = f64Scratch(this.hi - this.lo + 1).fill(NaN);
      // Rounding float32 values again would change nothing (and cost two copies per field).
      if (this.float32 && !(direct && this.source.float32Values)) values.set(new Float32Array(values));
      let first: number;
      let last: number;
      const span = stored ? storedSpan(this.source, instrument, field) : null;
      if (span !== undefined) {
        first = span ? span.first : Infinity;
        last = span ? span.last : -Infinity;
      } else {
        let i = 0;
        while (i < values.length && values[i] !== values[i]) i++;
        let j = values.length - 1;
        while (j >= i && values[j] !== values[j]) j--;
        first = i < values.length ? this.lo + i : Infinity;
        last = i < values.length ? this.lo + j : -Infinity;
      }
      entry = { values, first, last };
      this.loaded.set(key, entry);
    }
    const from = Math.max(a, entry.first, this.lo);
    const to = Math.min(b, entry.last, this.hi);
    if (to < from) return { lo: from, values: new Float64Array(0), dtype: this.float32 ? 'f32' : 'f64' };
    return { lo: from, values: entry.values.subarray(from - this.lo, to - this.lo + 1), dtype: this.float32 ? 'f32' : 'f64' };
  }
}

const numArg = (args: ExprNode[], k: number): number => (args[k] as { value: number }).value;

interface Frame {
  ctx: Context;
  instrument: string;
  memo: Map<number, Series>;
}

class InstrumentRun {
  /** Memos of sub-trees evaluated for other instruments (Mask/ChangeInstrument), per context. */
  private readonly otherMemos = new Map<Context, Map<string, Map<number, Series>>>();

  constructor(
    private readonly plan: Plan,
    private readonly leaves: LeafStore,
    private readonly opts: ResolvedOptions,
  ) {}

  evalRoot(ctx: Context, id: number, instrument: string): Series {
    return this.eval({ ctx, instrument, memo: ctx.memo }, id);
  }

  private eval(frame: Frame, id: number): Series {
    const cached = frame.memo.get(id);
    if (cached) return cached;
    const value = this.compute(frame, this.plan.nodes[id]);
    frame.memo.set(id, value);
    return value;
  }

  private operand(frame: Frame, pn: PlanNode, k: number): Operand {
    const c = pn.children[k];
    if (c >= 0) return this.eval(frame, c);
    return (pn.node as { args: { value: number }[] }).args[k].value;
  }

  private series(frame: Frame, pn: PlanNode, k: number): Series {
    return this.eval(frame, pn.children[k]);
  }

  private compute(frame: Frame, pn: PlanNode): Series {
    const node = pn.node;
    if (node.kind === 'field') return this.leaves.series(frame.instrument, node.name, frame.ctx.a, frame.ctx.b);
    if (node.kind !== 'call') throw new Error('internal: literal plan node');
    const args = node.args;
    switch (pn.family) {
      case 'elem':
        return applyElem(pn.op, this.series(frame, pn, 0), this.opts);
      case 'pair':
        return applyPair(pn.op, this.operand(frame, pn, 0), this.operand(frame, pn, 1));
      case 'if':
        return applyIf(this.series(frame, pn, 0), this.operand(frame, pn, 1), this.operand(frame, pn, 2), this.opts);
      case 'ref':
        return applyRef(this.series(frame, pn, 0), numArg(args, 1));
      case 'delta':
        return applyDelta(this.series(frame, pn, 0), numArg(args, 1));
      case 'rolling':
        return applyRolling(pn.op, this.series(frame, pn, 0), args, this.opts);
      case 'pairRolling':
        return applyPairRolling(pn.op, this.series(frame, pn, 0), this.series(frame, pn, 1), numArg(args, 2));
      case 'mask':
      case 'changeInstrument': {
        const isMask = pn.family === 'mask';
        const other = (args[isMask ? 1 : 0] as { value: string }).value;
        let perCtx = this.otherMemos.get(frame.ctx);
        if (!perCtx) this.otherMemos.set(frame.ctx, (perCtx = new Map()));
        let memo = perCtx.get(other);
        if (!memo) perCtx.set(other, (memo = new Map()));
        return this.eval({ ctx: frame.ctx, instrument: other, memo }, pn.children[isMask ? 0 : 1]);
      }
      default:
        throw new Error(`internal: cannot evaluate ${pn.key}`);
    }
  }
}

/** Slices a root's series to `[start, end]` (NaN where qlib has no row) and applies the final float32 cast. */
function finish(s: Series, start: number, end: number, float32: boolean): Float64Array {
  const out = new Float64Array(end - start + 1).fill(NaN);
  const from = Math.max(start, s.lo);
  const to = Math.min(end, hiOf(s));
  if (to < from) return out;
  const part = s.values.subarray(from - s.lo, to - s.lo + 1);
  // A Float32Array copy rounds like Math.fround, natively.
  out.set(float32 ? new Float32Array(part) : part, from - start);
  return out;
}

/** Everything `evaluateEach` and `evaluateEachSeries` share: the plan, the windows and the load range. */
interface Prepared {
  opts: ResolvedOptions;
  plan: Plan;
  roots: Root[];
  windows: Array<{ a: number; b: number; dependent: boolean }>;
  sharedA: number;
  sharedB: number;
  loadLo: number;
  loadHi: number;
}

function prepare(exprs: readonly (string | ExprNode)[], instruments: readonly string[], startIdx: number, endIdx: number, source: FieldSource, options: EvaluateManyOptions): Prepared {
  checkRange(startIdx, endIdx);
  const opts = resolveOptions(options);
  const plan = new Plan(opts);
  const roots = exprs.map((e, i) => toRoot(e, plan, i, exprs.length > 1));
  checkFields(plan, roots, exprs, source, instruments, options.missingFields ?? QLIB_CONVENTIONAL_FIELDS);
  const windows = roots.map((r) => {
    const pn = plan.nodes[r.id];
    return { a: Math.max(0, startIdx - pn.lft), b: endIdx + pn.rgt, dependent: pn.historyDependent };
  });
  const bounded = windows.filter((w) => !w.dependent);
  const sharedA = bounded.length ? Math.min(...bounded.map((w) => w.a)) : startIdx;
  const sharedB = bounded.length ? Math.max(...bounded.map((w) => w.b)) : endIdx;
  const loadLo = Math.min(sharedA, ...windows.map((w) => w.a));
  const loadHi = Math.max(sharedB, ...windows.map((w) => w.b));
  return { opts, plan, roots, windows, sharedA, sharedB, loadLo, loadHi };
}

/** Evaluates the roots `which` of one instrument; `each(ei, series)` sees every root's unsliced series. */
function runInstrument(p: Prepared, source: FieldSource, instrument: string, which: readonly number[], each: (ei: number, s: Series) => void): void {
  const run = new InstrumentRun(p.plan, new LeafStore(source, p.loadLo, p.loadHi, p.opts.float32), p.opts);
  const shared: Context = { a: p.sharedA, b: p.sharedB, memo: new Map() };
  const exact = new Map<string, Context>();
  for (const ei of which) {
    const w = p.windows[ei];
    let ctx = shared;
    if (w.dependent) {
      const k = `${w.a}:${w.b}`;
      ctx = exact.get(k) ?? { a: w.a, b: w.b, memo: new Map() };
      exact.set(k, ctx);
    }
    each(ei, run.evalRoot(ctx, p.roots[ei].id, instrument));
  }
}

/**
 * Evaluates every expression for every instrument over `[startIdx, endIdx]` and hands each
 * instrument's results (one Float64Array per expression, in `exprs` order) to `onInstrument` as
 * soon as they are ready, so callers can write them into their own layout without holding a copy.
 * Parse and field errors are thrown before any computation, with `path` `exprs[i]`.
 */
export function evaluateEach(
  exprs: readonly (string | ExprNode)[],
  instruments: readonly string[],
  startIdx: number,
  endIdx: number,
  source: FieldSource,
  onInstrument: (instrumentIndex: number, results: Float64Array[]) => void,
  options: EvaluateManyOptions = {},
): void {
  const p = prepare(exprs, instruments, startIdx, endIdx, source, options);
  const oKey = optionsKey(p.opts);
  const cache = options.cache;
  const all = p.roots.map((_, i) => i);
  // finish() copies each result out of the arena before it is recycled.
  const arena = new ArrayArena();
  instruments.forEach((instrument, ii) => {
    const results: Float64Array[] = new Array(p.roots.length);
    const misses: number[] = [];
    for (const ei of all) {
      const hit = cache?.get(p.roots[ei].key, instrument, startIdx, endIdx, oKey);
      if (hit) results[ei] = hit;
      else misses.push(ei);
    }
    if (misses.length) {
      arena.run(() =>
        runInstrument(p, source, instrument, misses, (ei, series) => {
          const out = finish(series, startIdx, endIdx, p.opts.float32);
          results[ei] = out;
          cache?.set(p.roots[ei].key, instrument, startIdx, endIdx, oKey, out);
        }),
      );
    }
    onInstrument(ii, results);
    options.onProgress?.(ii + 1, instruments.length);
  });
}

/**
 * One instrument's results as `evaluateEachSeries` hands them over: `series[e]` holds expression
 * `e` on calendar rows `lo .. lo+values.length-1` (rows outside are NaN in the result; rows may lie
 * outside the requested range and must be ignored there). With `round`, values must be rounded to
 * float32 (`Math.fround`) to equal `evaluateEach`'s. The arrays are recycled when the callback
 * returns: copy what you keep.
 */
export interface InstrumentSeries {
  series: readonly Series[];
  round: boolean;
}

/**
 * `evaluateEach` without the per-expression result copies: for callers that write every value into
 * their own layout straight away (the handler's panel). No cache.
 */
export function evaluateEachSeries(
  exprs: readonly (string | ExprNode)[],
  instruments: readonly string[],
  startIdx: number,
  endIdx: number,
  source: FieldSource,
  onInstrument: (instrumentIndex: number, results: InstrumentSeries) => void,
  options: Omit<EvaluateManyOptions, 'cache'> = {},
): void {
  const evaluator = createSeriesEvaluator(exprs, instruments, startIdx, endIdx, source, options);
  instruments.forEach((instrument, ii) => {
    evaluator.evaluate(instrument, (results) => onInstrument(ii, results));
    options.onProgress?.(ii + 1, instruments.length);
  });
}

/** Evaluates a fixed expression list for one instrument at a time (see `createSeriesEvaluator`). */
export interface SeriesEvaluator {
  /** Calls `onResults` with the instrument's series; they are recycled when it returns. */
  evaluate(instrument: string, onResults: (results: InstrumentSeries) => void): void;
}

/**
 * Parses and checks `exprs` once (fields are checked against `instruments`) and returns an
 * evaluator for any of those instruments, in any order: what `evaluateEachSeries` does, for callers
 * that hand instruments out themselves (the handler's worker threads). `roots`: evaluate only these
 * expressions (indexes into `exprs`; results come in this order). Every expression is still parsed,
 * checked and counted in the loaded window, so the values equal those of evaluating all. Default: all.
 */
export function createSeriesEvaluator(
  exprs: readonly (string | ExprNode)[],
  instruments: readonly string[],
  startIdx: number,
  endIdx: number,
  source: FieldSource,
  options: Omit<EvaluateManyOptions, 'cache' | 'onProgress'> = {},
  roots?: readonly number[],
): SeriesEvaluator {
  const p = prepare(exprs, instruments, startIdx, endIdx, source, options);
  const which = roots ?? p.roots.map((_, i) => i);
  // Where root ei's result goes in `series`.
  const slot = new Map(which.map((ei, k) => [ei, k]));
  const arena = new ArrayArena();
  return {
    evaluate(instrument, onResults) {
      arena.run(() => {
        const series: Series[] = new Array(which.length);
        runInstrument(p, source, instrument, which, (ei, s) => {
          series[slot.get(ei) as number] = s;
        });
        onResults({ series, round: p.opts.float32 });
      });
    },
  };
}

/**
 * Batch evaluation: `result[e][i]` is expression `e` for instrument `i` over `[startIdx, endIdx]`.
 * Shares loads and sub-expressions across expressions (see the module comment).
 */
export function evaluateMany(
  exprs: readonly (string | ExprNode)[],
  instruments: readonly string[],
  startIdx: number,
  endIdx: number,
  source: FieldSource,
  options: EvaluateManyOptions = {},
): Float64Array[][] {
  const out: Float64Array[][] = exprs.map(() => new Array<Float64Array>(instruments.length));
  evaluateEach(exprs, instruments, startIdx, endIdx, source, (ii, results) => {
    results.forEach((r, ei) => {
      out[ei][ii] = r;
    });
  }, options);
  return out;
}

/** One expression for one instrument over `[startIdx, endIdx]`, with qlib's extra history loaded. */
export function evaluate(expr: string | ExprNode, options: EvaluateOptions): Float64Array {
  const { source, instrument, startIdx, endIdx, options: nested, ...rest } = options;
  return evaluateMany([expr], [instrument], startIdx, endIdx, source, { ...rest, ...nested })[0][0];
}
