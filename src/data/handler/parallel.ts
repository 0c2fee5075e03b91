/**
 * Evaluating a handler's columns on several threads. Instruments are split into blocks of
 * `SCATTER_BLOCK`. With a `LayoutPlan` (what `assemblePanel` passes) a fetch runs in three steps:
 * this thread and `threads - 1` worker threads claim blocks from a shared counter and read their
 * instruments' stored columns (recording where the data starts and ends); this thread lays out the
 * rows from those extents and allocates the panel while the workers fault its pages in; then every
 * thread computes the blocks whose columns it read (its provider has them) and steals the others'
 * from the end, into a buffer of its own; the thread that commits a block first (compare-and-set)
 * writes its rows into panel columns backed by SharedArrayBuffers (blocks own disjoint rows), so
 * this thread, once nothing is left to claim, computes blocks other threads are still on as
 * backups (`stragglerBlock`). `fetch()` is synchronous, so this thread works too and then blocks
 * (Atomics.wait) until every block is written. A worker that fails (cannot start, throws) hands its
 * block back through the control array and this thread does it; results never depend on who
 * computed a block. A worker that dies without throwing (out of memory, process.exit) is noticed
 * by a watcher thread and ends the fetch with `DataWorkerDiedError` (see `WATCHER_BOOT`). Workers
 * load a prebuilt JavaScript bundle (workerBundle.ts) and stay pooled between fetches (`pool`).
 *
 * Pointwise columns (`ParallelJob.pointwise`, pointwise.ts) add units of days after the instrument
 * blocks, claimed, committed and written the same way (a "block" below is either): while reading
 * extents each thread copies the instruments' leaf columns into the fetch's shared WebAssembly
 * memory, this thread copies the row maps there once laid out, and each unit is computed into the
 * claiming thread's own staging area before its commit.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { QtaskError } from '../../errors.ts';
import { createSeriesEvaluator, type SeriesEvaluator } from '../expr/evaluate.ts';
import type { LocalProvider } from '../provider/localProvider.ts';
import type { SharedColumns } from '../provider/sharedColumns.ts';
import type { FieldSource } from '../types.ts';
import { BlockScatter, dataExtent, evaluateBlock, SCATTER_BLOCK } from './assemble.ts';
import { copyInstrument, copyRows, pointwiseMemory, PointwiseRunner, releasePointwiseMemory, type PointwiseMemoryLayout, type PointwisePlan } from './pointwise.ts';
import { workerEntry, type WorkerEntry } from './workerBundle.ts';

/** Control array slots (Int32). */
/** Blocks written into the panel. DONE and DEAD are exported for parallelWorker.ts's test-only `stall`. */
export const DONE = 1;
const FAILED_BLOCK = 2; // a block a failed worker handed back, or -1
export const DEAD = 3; // 1 + index of a worker that stopped without finishing, or 0
/** Test-only: how many faulty workers (`faultsForTests`) have struck. */
export const FAULT_CLAIMS = 4;
const EXTENT_NEXT = 5; // next block whose stored extents to read
const EXTENT_DONE = 6; // blocks whose extents are known
const FAILED_EXTENTS = 7; // an extents block a failed worker handed back, or -1
const READY = 8; // 0 until the panel is allocated; 2 once its buffers were sent (rows still being filled); 1 once computing may start; -1 when laying out failed
const TOUCH_NEXT = 9; // next page-touching chunk of the columns (see `touchColumns`)
const TOUCH_DONE = 10; // page-touching chunks done
const FLUSHES = 11; // blocks whose rows a thread began writing (a block written twice counts twice)
const BACKUPS = 12; // other threads' blocks the main thread began computing as backups
const DROPPED = 13; // blocks a thread stopped computing because another committed them first
const STATUS = 14; // STATUS + i: 1 once worker i stopped claiming blocks of its own accord

/**
 * A worker thread ended before finishing its share of the blocks without throwing a JavaScript
 * error (its isolate ran out of memory, it called process.exit, or it was killed). Code
 * `DATA_WORKER_DIED`. The panel is not returned; no worker thread of the fetch keeps running.
 */
export class DataWorkerDiedError extends QtaskError {
  constructor(worker: number, workers: number) {
    super('DATA_WORKER_DIED', `data worker thread ${worker + 1} of ${workers} died before finishing its instrument blocks (out of memory, process.exit or killed); the panel was not built`, {
      hint: 'rerun with QTASK_DATA_THREADS=1 (or threads: 1) to compute on the main thread only, or give Node more heap (NODE_OPTIONS=--max-old-space-size=<MB>, which worker threads follow)',
    });
  }
}

/**
 * Work below this many cells (columns × panel rows) stays on one thread. Measured 26 Nov 06:12–06:18
 * (2 cores, load 1.4–2.2, fresh process per fetch, 1 vs 2 threads interleaved, medians): first
 * fetch 3M cells 0.39 vs 0.46 s (two threads slower), 6M 0.61 vs 0.56 s, 12M (first 20 Alpha158
 * features) 0.75 vs 0.73 s, 24M 1.40 vs 1.06 s; a second fetch in the process (pooled, JIT-warm
 * worker) 3M 0.26 vs 0.23 s, 6M 0.41 vs 0.33 s, 12M 0.55 vs 0.41 s, 24M 1.23 vs 0.62 s. So two
 * threads pay from ~6–12M cells on; 8M sits between the last loss and the first non-loss.
 */
