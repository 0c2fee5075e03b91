/**
 * Evaluating a handler's columns on several threads. Instruments are split into blocks of
 * `SCATTER_BLOCK`; this thread and `threads - 1` worker threads claim blocks from a shared counter
 * and write their rows straight into panel columns backed by SharedArrayBuffers (blocks own
 * disjoint rows). `fetch()` is synchronous, so this thread works too and then blocks (Atomics.wait)
 * until every claimed block is done. A worker that fails (cannot start, throws) hands its block
 * back through the control array and this thread computes it; results never depend on who
 * computed a block.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createSeriesEvaluator } from '../expr/evaluate.ts';
import type { LocalProvider } from '../provider/localProvider.ts';
import type { FieldSource } from '../types.ts';
import { BlockScatter, SCATTER_BLOCK, scatterBlock } from './assemble.ts';

/** Control array slots (Int32). */
const NEXT = 0; // next block to claim
const DONE = 1; // blocks finished
const FAILED_BLOCK = 2; // a block a failed worker handed back, or -1

/**
 * Work below this many cells (columns × panel rows) stays on one thread: starting the workers
 * (tsx included) costs ~0.3 s of wall time, more than the first 20 Alpha158 features take on one
 * thread (0.7–0.9 s for 593k rows, where two threads measured 0.96 s).
 */
export const PARALLEL_MIN_CELLS = 32_000_000;

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

export interface ParallelJob {
  source: LocalProvider;
  exprs: readonly string[];
  /** Instruments with at least one row, in panel order. */
  instruments: readonly string[];
  /** Per instrument: panel row of each day of `[start, end]`, or -1. */
  rowOf: readonly Int32Array[];
  rows: number;
  start: number;
  end: number;
  threads: number;
  onProgress?: (done: number, total: number) => void;
}

/** What a worker needs to reopen the data and write its blocks (all buffers shared). */
export interface WorkerJob {
  root: string;
  freq: string;
  exprs: readonly string[];
  instruments: readonly string[];
  start: number;
  end: number;
  rowsShared: SharedArrayBuffer;
  columns: SharedArrayBuffer[];
  control: SharedArrayBuffer;
}

/** Claims and computes blocks until none is left. Returns normally or throws with `current` set. */
export function workBlocks(job: WorkerJob, source: FieldSource, onBlock?: () => void): void {
  const len = job.end - job.start + 1;
  const control = new Int32Array(job.control);
  const rowsAll = new Int32Array(job.rowsShared);
  const rowOf = job.instruments.map((_, k) => rowsAll.subarray(k * len, (k + 1) * len));
  const values = job.columns.map((b) => new Float64Array(b));
  const nBlocks = Math.ceil(job.instruments.length / SCATTER_BLOCK);
  const evaluator = createSeriesEvaluator(job.exprs, job.instruments, job.start, job.end, source);
  const scatter = new BlockScatter(values, rowOf, len, job.start);
  for (;;) {
    const b = Atomics.add(control, NEXT, 1);
    if (b >= nBlocks) return;
    try {
      scatterBlock(evaluator, job.instruments, scatter, b * SCATTER_BLOCK, Math.min(job.instruments.length, (b + 1) * SCATTER_BLOCK));
    } catch (err) {
      // Hand the block back (one slot: wait while another thread's handed-back block is pending).
      while (Atomics.compareExchange(control, FAILED_BLOCK, -1, b) !== -1) Atomics.wait(control, FAILED_BLOCK, Atomics.load(control, FAILED_BLOCK), 50);
      Atomics.notify(control, DONE);
      throw err;
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
    onBlock?.();
  }
}

// The worker runs TypeScript: it registers tsx itself, since the parent may have registered it
// through the API (bin/qtask.js) rather than `--import tsx`, which workers would inherit.
const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  const control = new Int32Array(workerData.job.control);
  try {
    const { register } = await import(workerData.tsx);
    register();
    const m = await import(workerData.entry);
    m.workerMain(workerData.job);
  } catch {
    // a block this worker claimed was handed back in workBlocks; the main thread does the rest
    Atomics.notify(control, 1);
  }
})();
`;

export function runParallel(job: ParallelJob): Float64Array[] {
  const len = job.end - job.start + 1;
  const n = job.instruments.length;
  const rowsShared = new SharedArrayBuffer(n * len * 4);
  const rowsAll = new Int32Array(rowsShared);
  job.rowOf.forEach((r, k) => rowsAll.set(r, k * len));
  const columns = job.exprs.map(() => new SharedArrayBuffer(job.rows * 8));
  const control = new SharedArrayBuffer(16);
  const ctl = new Int32Array(control);
  ctl[FAILED_BLOCK] = -1;
  const wjob: WorkerJob = { root: job.source.root, freq: job.source.freq, exprs: job.exprs, instruments: job.instruments, start: job.start, end: job.end, rowsShared, columns, control };
  const workers: Worker[] = [];
  for (let i = 1; i < job.threads; i++) {
    try {
      const w = new Worker(WORKER_BOOT, {
        eval: true,
        workerData: { job: wjob, tsx: import.meta.resolve('tsx/esm/api'), entry: new URL('./parallelWorker.ts', import.meta.url).href },
        stderr: false,
      });
      w.unref();
      workers.push(w);
    } catch {
      // no worker: this thread does every block
    }
  }
  const nBlocks = Math.ceil(n / SCATTER_BLOCK);
  try {
    const report = (): void => job.onProgress?.(Math.min(n, Atomics.load(ctl, DONE) * SCATTER_BLOCK), n);
    workBlocks(wjob, job.source, report);
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= nBlocks) break;
      const failed = Atomics.exchange(ctl, FAILED_BLOCK, -1);
      Atomics.notify(ctl, FAILED_BLOCK);
      if (failed >= 0) {
        // A worker gave its block back: compute it here.
        const evaluator = createSeriesEvaluator(job.exprs, job.instruments, job.start, job.end, job.source);
        const scatter = new BlockScatter(columns.map((b) => new Float64Array(b)), job.instruments.map((_, k) => rowsAll.subarray(k * len, (k + 1) * len)), len, job.start);
        scatterBlock(evaluator, job.instruments, scatter, failed * SCATTER_BLOCK, Math.min(n, (failed + 1) * SCATTER_BLOCK));
        Atomics.add(ctl, DONE, 1);
        report();
        continue;
      }
      Atomics.wait(ctl, DONE, done, 200);
    }
  } finally {
    for (const w of workers) void w.terminate();
  }
  return columns.map((b) => new Float64Array(b));
}
