/**
 * Columns whose value on a row needs only that row's day (and fixed earlier days) of one
 * instrument, computed in the panel's own order instead of instrument by instrument.
 *
 * Why: the panel is date-major, so an instrument's column lands one row per date apart and writing
 * it is a transpose bound by page misses (see `BlockScatter`); for cheap expressions such as
 * Alpha158's `($close-$open)/$open` that write cost more than the arithmetic. Evaluated per panel
 * row instead, the fields are gathered once per chunk of days (reads from one stream per instrument)
 * and every result column is written sequentially. Alpha158's first 13 features and every Alpha360
 * feature are of this kind.
 *
 * Which expressions qualify: `$field` leaves, `Ref($field, d)` with an int `d ≥ 1`, number literals,
 * and the operators `Add Sub Mul Div Greater Less Abs Sign Log` over them. Each of these gives NaN
 * wherever an input is NaN, so a row where the per-instrument Series has no value (outside the
 * union of its inputs' ranges) and a row where an input is NaN give the same NaN: that is what makes
 * the row-wise result equal to qlib's aligned-Series result. Comparisons, `Power` (numpy's
 * `1 ** nan == 1`), `If`, `And`/`Or`/`Not` and everything windowed do not, and stay per instrument.
 * The arithmetic itself is the per-instrument engine's (`applyPair`, `applyElem`), so dtypes and
 * float32 rounding are the same; tests compare every cell with `Object.is` against that engine.
 */
import { canonical, type ExprNode } from '../expr/ast.ts';
import { npLogf } from '../expr/kernels/npLogf.ts';
import { resolveOptions, type ResolvedOptions } from '../expr/options.ts';
import { parseExpression } from '../expr/parse.ts';
import type { DType } from '../expr/series.ts';
import type { StoredSeries } from '../provider/binFile.ts';
import { POINTWISE_KERNELS_WASM } from './pointwiseKernels.wasm.ts';

const PAIR_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Greater', 'Less']);
const ELEM_OPS = new Set(['Abs', 'Sign', 'Log']);

/** A field read `shift` days back (0: the row's own day). */
interface Leaf {
  field: string;
  shift: number;
}

/** The WebAssembly kernels (pointwiseKernels.wat), by export name. */
type KernelName = 'add' | 'sub' | 'mul' | 'div' | 'add_f32' | 'sub_f32' | 'mul_f32' | 'div_f32' | 'greater' | 'less' | 'abs' | 'fround';

/**
 * One step of a chunk's evaluation over slots (arrays of the chunk's width in WebAssembly memory).
 * `sign` and `log` run in JavaScript over the same memory (numpy's float32 log is npLogf).
 */
type Step =
  | { kind: 'kernel'; kernel: KernelName; a: number; b: number; out: number }
  | { kind: 'sign'; a: number; out: number }
  | { kind: 'log'; a: number; out: number; f32: boolean }
  | { kind: 'write'; column: number; a: number; round: boolean };

/** What a sub-expression evaluates to while compiling: a slot holding its values, or a number literal. */
type Value = { slot: number; dtype: DType } | { value: number };

/** The pointwise columns of a column list, compiled to steps over slots. */
export interface PointwisePlan {
  /** Expression indexes computed here. */
  columns: readonly number[];
  /** Slots `0 .. leaves.length - 1` hold the leaves. */
  leaves: readonly Leaf[];
  /** Slots filled with one number for the whole fetch (literals, rounded as their operation needs). */
  constants: readonly { slot: number; value: number }[];
  steps: readonly Step[];
  slots: number;
}

/**
 * Splits `exprs` into pointwise columns and the rest (`others`: indexes evaluated per instrument).
 * Expressions that do not parse count as others, so their error is raised where it always was.
 * Sub-expressions shared by several columns are computed once per chunk.
 */
