/**
 * Columns whose value on a row needs only that row's day (and fixed earlier days) of one
 * instrument, computed in the panel's own order instead of instrument by instrument.
 *
 * Why: the panel is date-major, so an instrument's column lands one row per date apart and writing
 * it is a transpose bound by page misses (see `BlockScatter`); for cheap expressions such as
 * Alpha158's `($close-$open)/$open` that write, and V8's scalar loops (~2-4 ns per element here),
 * cost more than the arithmetic needs. In panel order the leaves are gathered per chunk of days
 * (~4k rows), every operator runs as one WebAssembly SIMD loop over the chunk (two float64 lanes,
 * 0.4-0.6 ns per element; pointwiseKernels.wat) and each result column is written sequentially.
 * Alpha158's first 18 features (KMID … ROC60) and every Alpha360 feature are of this kind.
 *
 * Which expressions qualify: `$field` leaves, `Ref($field, d)` with an int `d ≥ 1`, number literals,
 * and the operators `Add Sub Mul Div Greater Less Abs Sign Log` over them. Each of these gives NaN
 * wherever an input is NaN, so a row where the per-instrument Series has no value (outside the
 * union of its inputs' ranges) and a row where an input is NaN give the same NaN: that is what makes
 * the row-wise result equal to qlib's aligned-Series result. Comparisons, `Power` (numpy's
 * `1 ** nan == 1`), `If`, `And`/`Or`/`Not` and everything windowed do not, and stay per instrument.
 * Dtypes and float32 rounding follow `applyPair`/`applyElem` (numpy's rules: float32 results are
 * rounded, scalars adopt the array's dtype); `Sign` and `Log` (numpy's float32 log, npLogf) run in
 * JavaScript over the same memory. Tests compare every cell with `Object.is` against the
 * per-instrument engine (ragged data, one and two threads, random expressions).
 *
 * Memory: one shared WebAssembly memory per fetch holds a copy of the leaves' stored columns
 * (written by whichever thread read each instrument), the row maps and each thread's slots; it is
 * kept for the next fetch (~25 MB for the first 20 Alpha158 features over 482 stocks × 5 years).
 * Work is split into units of days that any thread claims (parallel.ts), after the instrument blocks.
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

type Kernel2 = (a: number, b: number, o: number, n: number) => void;
type Kernel1 = (a: number, o: number, n: number) => void;
type KernelExports = Record<Exclude<KernelName, 'abs' | 'fround'>, Kernel2> &
  Record<'abs' | 'fround', Kernel1> & {
    gather(leaves: number, nleaves: number, n: number, rows: number, len: number, start: number, t0: number, t1: number, r0: number): void;
  };

let compiled: WebAssembly.Module | null = null;

/** The kernels over `memory` (the module is compiled once per thread; ~2 KB, synchronous). */
function instantiate(memory: WebAssembly.Memory): KernelExports {
  compiled ??= new WebAssembly.Module(Buffer.from(POINTWISE_KERNELS_WASM, 'base64'));
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as KernelExports;
}

/** Rows per computing chunk: its slots (32 KB each) stay in the core's cache. */
const CHUNK_ROWS = 4096;
/** Chunks per unit of work (what a thread claims in a parallel fetch). */
const CHUNKS_PER_UNIT = 4;
/** Above this the copies of the stored columns would not fit WebAssembly's 32-bit memory comfortably: columns go per instrument. */
const MAX_MEMORY_BYTES = 2 ** 31;

/**
 * Where everything lives in the (shared) WebAssembly memory of a fetch, decided before any column
 * is read so every thread can copy the instruments it reads straight into place:
 * - per leaf field and instrument, its stored values over `[start - deepest shift, start + len - 1]`
 *   (a fixed stride per instrument) and a table entry (address, first copied day, last stored day);
 * - the row maps (copied from the layout) and `dayRows` (first panel row of each day);
 * - per thread, the plan's slots (`chunkRows` values each), a staging area for one unit's results
 *   and the leaf table the gather kernel reads (field table, shift, slot address per leaf).
 */
