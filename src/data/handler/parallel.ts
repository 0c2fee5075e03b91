/**
 * Evaluating a handler's columns on several threads. Instruments are split into blocks of
 * `SCATTER_BLOCK`; this thread and `threads - 1` worker threads claim blocks from a shared counter
 * and write their rows straight into panel columns backed by SharedArrayBuffers (blocks own
 * disjoint rows). `fetch()` is synchronous, so this thread works too and then blocks (Atomics.wait)
 * until every claimed block is done. A worker that fails (cannot start, throws) hands its block
 * back through the control array and this thread computes it; results never depend on who
 * computed a block. A worker that dies without throwing (out of memory, process.exit) is noticed
 * by a watcher thread and ends the fetch with `DataWorkerDiedError` (see `WATCHER_BOOT`). Workers
 * load a prebuilt JavaScript bundle (workerBundle.ts) and stay pooled between fetches (`pool`).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { QtaskError } from '../../errors.ts';
import { createSeriesEvaluator } from '../expr/evaluate.ts';
import type { LocalProvider } from '../provider/localProvider.ts';
import type { FieldSource } from '../types.ts';
import { BlockScatter, SCATTER_BLOCK, scatterBlock } from './assemble.ts';
import { workerEntry, type WorkerEntry } from './workerBundle.ts';

/** Control array slots (Int32). */
const NEXT = 0; // next block to claim
const DONE = 1; // blocks finished
const FAILED_BLOCK = 2; // a block a failed worker handed back, or -1
const DEAD = 3; // 1 + index of a worker that stopped without finishing, or 0
/** Test-only: how many faulty workers (`faultsForTests`) have claimed a block. */
export const FAULT_CLAIMS = 4;
const STATUS = 5; // STATUS + i: 1 once worker i stopped claiming blocks of its own accord

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
  /**
   * Heap limits of each worker thread. Default: none (Node's defaults, which follow
   * `--max-old-space-size`). Workers with limits are started for this fetch only, not pooled.
   */
  workerResourceLimits?: ResourceLimits;
  /**
   * Test-only (assemblePanel never sets it, so no handler or task config reaches it): worker `i`
   * misbehaves as `faultsForTests[i]` says right after claiming its first block, and this thread
   * waits (up to 2 minutes) until every faulty worker has claimed one before computing any, so the
   * fault strikes while the worker holds work. Default: none.
   */
  faultsForTests?: readonly (WorkerFault | null)[];
}

/**
 * Test-only worker misbehaviour: `exit` calls process.exit(0), `oom` fills the heap, `spin` loops
 * forever, `throw` throws a JavaScript error (the block is handed back and computed here).
 */
export type WorkerFault = 'exit' | 'oom' | 'spin' | 'throw';

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
  /** See `ParallelJob.faultsForTests`. */
  faults?: readonly (WorkerFault | null)[];
}

/** Claims and computes blocks until none is left. Returns normally or throws with `current` set. */
export function workBlocks(job: WorkerJob, source: FieldSource, onBlock?: () => void, onClaim?: (block: number) => void): void {
  const len = job.end - job.start + 1;
  const control = new Int32Array(job.control);
  const rowsAll = new Int32Array(job.rowsShared);
  const rowOf = job.instruments.map((_, k) => rowsAll.subarray(k * len, (k + 1) * len));
  const values = job.columns.map((b) => new Float64Array(b));
  const nBlocks = Math.ceil(job.instruments.length / SCATTER_BLOCK);
  const evaluator = createSeriesEvaluator(job.exprs, job.instruments, job.start, job.end, source);
  const scatter = new BlockScatter(values, rowOf, len, job.start);
  for (;;) {
    if (Atomics.load(control, DEAD) !== 0) return; // the fetch is failing: stop early
    const b = Atomics.add(control, NEXT, 1);
    if (b >= nBlocks) return;
    try {
      onClaim?.(b);
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
 * Starts the pooled worker threads a parallel fetch on `threads` threads will use, without waiting
 * for them: a worker boots on its own thread (~50 ms: isolate, bundle), so starting it before the
 * panel's row maps are built overlaps the two (measured: first fetch of the first 20 Alpha158
 * features 612 → 559 ms median of 6, load ~2). Pooled workers already running are reused.
 */
export function prestartWorkers(threads: number): void {
  const entry = workerEntry();
  while (pool.length < threads - 1) pool.push(startWorker(entry, undefined));
}

export function runParallel(job: ParallelJob): Float64Array[] {
  const len = job.end - job.start + 1;
  const n = job.instruments.length;
  const rowsShared = new SharedArrayBuffer(n * len * 4);
  const rowsAll = new Int32Array(rowsShared);
  job.rowOf.forEach((r, k) => rowsAll.set(r, k * len));
  const columns = job.exprs.map(() => new SharedArrayBuffer(job.rows * 8));
  const control = new SharedArrayBuffer(4 * (STATUS + Math.max(0, job.threads - 1)));
  const ctl = new Int32Array(control);
  ctl[FAILED_BLOCK] = -1;
  const wjob: WorkerJob = { root: job.source.root, freq: job.source.freq, exprs: job.exprs, instruments: job.instruments, start: job.start, end: job.end, rowsShared, columns, control };
  if (job.faultsForTests) wjob.faults = job.faultsForTests;
  const workers: Worker[] = [];
  let faulty = 0;
  const watch = job.threads > 1 ? startWatcher(control, job.threads - 1) : null;
  const entry = watch ? workerEntry() : null;
  // Workers with their own heap limits are started for this fetch only (limits are fixed at start).
  const pooled = job.workerResourceLimits === undefined;
  for (const [i, alive] of (watch?.ports ?? []).entries()) {
    try {
      let w = pooled ? pool[i] : undefined;
      if (!w) {
        w = startWorker(entry as WorkerEntry, job.workerResourceLimits);
        if (pooled) pool.push(w);
      }
      w.postMessage({ job: wjob, index: i, alive }, [alive]);
      workers.push(w);
      if (job.faultsForTests?.[i]) faulty++;
    } catch {
      // no worker: this thread does its blocks; its channel closes as a clean end
      Atomics.store(ctl, STATUS + i, 1);
      alive.close();
    }
  }
  const nBlocks = Math.ceil(n / SCATTER_BLOCK);
  let ok = false;
  try {
    const faultDeadline = Date.now() + 120_000;
    while (Atomics.load(ctl, FAULT_CLAIMS) < faulty && Atomics.load(ctl, DEAD) === 0 && Date.now() < faultDeadline) Atomics.wait(ctl, FAULT_CLAIMS, Atomics.load(ctl, FAULT_CLAIMS), 100);
    const report = (): void => job.onProgress?.(Math.min(n, Atomics.load(ctl, DONE) * SCATTER_BLOCK), n);
    workBlocks(wjob, job.source, report);
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= nBlocks) {
        report(); // the last block may have been a worker's, which reports nothing itself
        break;
      }
      const dead = Atomics.load(ctl, DEAD);
      if (dead !== 0) throw new DataWorkerDiedError(dead - 1, job.threads - 1);
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
    ok = true;
  } finally {
    // After a failure a worker may still hold a block or spin: none outlives the fetch.
    const keep = ok && pooled;
    for (const w of keep ? [] : workers) {
      dropFromPool(w);
      void w.terminate();
    }
    if (!ok) for (const w of pool.splice(0)) void w.terminate();
    void watch?.watcher.terminate();
  }
  return columns.map((b) => new Float64Array(b));
}