export const PARALLEL_MIN_CELLS = 8_000_000;

/**
 * `QTASK_DATA_THREADS` if set, else the machine's parallelism (at most 4) for jobs of at least
 * `PARALLEL_MIN_CELLS` cells and 1 below that. On an idle 2-core machine two threads halve Alpha158
 * over the 482-stock data (8.3 s → 4.1 s, bit-identical panel); on a machine whose cores are already
 * busy they gain nothing (measured 18.8/22.8 s vs 17.7/21.4 s at load 12), so set
 * `QTASK_DATA_THREADS=1` where other jobs share the cores. Capped at the machine's parallelism.
 */
export function defaultThreads(cells = Infinity): number {
  const env = Number(process.env['QTASK_DATA_THREADS']);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, availableParallelism());
  return cells >= PARALLEL_MIN_CELLS ? Math.min(4, availableParallelism()) : 1;
}

/** Where each instrument's values go in the panel. */
export interface PanelLayout {
  /** Per instrument (in `ParallelJob.instruments` order): panel row of each day of `[start, end]`, or -1. */
  rowOf: readonly Int32Array[];
  /** Panel rows. */
  rows: number;
  /** Per instrument: 1 when it has at least one row (the others are not evaluated). Default: all. */
  live?: Uint8Array;
}

/**
 * Rows decided by the instruments' stored data: the threads first read each instrument's columns of
 * `fields` (keeping them, for evaluating the same instruments next) and record where the data starts
 * and ends; then this thread calls `build` with those extents and the panel is computed.
 */
export interface LayoutPlan {
  fields: readonly string[];
  /**
   * `extentOf(i)`: first and last calendar index with data in any of `fields`, or null. Returns the
   * row count, the live instruments, `fill`, which writes every instrument's row map (`len`
   * entries each, instrument-major, -1 where no row) into the shared buffer: called once the
   * panel is allocated, while the workers fault its pages in (the rows' labels are the caller's:
   * assemblePanel makes them when first read).
   */
  build(extentOf: (instrument: number) => readonly [number, number] | null): { rows: number; live: Uint8Array; fill(rowsAll: Int32Array): void };
}

export interface ParallelJob {
  source: LocalProvider;
  exprs: readonly string[];
  /**
   * The columns computed instrument block by instrument block (indexes into `exprs`); the others
   * must be `pointwise`. Every column is allocated and faulted in. Default: all.
   */
  roots?: readonly number[];
  /**
   * The columns not in `roots`, computed in panel order (pointwise.ts): after the instrument
   * blocks come `layout.units` units of days that any thread claims, as blocks are. Needs a
   * `LayoutPlan` (the threads copy the columns they read for it). Default: none.
   */
  pointwise?: { plan: PointwisePlan; layout: PointwiseMemoryLayout };
  /** Instruments in panel order; blocks are runs of `SCATTER_BLOCK` consecutive ones. */
  instruments: readonly string[];
  /** The rows, or how to decide them from the stored data. */
  layout: PanelLayout | LayoutPlan;
  start: number;
  end: number;
  threads: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Heap limits of each worker thread. Default: none (Node's defaults, which follow
   * `--max-old-space-size`). Workers with limits are started for this fetch only, not pooled.
   */
  workerResourceLimits?: ResourceLimits;
  /**
   * Test-only (assemblePanel never sets it, so no handler or task config reaches it): worker `i`
   * misbehaves as `faultsForTests[i]` says (see `WorkerFault` for when each strikes), and this
   * thread waits (up to 2 minutes) until every faulty worker has struck before doing any block, so
   * the fault strikes while the worker holds work. Default: none.
   */
  faultsForTests?: readonly (WorkerFault | null)[];
  /** Test-only: filled when the fetch succeeds, once its workers ended their jobs (or were stopped). */
  statsForTests?: ParallelStats;
}

/** What happened in a fetch's computing step (`ParallelJob.statsForTests`). */
export interface ParallelStats {
  /** Blocks whose rows a thread began writing into the panel: the block count unless a writer failed halfway. */
  flushes: number;
  /** Other threads' blocks the main thread computed as backups. */
  backups: number;
  /** Blocks a thread stopped computing because another thread had committed them. */
  dropped: number;
  /** Workers that had not ended their job shortly after the panel was done, and were stopped. */
  stopped: number;
}

/**
 * Test-only worker misbehaviour. In the extents step every fault but `stall` and `hang` strikes
 * at the worker's first claim. In the computing step: `throw` throws at its first claim of a block
 * (before committing it: the block is handed back and computed here); `stall` waits there until
 * the fetch is done (every block written) and then goes on computing that block, as a descheduled
 * thread would; `hang` loops forever there. `exit` (process.exit(0)), `oom` (fills the heap),
 * `spin` (loops forever) and `throw-writing` (throws) strike once it has committed its first
 * block, holding the sole right to write its rows. `stall` and `hang` are for layouts known up
 * front: with a plan this thread would wait for them before reading any extents, and so never lay
 * out the rows they wait for (until the 2-minute fault deadline).
 */
export type WorkerFault = 'exit' | 'oom' | 'spin' | 'throw' | 'throw-writing' | 'stall' | 'hang' | PointwiseFault;