export interface PointwiseMemoryLayout {
  fields: readonly string[];
  /** Per field: the largest shift a leaf reads it with. */
  deepest: readonly number[];
  n: number;
  len: number;
  start: number;
  /** Days per instrument column copy (`len` + the largest shift). */
  stride: number;
  columnsAt: number;
  tableAt: number;
  rowsAt: number;
  dayRowsAt: number;
  /** Per thread: `threadAt + k * threadBytes`. */
  threadAt: number;
  threadBytes: number;
  chunkDays: number;
  chunkRows: number;
  unitDays: number;
  units: number;
  slots: number;
  /** Pointwise columns × the most rows a unit can have. */
  stagingValues: number;
  bytes: number;
}

/** The memory layout for `threads` threads, or null when it would be too large (then no pointwise path). */
export function pointwiseMemoryLayout(plan: PointwisePlan, n: number, len: number, start: number, threads: number): PointwiseMemoryLayout | null {
  const fields = [...new Set(plan.leaves.map((l) => l.field))];
  const deepest = fields.map((f) => Math.max(...plan.leaves.filter((l) => l.field === f).map((l) => l.shift)));
  const stride = len + Math.max(0, ...deepest);
  const chunkDays = Math.max(1, Math.floor(CHUNK_ROWS / Math.max(1, n)));
  const chunkRows = chunkDays * n + ((chunkDays * n) & 1); // even: the kernels work on lane pairs
  const unitDays = chunkDays * CHUNKS_PER_UNIT;
  const stagingValues = plan.columns.length * unitDays * n;
  const columnsAt = 0;
  const tableAt = columnsAt + fields.length * n * stride * 8;
  const rowsAt = tableAt + fields.length * n * 12;
  const dayRowsAt = rowsAt + n * len * 4;
  const threadAt = Math.ceil((dayRowsAt + (len + 1) * 4) / 16) * 16;
  const threadBytes = (plan.slots * chunkRows + stagingValues) * 8 + Math.ceil((plan.leaves.length * 12) / 16) * 16;
  const bytes = threadAt + threads * threadBytes;
  if (bytes > MAX_MEMORY_BYTES) return null;
  return { fields, deepest, n, len, start, stride, columnsAt, tableAt, rowsAt, dayRowsAt, threadAt, threadBytes, chunkDays, chunkRows, unitDays, units: Math.ceil(len / unitDays), slots: plan.slots, stagingValues, bytes };
}

/** The memory of the last fetch that ended cleanly, kept for the next (see `pointwiseMemory`). */
let spare: WebAssembly.Memory | null = null;

/**
 * A shared WebAssembly memory of at least the layout's size: the previous fetch's when large
 * enough (its pages are already faulted in: ~25 MB for the first 20 Alpha158 features over 482
 * stocks, ~10 ms of page faults otherwise), else a new one. Everything a fetch reads from it is
 * written by that fetch first. Hand it back with `releasePointwiseMemory` once no thread uses it.
 */
