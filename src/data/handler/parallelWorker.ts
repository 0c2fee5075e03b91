/** Worker-thread entry of parallel.ts: reopens the provider and computes blocks until none is left. */
import { LocalProvider } from '../provider/localProvider.ts';
import { blockCount, DEAD, DONE, FAULT_CLAIMS, unitCount, workBlocks, type FaultMoment, type WorkerFault, type WorkerJob } from './parallel.ts';

/**
 * The provider of the last job, kept while jobs come from the same main-thread provider with the
 * same cache (`LocalProvider.cacheId`): a pooled worker then reuses the columns it read, as the
 * main thread does. Holds at most one provider's columns (those this worker read).
 */
let last: { cacheId: string; source: LocalProvider } | null = null;

/** `index`: this worker's number among the job's workers (0-based), which picks its test fault if any. */
export function workerMain(job: WorkerJob, index: number): void {
  if (last?.cacheId !== job.cacheId) last = { cacheId: job.cacheId, source: new LocalProvider(job.root, { freq: job.freq }) };
  const source = last.source;
  if (job.columns) source.adoptColumns(job.columns);
  const fault = job.faults?.[index] ?? null;
  // Thread numbers in the job's block table: 1 is the main thread.
  workBlocks(job, source, index + 2, fault === null ? undefined : faultHook(job, fault));
}

/** Test-only (see `WorkerFault`): strikes once, at the first moment the fault is for. */
function faultHook(job: WorkerJob, wanted: WorkerFault): (block: number, moment: FaultMoment) => void {
  // `*-pointwise`: the same fault, at the first pointwise unit (past the instrument blocks).
  const pointwiseOnly = wanted.endsWith('-pointwise');
  const fault = wanted.replace('-pointwise', '') as WorkerFault;
  const beforeCommit = fault === 'stall' || fault === 'hang' || fault === 'throw';
  let struck = false;
  return (block, moment) => {
    if (struck) return;
    if (pointwiseOnly && (moment === 'extents' || block < blockCount(job))) return;
    const now = moment === 'extents' ? fault !== 'stall' && fault !== 'hang' : moment === 'claim' ? beforeCommit : !beforeCommit;
    if (!now) return;
    struck = true;
    misbehave(job, fault);
  };
}

/** Test-only: never returns, except `stall`, which returns once every block of the fetch is written. */
function misbehave(job: WorkerJob, fault: WorkerFault): void {
  const control = new Int32Array(job.control);
  Atomics.add(control, FAULT_CLAIMS, 1);
  Atomics.notify(control, FAULT_CLAIMS);
  if (fault === 'stall') {
    while (Atomics.load(control, DONE) < unitCount(job) && Atomics.load(control, DEAD) === 0) Atomics.wait(control, DONE, Atomics.load(control, DONE), 20);
    return;
  }
  if (fault === 'exit') process.exit(0);
  if (fault === 'spin' || fault === 'hang') for (;;);
  if (fault === 'throw' || fault === 'throw-writing') throw new Error(`test fault: worker throws (${fault})`);
  // Reachable arrays until the isolate hits its heap limit and Node stops it (ERR_WORKER_OUT_OF_MEMORY).
  const hoard: number[][] = [];
  for (;;) hoard.push(Array.from({ length: 4096 }, Math.random));
}