/**
 * Test-only: `throw`, `exit` and `stall` striking at the worker's first pointwise unit (past the
 * instrument blocks) instead of its first block; this thread waits for them once the rows are laid
 * out (they cannot strike earlier), before it computes anything.
 */
export type PointwiseFault = 'throw-pointwise' | 'exit-pointwise' | 'stall-pointwise';

/** When a worker's test fault may strike: claiming extents, claiming a block to compute, after committing it. */
export type FaultMoment = 'extents' | 'claim' | 'commit';

/** A worker's test hook, called at each `FaultMoment` with the block concerned. */
type FaultHook = (block: number, moment: FaultMoment) => void;

/** The shared buffers of a laid-out panel, as sent to workers. */
interface SharedLayout {
  rowsShared: SharedArrayBuffer;
  columns: SharedArrayBuffer[];
  live: Uint8Array;
}

/** What a worker needs to reopen the data and write its blocks (all buffers shared). */
export interface WorkerJob {
  root: string;
  freq: string;
  /** The main thread's `LocalProvider.cacheId`: a worker reuses its provider (and the columns it read) while this is unchanged. */
  cacheId: string;
  exprs: readonly string[];
  /** See `ParallelJob.roots`. */
  roots?: readonly number[];
  /** See `ParallelJob.pointwise`; `memory` holds the copied columns, row maps and each thread's slots. */
  pointwise?: { plan: PointwisePlan; layout: PointwiseMemoryLayout; memory: WebAssembly.Memory };
  instruments: readonly string[];
  start: number;
  end: number;
  control: SharedArrayBuffer;
  /** Int32 × 3 per block: the thread that read its extents (1 = this thread, 2 + i = worker i); 1 once claimed for computing; its commit state (UNCOMMITTED …). */
  blocks: SharedArrayBuffer;
  /** The layout when known up front; else `plan`, with the port the layout arrives on (READY 2). */
  layout?: SharedLayout;
  plan?: { fields: readonly string[]; extents: SharedArrayBuffer; port: MessagePort };
  /** See `ParallelJob.faultsForTests`. */
  faults?: readonly (WorkerFault | null)[];
  /** The main thread's cached columns (`LocalProvider.sharedColumns`), adopted by the worker's provider. */
  columns?: SharedColumns;
}

/** Blocks of a job: runs of `SCATTER_BLOCK` consecutive instruments, the last one possibly shorter. */
export function blockCount(job: { instruments: readonly unknown[] }): number {
  return Math.ceil(job.instruments.length / SCATTER_BLOCK);
}

/** Units of a job: its instrument blocks, then its pointwise units (units of days). */
export function unitCount(job: WorkerJob): number {
  return blockCount(job) + (job.pointwise?.layout.units ?? 0);
}

/** Extent slots: `[first, last]` per instrument, `NO_EXTENT` when it has no stored data. */
const NO_EXTENT = -1;

/**
 * Reads the stored extents of `fields` for blocks claimed from EXTENT_NEXT until none is left,
 * marking each block as read by `me`. A block whose reading throws on a worker is handed back
 * (FAILED_EXTENTS) for the main thread, which reads it again and so reports the error itself.
 */
function readExtents(job: WorkerJob, fields: readonly string[], extents: Int32Array, source: FieldSource, me: number, onClaim: FaultHook): void {
  const control = new Int32Array(job.control);
  const blocks = new Int32Array(job.blocks);
  const nBlocks = blockCount(job);
  for (;;) {
    if (Atomics.load(control, DEAD) !== 0) return;
    const b = Atomics.add(control, EXTENT_NEXT, 1);
    if (b >= nBlocks) return;
    try {
      onClaim(b, 'extents');
      extentsOfBlock(job, fields, extents, source, b);
    } catch (err) {
      // On the main thread the error ends the fetch (nobody else would take the block back).
      if (me === 1) throw err;
      while (Atomics.compareExchange(control, FAILED_EXTENTS, -1, b) !== -1) Atomics.wait(control, FAILED_EXTENTS, Atomics.load(control, FAILED_EXTENTS), 50);
      Atomics.notify(control, EXTENT_DONE);
      throw err;
    }
    Atomics.store(blocks, b, me);
    Atomics.add(control, EXTENT_DONE, 1);
    Atomics.notify(control, EXTENT_DONE);
  }
}

function extentsOfBlock(job: WorkerJob, fields: readonly string[], extents: Int32Array, source: FieldSource, b: number): void {
  const to = Math.min(job.instruments.length, (b + 1) * SCATTER_BLOCK);
  for (let k = b * SCATTER_BLOCK; k < to; k++) {
    const ext = dataExtent(source, job.instruments[k] as string, fields, job.start, job.end);
    extents[2 * k] = ext ? ext[0] : NO_EXTENT;
    extents[2 * k + 1] = ext ? ext[1] : NO_EXTENT;
    // The pointwise leaves' columns were just read: into the shared WebAssembly memory with them.
    const pw = job.pointwise;
    if (pw) copyInstrument(pw.layout, pw.memory, k, job.instruments[k] as string, (i, f) => (source as LocalProvider).stored(i, f));
  }
}

/**
 * The next block to compute: first the blocks whose extents this thread read (their columns are
 * in its provider's cache), in order; then any other, from the end, so a thread that runs out
 * takes work its owner would reach last. Claims are compare-and-set: each block is computed once.
 */