export function pointwiseMemory(layout: PointwiseMemoryLayout): WebAssembly.Memory {
  if (spare && spare.buffer.byteLength >= layout.bytes) {
    const m = spare;
    spare = null;
    return m;
  }
  const pages = Math.max(1, Math.ceil(layout.bytes / 65536));
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Keeps `memory` for the next fetch (the larger of it and the one kept). Call only when no thread can still use it. */
export function releasePointwiseMemory(memory: WebAssembly.Memory): void {
  if (!spare || spare.buffer.byteLength < memory.buffer.byteLength) spare = memory;
}

/**
 * Copies instrument `i`'s stored leaf fields into the memory (called by the thread that read its
 * columns). An instrument without a field gets a table entry no day can satisfy: NaN.
 */
export function copyInstrument(layout: PointwiseMemoryLayout, memory: WebAssembly.Memory, i: number, instrument: string, stored: (instrument: string, field: string) => StoredSeries | null): void {
  const heap = new Float64Array(memory.buffer);
  const words = new Int32Array(memory.buffer);
  const lastDay = layout.start + layout.len - 1;
  layout.fields.forEach((field, f) => {
    const col = storedOrNull(stored, instrument, field);
    const day0 = layout.start - (layout.deepest[f] as number); // the copy's first day
    const w = layout.tableAt / 4 + 3 * (f * layout.n + i);
    const lo = col ? Math.max(col.startIdx, day0) : 0;
    const hi = col ? Math.min(col.startIdx + col.values.length - 1, lastDay) : -1;
    if (!col || hi < lo) {
      words[w] = 0;
      words[w + 1] = 0x7fffffff; // lo: no day d satisfies lo <= d - shift
      words[w + 2] = -1;
      return;
    }
    const base = layout.columnsAt + (f * layout.n + i) * layout.stride * 8;
    heap.set(col.values.subarray(lo - col.startIdx, hi - col.startIdx + 1), base / 8 + (lo - day0));
    words[w] = base + (lo - day0) * 8;
    words[w + 1] = lo;
    words[w + 2] = col.startIdx + col.values.length - 1;
  });
}

/** Copies the row maps into the memory and counts each day's first row (call once, after the layout is filled). */
export function copyRows(layout: PointwiseMemoryLayout, memory: WebAssembly.Memory, rowsAll: Int32Array): void {
  const { n, len } = layout;
  const words = new Int32Array(memory.buffer);
  words.set(rowsAll.subarray(0, n * len), layout.rowsAt / 4);
  // Rows of day t are [dayRows[t], dayRows[t+1]); counted instrument by instrument (the maps are instrument-major).
  const dayRows = words.subarray(layout.dayRowsAt / 4, layout.dayRowsAt / 4 + len + 1);
  dayRows.fill(0);
  for (let i = 0; i < n; i++) {
    for (let t = 0, base = i * len; t < len; t++) if ((rowsAll[base + t] as number) >= 0) dayRows[t + 1]++;
  }
  for (let t = 0; t < len; t++) dayRows[t + 1] += dayRows[t] as number;
}

/**
 * One thread's evaluation of pointwise units: `compute(u)` gathers and computes the rows of unit
 * `u`'s days into this thread's staging area; `flush(u, values)` copies them into the panel. The
 * two are separate so a parallel fetch can commit a unit between them (parallel.ts).
 */
export class PointwiseRunner {
  private readonly k: KernelExports;
  private readonly heap: Float64Array;
  private readonly dayRows: Int32Array;
  private readonly slotsAt: number;
  private readonly staging: Float64Array;
  /** This thread's leaf table (see the gather kernel). */
  private readonly leavesAt: number;

  constructor(
    private readonly plan: PointwisePlan,
    private readonly layout: PointwiseMemoryLayout,
    memory: WebAssembly.Memory,
    thread: number,
  ) {
    this.k = instantiate(memory);
    this.heap = new Float64Array(memory.buffer);
    this.dayRows = new Int32Array(memory.buffer, layout.dayRowsAt, layout.len + 1);
    this.slotsAt = layout.threadAt + thread * layout.threadBytes;
    const stagingAt = this.slotsAt + plan.slots * layout.chunkRows * 8;
    this.staging = new Float64Array(memory.buffer, stagingAt, layout.stagingValues);
    this.leavesAt = stagingAt + layout.stagingValues * 8;
    const words = new Int32Array(memory.buffer, this.leavesAt, plan.leaves.length * 3);
    plan.leaves.forEach((leaf, j) => {
      words[3 * j] = layout.tableAt + layout.fields.indexOf(leaf.field) * layout.n * 12;
      words[3 * j + 1] = leaf.shift;
      words[3 * j + 2] = this.slotsAt + j * layout.chunkRows * 8; // leaf j lives in slot j
    });
    // Constant slots are never written by a step: filled once for every unit of this thread.
    for (const c of plan.constants) this.heap.fill(c.value, (this.slotsAt / 8) + c.slot * layout.chunkRows, (this.slotsAt / 8) + (c.slot + 1) * layout.chunkRows);
  }

  /** Days `[t0, t1)` (offsets from the start) of unit `u`. */
  private days(u: number): [number, number] {
    const t0 = u * this.layout.unitDays;
    return [t0, Math.min(this.layout.len, t0 + this.layout.unitDays)];
  }

  compute(u: number): void {
    const { plan, layout, k, heap, dayRows } = this;
    const [u0, u1] = this.days(u);
    const unitRow0 = dayRows[u0] as number;
    const unitRows = (dayRows[u1] as number) - unitRow0;
    const at = (slot: number): number => this.slotsAt + slot * layout.chunkRows * 8;
    const view = (slot: number, m: number): Float64Array => heap.subarray(at(slot) / 8, at(slot) / 8 + m);
    for (let t0 = u0; t0 < u1; t0 += layout.chunkDays) {
      const t1 = Math.min(u1, t0 + layout.chunkDays);
      const r0 = dayRows[t0] as number;
      const rows = (dayRows[t1] as number) - r0;
      if (rows === 0) continue;
      const m = rows + (rows & 1);
      k.gather(this.leavesAt, plan.leaves.length, layout.n, layout.rowsAt, layout.len, layout.start, t0, t1, r0);
      let column = 0;
      for (const step of plan.steps) {
        switch (step.kind) {
          case 'kernel':
            if (step.kernel === 'abs' || step.kernel === 'fround') k[step.kernel](at(step.a), at(step.out), m);
            else k[step.kernel](at(step.a), at(step.b), at(step.out), m);
            break;
          case 'sign': {
            const x = view(step.a, rows);
            const o = view(step.out, rows);
            for (let r = 0; r < rows; r++) o[r] = x[r] !== x[r] ? NaN : Math.sign(x[r] as number) + 0;
            break;
          }
          case 'log': {
            const x = view(step.a, rows);
            const o = view(step.out, rows);
            if (step.f32) for (let r = 0; r < rows; r++) o[r] = npLogf(x[r] as number);
            else for (let r = 0; r < rows; r++) o[r] = Math.log(x[r] as number);
            break;
          }
          case 'write': {
            // Staged column by column: column c of the unit at c * unitRows.
            const dst = column++ * unitRows + (r0 - unitRow0);
            const x = view(step.a, rows);
            // The handler's final float32 cast (as copyAligned) for float64 results.
            if (step.round) for (let r = 0; r < rows; r++) this.staging[dst + r] = Math.fround(x[r] as number);
            else this.staging.set(x, dst);
            break;
          }
        }
      }
    }
  }

  /** Copies unit `u`'s staged results into the panel's columns. */
  flush(u: number, values: readonly Float64Array[]): void {
    const [u0, u1] = this.days(u);
    const row0 = this.dayRows[u0] as number;
    const rows = (this.dayRows[u1] as number) - row0;
    this.plan.columns.forEach((column, c) => (values[column] as Float64Array).set(this.staging.subarray(c * rows, (c + 1) * rows), row0));
  }
}

function storedOrNull(stored: (instrument: string, field: string) => StoredSeries | null, instrument: string, field: string): StoredSeries | null {
  try {
    return stored(instrument, field);
  } catch (e) {
    // A field no instrument has (allowed missing, e.g. $vwap on Yahoo data) reads as NaN, as in the engine.
    if ((e as { code?: string }).code === 'UNKNOWN_FIELD') return null;
    throw e;
  }
}

export interface PointwiseFill {
  /** Columns of the panel (all of them; only the plan's are written). */
  values: readonly Float64Array[];
  /** `rowsAll[i * len + t]`: panel row of instrument i on day `start + t`, or -1. */
  rowsAll: Int32Array;
  instruments: readonly string[];
  /** 1 where the instrument has rows. */
  live: Uint8Array;
  layout: PointwiseMemoryLayout;
  /** The stored `.bin` column (LocalProvider.stored), null when the instrument lacks the field. */
  stored(instrument: string, field: string): StoredSeries | null;
}

/** Writes the plan's columns on every row of the panel, on this thread. */
export function fillPointwise(plan: PointwisePlan, job: PointwiseFill): void {
  const memory = pointwiseMemory(job.layout);
  job.instruments.forEach((inst, i) => {
    if (job.live[i] === 1) copyInstrument(job.layout, memory, i, inst, job.stored);
    else copyInstrument(job.layout, memory, i, inst, () => null);
  });
  copyRows(job.layout, memory, job.rowsAll);
  const runner = new PointwiseRunner(plan, job.layout, memory, 0);
  for (let u = 0; u < job.layout.units; u++) {
    runner.compute(u);
    runner.flush(u, job.values);
  }
  releasePointwiseMemory(memory);
}

/**
 * `QTASK_POINTWISE=0` turns the panel-order path off (every column per instrument), for comparing
 * the two; the results are the same either way. Default: on.
 */
export function pointwiseEnabled(): boolean {
  return process.env['QTASK_POINTWISE'] !== '0';
}