export function splitPointwise(exprs: readonly string[], options: ResolvedOptions = resolveOptions()): { pointwise: PointwisePlan; others: number[] } {
  const leafDtype: DType = options.float32 ? 'f32' : 'f64';
  const others: number[] = [];
  const programs: { column: number; node: ExprNode }[] = [];
  exprs.forEach((text, column) => {
    let node: ExprNode;
    try {
      node = parseExpression(text);
    } catch {
      others.push(column);
      return;
    }
    if (qualifies(node) && node.kind !== 'number') programs.push({ column, node });
    else others.push(column);
  });
  const leaves: Leaf[] = [];
  const leafIds: number[] = [];
  const constants: { slot: number; value: number }[] = [];
  const body: Array<{ step: Step; uses: number[]; out: number | null }> = [];
  const memo = new Map<string, Value>();
  const constantSlots = new Map<string, number>();
  // Slots are numbered in creation order here; leaves and constants keep theirs, the others are
  // packed afterwards so a slot is reused once its last reader has run.
  let next = 0;
  const leafSlot = (field: string, shift: number): Value => {
    const key = `${shift}:${field}`;
    const hit = memo.get(key);
    if (hit) return hit;
    leaves.push({ field, shift });
    leafIds.push(next);
    const v = { slot: next++, dtype: leafDtype };
    memo.set(key, v);
    return v;
  };
  const constantSlot = (value: number): number => {
    // Map keys compare 0 and -0 as equal; the slots must not (-0.0 + x keeps x's -0).
    const key = Object.is(value, -0) ? '-0' : String(value);
    let slot = constantSlots.get(key);
    if (slot === undefined) {
      slot = next++;
      constantSlots.set(key, slot);
      constants.push({ slot, value });
    }
    return slot;
  };
  const emit = (step: Step, uses: number[], dtype: DType): Value => {
    const out = next++;
    body.push({ step: { ...step, out } as Step, uses, out });
    return { slot: out, dtype };
  };
  const compile = (node: ExprNode): Value => {
    if (node.kind === 'number') return { value: node.value };
    if (node.kind === 'field') return leafSlot(node.name, 0);
    if (node.kind !== 'call') throw new Error('internal: string in a pointwise expression');
    const key = canonical(node);
    const hit = memo.get(key);
    if (hit) return hit;
    let v: Value;
    if (node.op === 'Ref') v = leafSlot((node.args[0] as { name: string }).name, (node.args[1] as { value: number }).value);
    else if (ELEM_OPS.has(node.op)) {
      const x = compile(node.args[0] as ExprNode) as { slot: number; dtype: DType };
      if (node.op === 'Abs') v = emit({ kind: 'kernel', kernel: 'abs', a: x.slot, b: -1, out: -1 }, [x.slot], x.dtype);
      else if (node.op === 'Sign') v = emit({ kind: 'sign', a: x.slot, out: -1 }, [x.slot], options.float32 ? 'f32' : 'f64');
      else v = emit({ kind: 'log', a: x.slot, out: -1, f32: x.dtype === 'f32' }, [x.slot], x.dtype === 'f32' ? 'f32' : 'f64');
    } else {
      const a = compile(node.args[0] as ExprNode);
      const b = compile(node.args[1] as ExprNode);
      // numpy's dtype rules, as applyPair: scalars adopt the array's dtype; float32 results are rounded.
      const kinds = [a, b].flatMap((o) => ('slot' in o ? [o.dtype] : []));
      const dtype: DType = kinds.includes('f64') ? 'f64' : kinds.includes('f32') ? 'f32' : 'f64';
      const round = dtype === 'f32';
      const slotOf = (o: Value): number => ('slot' in o ? o.slot : constantSlot(round ? Math.fround(o.value) : o.value));
      const op = node.op.toLowerCase();
      const kernel = (op === 'greater' || op === 'less' ? op : round ? `${op}_f32` : op) as KernelName;
      const [sa, sb] = [slotOf(a), slotOf(b)];
      v = emit({ kind: 'kernel', kernel, a: sa, b: sb, out: -1 }, [sa, sb], dtype);
    }
    memo.set(key, v);
    return v;
  };
  for (const { column, node } of programs) {
    const v = compile(node) as { slot: number; dtype: DType };
    body.push({ step: { kind: 'write', column, a: v.slot, round: options.float32 && v.dtype === 'f64' }, uses: [v.slot], out: null });
  }
  // Pack the computed slots: after the leaves and constants, reuse a slot once its last reader ran.
  const fixed = leaves.length + constants.length;
  const lastUse = new Map<number, number>();
  body.forEach((b, k) => b.uses.forEach((u) => lastUse.set(u, k)));
  // Leaf k lives in slot k, then the constants.
  const isFixed = new Set<number>([...leafIds, ...constants.map((c) => c.slot)]);
  const renumber = new Map<number, number>();
  [...isFixed].forEach((slot, k) => renumber.set(slot, k));
  const free: number[] = [];
  let slots = fixed;
  const steps: Step[] = body.map((b, k) => {
    const map = (slot: number): number => (slot < 0 ? slot : (renumber.get(slot) as number));
    const step = { ...b.step } as Step & { a: number; b?: number; out?: number };
    step.a = map(step.a);
    if ('b' in step && step.b !== undefined) step.b = map(step.b);
    // Inputs whose last reader is this step free their slot for this step's output.
    for (const u of new Set(b.uses)) if (!isFixed.has(u) && lastUse.get(u) === k) free.push(renumber.get(u) as number);
    if (b.out !== null) {
      const slot = free.pop() ?? slots++;
      renumber.set(b.out, slot);
      step.out = slot;
    }
    return step;
  });
  return {
    pointwise: {
      columns: programs.map((p) => p.column),
      leaves,
      constants: constants.map((c) => ({ slot: renumber.get(c.slot) as number, value: c.value })),
      steps,
      slots,
    },
    others,
  };
}