function claimBlock(blocks: Int32Array, units: number, me: number, cursor: { own: number; other: number }): number {
  for (; cursor.own < units; cursor.own++) {
    const b = cursor.own;
    if (Atomics.load(blocks, b) === me && Atomics.compareExchange(blocks, units + b, 0, 1) === 0) {
      cursor.own++;
      return b;
    }
  }
  for (; cursor.other >= 0; cursor.other--) {
    const b = cursor.other;
    if (Atomics.compareExchange(blocks, units + b, 0, 1) === 0) {
      cursor.other--;
      return b;
    }
  }
  return -1;
}

/**
 * Evaluator and scatter of one thread over a laid-out panel; with pointwise columns also its
 * `PointwiseRunner` (slots and staging of its own in the shared memory) and the panel's columns.
 */
function panelWriter(job: WorkerJob, layout: SharedLayout, source: FieldSource, me: number): { evaluator: SeriesEvaluator; scatter: BlockScatter; live: Uint8Array; pointwise: { runner: PointwiseRunner; columns: Float64Array[] } | null } {
  const len = job.end - job.start + 1;
  const rowsAll = new Int32Array(layout.rowsShared);
  const rowOf = job.instruments.map((_, k) => rowsAll.subarray(k * len, (k + 1) * len));
  const values = (job.roots ?? job.exprs.map((_, k) => k)).map((k) => new Float64Array(layout.columns[k] as SharedArrayBuffer));
  // Evaluated for live instruments only, as the one-thread path (whose field check sees those).
  const liveNames = job.instruments.filter((_, k) => layout.live[k] === 1);
  const evaluator = createSeriesEvaluator(job.exprs, liveNames.length > 0 ? liveNames : job.instruments, job.start, job.end, source, {}, job.roots);
  const pw = job.pointwise;
  // Thread regions: the main thread (me 1) uses 0, worker i (me 2 + i) uses i + 1.
  const pointwise = pw ? { runner: new PointwiseRunner(pw.plan, pw.layout, pw.memory, me - 1), columns: layout.columns.map((c) => new Float64Array(c)) } : null;
  return { evaluator, scatter: new BlockScatter(values, rowOf, len, job.start), live: layout.live, pointwise };
}

/**
 * Third run of the block table: whose results a block's panel rows hold. A block is evaluated into
 * a thread's own buffer first; the thread that finishes first moves it UNCOMMITTED → FLUSHING
 * (compare-and-set) and alone writes the rows; the other drops its copy. FLUSH_FAILED: the writer
 * threw while writing, so the block must be computed and written again.
 */
const UNCOMMITTED = 0;
const FLUSHING = 1;
const FLUSHED = 2;
const FLUSH_FAILED = 3;

/**
 * A block claimed by another thread that no thread has committed yet, or -1. The main thread
 * computes such a block as a backup once nothing is left to claim: a worker that booted late,
 * runs cold code or shares its core with other work would otherwise keep it waiting for that
 * block (seen: the main thread idle for ~100 ms at the end of a first fetch).
 */
function stragglerBlock(blocks: Int32Array, units: number): number {
  for (let b = 0; b < units; b++) {
    if (Atomics.load(blocks, units + b) === 1 && Atomics.load(blocks, 2 * units + b) === UNCOMMITTED) return b;
  }
  return -1;
}

/**
 * Evaluates block `b` and, if no other thread committed it first, writes it into the panel and
 * counts it DONE. Returns whether this thread wrote it. `force`: the block is this thread's to
 * write whatever its commit state (it was handed back after its writer failed). When computing
 * throws, a worker (`handBack`) hands the block back (FAILED_BLOCK) for the main thread; the error
 * is rethrown either way (on the main thread it ends the fetch, as on one thread).
 */
function runBlock(job: WorkerJob, writer: ReturnType<typeof panelWriter>, b: number, onClaim: FaultHook, handBack: boolean, force = false): boolean {
  const control = new Int32Array(job.control);
  const blocks = new Int32Array(job.blocks);
  const n = job.instruments.length;
  const nBlocks = blockCount(job);
  const commit = 2 * unitCount(job) + b;
  const taken = (): boolean => !force && Atomics.load(blocks, commit) !== UNCOMMITTED;
  // Units past the instrument blocks are pointwise units of days (staged by the runner).
  const pointwise = b >= nBlocks ? writer.pointwise : null;
  if (b >= nBlocks && !pointwise) throw new Error(`internal: unit ${b} without pointwise columns`);
  let writing = false;
  try {
    onClaim(b, 'claim');
    let complete = true;
    if (pointwise) pointwise.runner.compute(b - nBlocks);
    else complete = evaluateBlock(writer.evaluator, job.instruments, writer.scatter, b * SCATTER_BLOCK, Math.min(n, (b + 1) * SCATTER_BLOCK), writer.live, taken);
    if (force) Atomics.store(blocks, commit, FLUSHING);
    else if (!complete || Atomics.compareExchange(blocks, commit, UNCOMMITTED, FLUSHING) !== UNCOMMITTED) {
      writer.scatter.discard();
      Atomics.add(control, DROPPED, 1);
      return false;
    }
    writing = true;
    onClaim(b, 'commit');
    Atomics.add(control, FLUSHES, 1);
    if (pointwise) pointwise.runner.flush(b - nBlocks, pointwise.columns);
    else writer.scatter.flush();
    Atomics.store(blocks, commit, FLUSHED);
  } catch (err) {
    writer.scatter.discard();
    if (!handBack) throw err;
    // Rows half written: whoever takes the block back must write it again.
    if (writing) Atomics.store(blocks, commit, FLUSH_FAILED);
    // Hand the block back (one slot: wait while another thread's handed-back block is pending).
    while (Atomics.compareExchange(control, FAILED_BLOCK, -1, b) !== -1) Atomics.wait(control, FAILED_BLOCK, Atomics.load(control, FAILED_BLOCK), 50);
    Atomics.notify(control, DONE);
    throw err;
  }
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
  return true;
}