/** Whether a parsed expression is made only of what this module computes (see the module comment). */
function qualifies(node: ExprNode): boolean {
  if (node.kind === 'field' || node.kind === 'number') return true;
  if (node.kind !== 'call') return false;
  const { op, args } = node;
  if (op === 'Ref') {
    const [x, d] = args;
    return x?.kind === 'field' && d?.kind === 'number' && d.isInt && d.value >= 1;
  }
  if (ELEM_OPS.has(op)) return args.length === 1 && args[0]?.kind !== 'number' && qualifies(args[0] as ExprNode);
  if (PAIR_OPS.has(op)) {
    if (args.length !== 2 || args.every((a) => a.kind === 'number')) return false; // literals only: no rows in qlib
    return args.every((a) => qualifies(a));
  }
  return false;
}

interface Kernels {
  memory: WebAssembly.Memory;
  fns: Record<KernelName, (a: number, b: number, o: number, n: number) => void> & Record<'abs' | 'fround', (a: number, o: number, n: number) => void> & {
    gather(table: number, n: number, rows: number, len: number, start: number, t0: number, t1: number, shift: number, out: number, r0: number): void;
  };
}

let kernels: Kernels | null = null;

/** The kernels' instance (one per thread, made on first use; synchronous: the module is ~1 KB). */
function loadKernels(): Kernels {
  if (!kernels) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(POINTWISE_KERNELS_WASM, 'base64')));
    const exp = instance.exports as Record<string, unknown>;
    kernels = { memory: exp['memory'] as WebAssembly.Memory, fns: exp as unknown as Kernels['fns'] };
  }
  return kernels;
}

/** Days per chunk: a chunk's slots (~3.9k rows × 8 bytes each over 482 instruments) stay in the core's cache. */
const CHUNK_DAYS = 8;

export interface PointwiseFill {
  /** Columns of the panel (all of them; only the plan's are written). */
  values: readonly Float64Array[];
  /** `rowsAll[i * len + t]`: panel row of instrument i on day `start + t`, or -1. */
  rowsAll: Int32Array;
  instruments: readonly string[];
  /** 1 where the instrument has rows. */
  live: Uint8Array;
  start: number;
  len: number;
  /** The stored `.bin` column (LocalProvider.stored), null when the instrument lacks the field. */
  stored(instrument: string, field: string): StoredSeries | null;
}

/**
 * Writes the plan's columns on every row of the panel. Rows of a chunk of days are contiguous
 * (date-major), so each chunk is gathered, computed and written as one run per column.
 */