/**
 * Claims and computes blocks until none is left. The main thread (`me` 1) then also computes
 * other threads' uncommitted blocks (`stragglerBlock`) until none is left.
 */
function computeBlocks(job: WorkerJob, writer: ReturnType<typeof panelWriter>, me: number, onClaim: FaultHook, onBlock?: () => void): void {
  const control = new Int32Array(job.control);
  const blocks = new Int32Array(job.blocks);
  const units = unitCount(job);
  const cursor = { own: 0, other: units - 1 };
  for (;;) {
    if (Atomics.load(control, DEAD) !== 0) return; // the fetch is failing: stop early
    let b = claimBlock(blocks, units, me, cursor);
    if (b < 0 && me === 1) {
      b = stragglerBlock(blocks, units);
      if (b >= 0) Atomics.add(control, BACKUPS, 1);
    }
    if (b < 0) return;
    if (runBlock(job, writer, b, onClaim, me !== 1)) onBlock?.();
  }
}

/**
 * A block a worker handed back: computed here unless another thread has committed it meanwhile
 * (a backup), or always when its writer failed halfway.
 */
function redoBlock(job: WorkerJob, writer: ReturnType<typeof panelWriter>, b: number): boolean {
  const blocks = new Int32Array(job.blocks);
  const state = Atomics.load(blocks, 2 * unitCount(job) + b);
  if (state === FLUSH_FAILED) return runBlock(job, writer, b, ignore, false, true);
  if (state !== UNCOMMITTED) return false;
  return runBlock(job, writer, b, ignore, false);
}

/** Waits until READY is `at least` (2: buffers sent; 1: compute); false when the fetch is failing. */
function waitReady(control: Int32Array, wanted: 1 | 2): boolean {
  for (;;) {
    const ready = Atomics.load(control, READY);
    if (ready === -1 || Atomics.load(control, DEAD) !== 0) return false;
    if (ready === 1 || ready === wanted) return true;
    Atomics.wait(control, READY, ready, 50);
  }
}

/** Bytes of panel memory per page-touching chunk (see `touchColumns`). */
const TOUCH_CHUNK_BYTES = 1 << 20;

/**
 * Faults the panel's fresh pages in while the main thread fills the row maps. Each block writes a
 * run of rows on every date, so a thread's first block touched every page of every column: the
 * first-touch faults (~50 ms for 95 MB here) landed in each thread's first block, on the critical
 * path. Threads claim 1 MB chunks from a shared counter; the writes are zeros over zeros, and
 * computing starts only once every chunk is done (READY 1), so none can overwrite a result.
 */
function touchColumns(columns: readonly SharedArrayBuffer[], control: Int32Array): void {
  const perColumn = touchChunksPerColumn(columns);
  const total = perColumn * columns.length;
  for (;;) {
    const k = Atomics.add(control, TOUCH_NEXT, 1);
    if (k >= total) return;
    const words = new Float64Array(columns[Math.floor(k / perColumn)] as SharedArrayBuffer);
    const from = (k % perColumn) * (TOUCH_CHUNK_BYTES >> 3);
    const to = Math.min(words.length, from + (TOUCH_CHUNK_BYTES >> 3));
    for (let i = from; i < to; i += 512) words[i] = 0;
    Atomics.add(control, TOUCH_DONE, 1);
    Atomics.notify(control, TOUCH_DONE);
  }
}

/**
 * The columns instrument blocks write (`roots`): only they are faulted in up front. Pointwise
 * units write a contiguous run of rows each, so their pages are faulted by the unit that writes
 * them, spread over the threads like the units (in a first fetch the worker starts late, and this
 * thread had been faulting most of the panel alone).
 */
function blockColumns(job: WorkerJob, layout: SharedLayout): SharedArrayBuffer[] {
  return job.roots ? job.roots.map((k) => layout.columns[k] as SharedArrayBuffer) : layout.columns;
}

function touchChunksPerColumn(columns: readonly SharedArrayBuffer[]): number {
  return columns.length ? Math.ceil((columns[0] as SharedArrayBuffer).byteLength / TOUCH_CHUNK_BYTES) : 0;
}

/**
 * A worker's share of a fetch: extents (when the layout is a plan), then, once this thread has
 * laid out the rows and sent them, blocks to compute. Returns normally (also when the fetch is
 * failing) or throws after handing its block back.
 */
export function workBlocks(job: WorkerJob, source: FieldSource, me: number, onClaim: FaultHook = ignore): void {
  let layout = job.layout;
  if (job.plan) {
    readExtents(job, job.plan.fields, new Int32Array(job.plan.extents), source, me, onClaim);
    const control = new Int32Array(job.control);
    if (!waitReady(control, 2)) return;
    // Sent before READY was set, so it is queued on the port by now.
    layout = (receiveMessageOnPort(job.plan.port)?.message as SharedLayout | undefined) ?? undefined;
    job.plan.port.close();
    if (!layout) throw new Error('internal: no layout message after READY');
    touchColumns(blockColumns(job, layout), control);
    if (!waitReady(control, 1)) return;
  }
  computeBlocks(job, panelWriter(job, layout as SharedLayout, source, me), me, onClaim);
}

// A worker loads its entry once (normally the prebuilt JavaScript bundle, workerBundle.ts; on the
// fallback TypeScript, registering tsx itself since the parent may have registered it through the
// API, bin/qtask.js, rather than `--import tsx`, which workers would inherit) and then computes one
// job per message, so a pooled worker serves later fetches without starting again. Each job
// carries the worker's end of that fetch's watcher channel; closing it after marking STATUS is
// the clean end the watcher expects.
const WORKER_BOOT = `
const { workerData, parentPort } = require('node:worker_threads');
const loaded = (async () => {
  if (workerData.tsx !== null) {
    const { register } = await import(workerData.tsx);
    register();
  }
  return import(workerData.entry);
})();
loaded.catch(() => {});
parentPort.on('message', async ({ job, index, alive }) => {
  const control = new Int32Array(job.control);
  try {
    const m = await loaded;
    m.workerMain(job, index);
  } catch {
    // a block this worker claimed was handed back in workBlocks; the main thread does the rest
    Atomics.notify(control, ${DONE});
  }
  Atomics.store(control, ${STATUS} + index, 1);
  Atomics.notify(control, ${STATUS} + index);
  alive.close();
});
`;

/**
 * Workers kept alive between fetches of this thread (unref'd: they never keep the process alive),
 * so a second fetch pays no start-up and runs JIT-warm code. A worker leaves the pool when it exits
 * (its 'exit' event arrives between fetches) and the whole pool is terminated when a fetch fails.
 * A worker that dies between its 'exit' being queued and the next fetch is reported by the watcher
 * as DATA_WORKER_DIED, as a death during a fetch is.
 */
const pool: Worker[] = [];

function dropFromPool(w: Worker): void {
  const at = pool.indexOf(w);
  if (at >= 0) pool.splice(at, 1);
}

/** Test-only: the pooled worker threads (none until a parallel fetch ran). */
export function pooledWorkersForTests(): readonly Worker[] {
  return pool;
}

/** Worker and watcher threads started and not yet exited ('exit' arrives on this thread's event loop). */
const running = new Set<Worker>();

/** Test-only: how many worker and watcher threads are running (pooled ones included). */
export function runningThreadsForTests(): number {
  return running.size;
}

function track(w: Worker): void {
  running.add(w);
  w.on('exit', () => running.delete(w));
}

function startWorker(entry: WorkerEntry, limits: ResourceLimits | undefined): Worker {
  const w = new Worker(WORKER_BOOT, {
    eval: true,
    workerData: { tsx: entry.bundled ? null : import.meta.resolve('tsx/esm/api'), entry: entry.url },
    stderr: false,
    ...(limits ? { resourceLimits: limits } : {}),
  });
  w.unref();
  // Arrives after this thread returns (e.g. ERR_WORKER_OUT_OF_MEMORY); the death is already
  // reported as DataWorkerDiedError, and an unhandled 'error' event would crash the process.
  w.on('error', ignore);
  w.on('exit', () => dropFromPool(w));
  track(w);
  return w;
}

/**
 * Why a watcher thread: this thread blocks in Atomics.wait while workers compute, so a Worker's
 * 'exit' event (delivered by this thread's event loop) never arrives; a word a dying worker writes
 * on its way out is never written when V8 stops an isolate for running out of memory or
 * process.exit ends it, since no more JavaScript runs there; and a heartbeat timeout cannot tell a
 * dead worker from a long block on a loaded machine. But when a worker thread ends, for whatever
 * reason, Node closes the MessagePorts it holds while tearing it down, and the other end gets
 * 'close'. So each worker holds one end of a channel (sent with its job) and this idle thread, whose
 * event loop is free, holds the others: a 'close' from a worker that has not marked a clean end
 * (STATUS) sets DEAD and wakes the waiting thread at once. The watcher runs no task code and
 * allocates next to nothing, so it does not die of what kills workers; if it cannot start, no
 * worker is started.
 */
const WATCHER_BOOT = `
const { workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
workerData.ports.forEach((port, i) => {
  port.on('message', () => {}); // keeps this thread alive while the channel is open
  port.on('close', () => {
    if (Atomics.load(control, ${STATUS} + i) === 1) return;
    Atomics.compareExchange(control, ${DEAD}, 0, i + 1);
    Atomics.notify(control, ${DONE});
  });
});
`;

function ignore(): void {}

/** Starts the watcher over one channel per worker; null (and the channels closed) if it cannot start. */
function startWatcher(control: SharedArrayBuffer, workers: number): { watcher: Worker; ports: MessagePort[] } | null {
  const channels = Array.from({ length: workers }, () => new MessageChannel());
  try {
    const ports = channels.map((c) => c.port2);
    const watcher = new Worker(WATCHER_BOOT, { eval: true, workerData: { control, ports }, transferList: ports, stderr: false });
    watcher.unref();
    watcher.on('error', ignore);
    track(watcher);
    return { watcher, ports: channels.map((c) => c.port1) };
  } catch {
    for (const c of channels) {
      c.port1.close();
      c.port2.close();
    }
    return null;
  }
}