export function fillPointwise(plan: PointwisePlan, job: PointwiseFill): void {
  if (plan.columns.length === 0) return;
  const { rowsAll, len, start, live } = job;
  const n = job.instruments.length;
  // Rows of day t are [firstRowOfDay[t], firstRowOfDay[t+1]) (counted instrument by instrument: the row maps are instrument-major).
  const firstRowOfDay = new Int32Array(len + 1);
  for (let i = 0; i < n; i++) {
    if (live[i] !== 1) continue;
    for (let t = 0, base = i * len; t < len; t++) if ((rowsAll[base + t] as number) >= 0) firstRowOfDay[t + 1]++;
  }
  for (let t = 0; t < len; t++) firstRowOfDay[t + 1] += firstRowOfDay[t] as number;
  let widest = 0;
  for (let t0 = 0; t0 < len; t0 += CHUNK_DAYS) widest = Math.max(widest, (firstRowOfDay[Math.min(len, t0 + CHUNK_DAYS)] as number) - (firstRowOfDay[t0] as number));
  // Every step runs over the widest chunk's (even) length: values past a chunk's rows are stale and never written out.
  const width = widest + (widest & 1);
  if (width === 0) return;
  const { memory, fns } = loadKernels();
  // WebAssembly memory: the slots, the row maps, then per field a table (column address, first
  // copied day, last stored day per instrument) and the instruments' values over the days the
  // leaves read ([start - largest shift, start + len - 1] within the stored data).
  const fields = [...new Set(plan.leaves.map((l) => l.field))];
  const columnsOf = fields.map((field) => job.instruments.map((inst, i) => (live[i] === 1 ? storedOrNull(job, inst, field) : null)));
  const deepest = fields.map((field) => Math.max(...plan.leaves.filter((l) => l.field === field).map((l) => l.shift)));
  const lastDay = start + len - 1;
  const rowsAt = plan.slots * width * 8;
  let end = rowsAt + n * len * 4;
  const tableAt = fields.map(() => {
    const at = end;
    end += n * 12;
    return at;
  });
  end = Math.ceil(end / 8) * 8;
  const copies = columnsOf.map((cols, f) =>
    cols.map((col) => {
      if (!col) return null;
      const lo = Math.max(col.startIdx, start - (deepest[f] as number));
      const hi = Math.min(col.startIdx + col.values.length - 1, lastDay);
      if (hi < lo) return null;
      const at = end;
      end += (hi - lo + 1) * 8;
      return { at, lo, values: col.values.subarray(lo - col.startIdx, hi - col.startIdx + 1), last: col.startIdx + col.values.length - 1 };
    }),
  );
  if (memory.buffer.byteLength < end) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  const heap = new Float64Array(memory.buffer);
  const words = new Int32Array(memory.buffer);
  const slot = (k: number): Float64Array => heap.subarray(k * width, (k + 1) * width);
  const at = (k: number): number => k * width * 8;
  for (const c of plan.constants) slot(c.slot).fill(c.value);
  words.set(rowsAll.subarray(0, n * len), rowsAt / 4);
  copies.forEach((cols, f) =>
    cols.forEach((copy, i) => {
      const w = (tableAt[f] as number) / 4 + 3 * i;
      if (copy) heap.set(copy.values, copy.at / 8);
      words[w] = copy ? copy.at : 0;
      words[w + 1] = copy ? copy.lo : 0x7fffffff; // no value: every day fails lo <= day - shift
      words[w + 2] = copy ? copy.last : -1;
    }),
  );
  const fieldOf = plan.leaves.map((l) => fields.indexOf(l.field));
  for (let t0 = 0; t0 < len; t0 += CHUNK_DAYS) {
    const t1 = Math.min(len, t0 + CHUNK_DAYS);
    const r0 = firstRowOfDay[t0] as number;
    const rows = (firstRowOfDay[t1] as number) - r0;
    if (rows === 0) continue;
    plan.leaves.forEach((leaf, k) => fns.gather(tableAt[fieldOf[k] as number] as number, n, rowsAt, len, start, t0, t1, leaf.shift, at(k), r0));
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'kernel':
          if (step.kernel === 'abs' || step.kernel === 'fround') fns[step.kernel](at(step.a), at(step.out), width);
          else fns[step.kernel](at(step.a), at(step.b), at(step.out), width);
          break;
        case 'sign': {
          const x = slot(step.a);
          const o = slot(step.out);
          for (let k = 0; k < rows; k++) o[k] = x[k] !== x[k] ? NaN : Math.sign(x[k] as number) + 0;
          break;
        }
        case 'log': {
          const x = slot(step.a);
          const o = slot(step.out);
          if (step.f32) for (let k = 0; k < rows; k++) o[k] = npLogf(x[k] as number);
          else for (let k = 0; k < rows; k++) o[k] = Math.log(x[k] as number);
          break;
        }
        case 'write': {
          const dst = job.values[step.column] as Float64Array;
          const x = heap.subarray(step.a * width, step.a * width + rows);
          // The handler's final float32 cast (as copyAligned) for float64 results.
          if (step.round) for (let k = 0; k < rows; k++) dst[r0 + k] = Math.fround(x[k] as number);
          else dst.set(x, r0);
          break;
        }
      }
    }
  }
}

function storedOrNull(job: PointwiseFill, instrument: string, field: string): StoredSeries | null {
  try {
    return job.stored(instrument, field);
  } catch (e) {
    // A field no instrument has (allowed missing, e.g. $vwap on Yahoo data) reads as NaN, as in the engine.
    if ((e as { code?: string }).code === 'UNKNOWN_FIELD') return null;
    throw e;
  }
}

/**
 * `QTASK_POINTWISE=0` turns the panel-order path off (every column per instrument), for comparing
 * the two; the results are the same either way. Default: on.
 */
export function pointwiseEnabled(): boolean {
  return process.env['QTASK_POINTWISE'] !== '0';
}