/**
 * How long a successful fetch waits for its workers to end their jobs (see `settleWorkers`). A
 * worker that lost a block to a backup stops after its current instrument: ~1 ms for the first 20
 * Alpha158 features, ~15 ms for all of Alpha158 warm, a few times that on cold code; a worker
 * still busy after this is treated as stuck and stopped (a later fetch starts a fresh one).
 */
const WORKER_SETTLE_MS = 250;

/** Waits up to `ms` for the workers to mark STATUS; returns the numbers of those that did. */
function settleWorkers(ctl: Int32Array, workers: readonly { i: number }[], ms: number): number[] {
  const until = performance.now() + ms;
  for (const { i } of workers) {
    for (let left = until - performance.now(); Atomics.load(ctl, STATUS + i) !== 1 && left > 0; left = until - performance.now()) Atomics.wait(ctl, STATUS + i, 0, left);
  }
  return workers.filter(({ i }) => Atomics.load(ctl, STATUS + i) === 1).map(({ i }) => i);
}

/** Shared buffers for a panel of `rows` rows: row maps of `n` instruments × `len` days (zeroed) and `ncol` zeroed columns. */
function allocateLayout(n: number, len: number, ncol: number, rows: number, live: Uint8Array): SharedLayout {
  return { rowsShared: new SharedArrayBuffer(n * len * 4), columns: Array.from({ length: ncol }, () => new SharedArrayBuffer(rows * 8)), live };
}

/** Copies a layout known up front into shared buffers. */
function shareLayout(layout: PanelLayout, n: number, len: number, ncol: number): SharedLayout {
  const shared = allocateLayout(n, len, ncol, layout.rows, layout.live ?? new Uint8Array(n).fill(1));
  const rowsAll = new Int32Array(shared.rowsShared);
  layout.rowOf.forEach((r, k) => rowsAll.set(r, k * len));
  return shared;
}

/**
 * Computes the panel's columns on `job.threads` threads (this one included) and returns them
 * (backed by SharedArrayBuffers). With a `LayoutPlan`, the threads first read the instruments'
 * stored extents in blocks (workers keep the columns they read and compute those blocks later);
 * once all are known this thread lays out the rows while the workers fault the panel's pages in,
 * then all compute.
 */
export function runParallel(job: ParallelJob): Float64Array[] {
  const len = job.end - job.start + 1;
  const n = job.instruments.length;
  const nBlocks = blockCount(job);
  const plan = 'build' in job.layout ? job.layout : null;
  // Its columns are copied while the extents are read, so a pointwise job needs a plan.
  if (job.pointwise && !plan) throw new Error('internal: pointwise columns need a layout plan');
  const units = nBlocks + (job.pointwise?.layout.units ?? 0);
  const control = new SharedArrayBuffer(4 * (STATUS + Math.max(0, job.threads - 1)));
  const ctl = new Int32Array(control);
  ctl[FAILED_BLOCK] = -1;
  ctl[FAILED_EXTENTS] = -1;
  const blocks = new SharedArrayBuffer(12 * units);
  const blockState = new Int32Array(blocks);
  let layout: SharedLayout | null = plan ? null : shareLayout(job.layout as PanelLayout, n, len, job.exprs.length);
  const extents = plan ? new SharedArrayBuffer(8 * n) : null;
  const wjob: WorkerJob = { root: job.source.root, freq: job.source.freq, cacheId: job.source.cacheId, exprs: job.exprs, instruments: job.instruments, start: job.start, end: job.end, control, blocks };
  if (job.roots) wjob.roots = job.roots;
  const pwMemory = job.pointwise ? pointwiseMemory(job.pointwise.layout) : null;
  if (job.pointwise && pwMemory) wjob.pointwise = { ...job.pointwise, memory: pwMemory };
  wjob.columns = job.source.sharedColumns();
  if (layout) wjob.layout = layout;
  if (job.faultsForTests) wjob.faults = job.faultsForTests;
  /** Started or reused for this fetch: the worker and its number (its STATUS slot). */
  const workers: { w: Worker; i: number }[] = [];
  const layoutPorts: MessagePort[] = [];
  let faulty = 0;
  let faultyLate = 0; // pointwise faults: they strike only once the workers compute
  const watch = job.threads > 1 ? startWatcher(control, job.threads - 1) : null;
  const entry = watch ? workerEntry() : null;
  // Workers with their own heap limits are started for this fetch only (limits are fixed at start).
  const pooled = job.workerResourceLimits === undefined;
  for (const [i, alive] of (watch?.ports ?? []).entries()) {
    const channel = plan ? new MessageChannel() : null;
    try {
      let w = pooled ? pool[i] : undefined;
      if (!w) {
        w = startWorker(entry as WorkerEntry, job.workerResourceLimits);
        if (pooled) pool.push(w);
      }
      const mine: WorkerJob = channel && plan && extents ? { ...wjob, plan: { fields: plan.fields, extents, port: channel.port2 } } : wjob;
      w.postMessage({ job: mine, index: i, alive }, channel ? [alive, channel.port2] : [alive]);
      workers.push({ w, i });
      if (channel) layoutPorts.push(channel.port1);
      const fault = job.faultsForTests?.[i];
      if (fault) faulty++;
      if (fault?.endsWith('-pointwise')) faultyLate++;
    } catch {
      // no worker: this thread does its blocks; its channel closes as a clean end
      Atomics.store(ctl, STATUS + i, 1);
      alive.close();
      channel?.port1.close();
      channel?.port2.close();
    }
  }
  let ok = false;
  try {
    const faultDeadline = Date.now() + 120_000;
    const awaitFaults = (count: number): void => {
      while (Atomics.load(ctl, FAULT_CLAIMS) < count && Atomics.load(ctl, DEAD) === 0 && Date.now() < faultDeadline) Atomics.wait(ctl, FAULT_CLAIMS, Atomics.load(ctl, FAULT_CLAIMS), 100);
    };
    awaitFaults(faulty - faultyLate);
    const failIfDead = (): void => {
      const dead = Atomics.load(ctl, DEAD);
      if (dead !== 0) throw new DataWorkerDiedError(dead - 1, job.threads - 1);
    };
    if (plan && extents) {
      const ext = new Int32Array(extents);
      readExtents(wjob, plan.fields, ext, job.source, 1, ignore);
      // Wait for the workers' last blocks; read any block a failing worker handed back here.
      for (;;) {
        const done = Atomics.load(ctl, EXTENT_DONE);
        if (done >= nBlocks) break;
        failIfDead();
        const failed = Atomics.exchange(ctl, FAILED_EXTENTS, -1);
        Atomics.notify(ctl, FAILED_EXTENTS);
        if (failed >= 0) {
          extentsOfBlock(wjob, plan.fields, ext, job.source, failed);
          Atomics.store(blockState, failed, 1);
          Atomics.add(ctl, EXTENT_DONE, 1);
          continue;
        }
        Atomics.wait(ctl, EXTENT_DONE, done, 200);
      }
      const setReady = (v: number): void => {
        Atomics.store(ctl, READY, v);
        Atomics.notify(ctl, READY);
      };
      try {
        const built = plan.build((k) => (ext[2 * k] === NO_EXTENT ? null : [ext[2 * k] as number, ext[2 * k + 1] as number]));
        layout = allocateLayout(n, len, job.exprs.length, built.rows, built.live);
        for (const port of layoutPorts) port.postMessage(layout);
        setReady(2);
        const rowsAll = new Int32Array(layout.rowsShared);
        built.fill(rowsAll);
        if (wjob.pointwise) copyRows(wjob.pointwise.layout, wjob.pointwise.memory, rowsAll);
      } catch (err) {
        setReady(-1);
        throw err;
      }
      const touched = blockColumns(wjob, layout);
      touchColumns(touched, ctl);
      const chunks = touchChunksPerColumn(touched) * touched.length;
      for (let done = Atomics.load(ctl, TOUCH_DONE); done < chunks; done = Atomics.load(ctl, TOUCH_DONE)) {
        failIfDead();
        Atomics.wait(ctl, TOUCH_DONE, done, 200);
      }
      setReady(1);
    }
    const shared = layout as SharedLayout;
    // Instruments done, counting pointwise units as the share of the work they are.
    const report = (): void => job.onProgress?.(units === nBlocks ? Math.min(n, Atomics.load(ctl, DONE) * SCATTER_BLOCK) : Math.floor((Atomics.load(ctl, DONE) / units) * n), n);
    awaitFaults(faulty);
    const here = panelWriter(wjob, shared, job.source, 1);
    computeBlocks(wjob, here, 1, ignore, report);
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= units) {
        report(); // the last block may have been a worker's, which reports nothing itself
        break;
      }
      failIfDead();
      const failed = Atomics.exchange(ctl, FAILED_BLOCK, -1);
      Atomics.notify(ctl, FAILED_BLOCK);
      if (failed >= 0) {
        // A worker gave its block back: compute it here.
        if (redoBlock(wjob, here, failed)) report();
        continue;
      }
      Atomics.wait(ctl, DONE, done, 200);
    }
    ok = true;
  } finally {
    // After a failure a worker may still hold a block or spin: none outlives the fetch. After a
    // success, one may still be computing a block the main thread wrote as a backup: it drops it
    // at its next instrument; one that has not ended its job shortly after is stuck or starved
    // and is not kept (a pooled worker serves the next fetch only once its job has ended).
    const settled = ok ? settleWorkers(ctl, workers, WORKER_SETTLE_MS) : [];
    if (ok && job.statsForTests) {
      Object.assign(job.statsForTests, { flushes: Atomics.load(ctl, FLUSHES), backups: Atomics.load(ctl, BACKUPS), dropped: Atomics.load(ctl, DROPPED), stopped: workers.length - settled.length } satisfies ParallelStats);
    }
    // No thread reads the pointwise memory once every worker ended its job: the next fetch may reuse it.
    if (ok && pwMemory && settled.length === workers.length) releasePointwiseMemory(pwMemory);
    const keep = ok && pooled;
    for (const { w, i } of workers) {
      if (keep && settled.includes(i)) continue;
      dropFromPool(w);
      void w.terminate();
    }
    if (!ok) for (const w of pool.splice(0)) void w.terminate();
    void watch?.watcher.terminate();
    for (const port of layoutPorts) port.close();
  }
  return (layout as SharedLayout).columns.map((b) => new Float64Array(b));
}
