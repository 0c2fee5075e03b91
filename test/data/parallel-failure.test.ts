/**
 * A data worker thread that dies while writing a block's rows (src/data/handler/parallel.ts) must
 * end the parallel fetch with DATA_WORKER_DIED in bounded time, leave no worker thread running, and
 * leave the handler usable in the same process. A worker that throws, stalls or hangs before it
 * committed a block must not fail or hold up the fetch: the main thread computes that block, the
 * late worker writes nothing, a hung one is stopped. The scenarios run in a child process: a
 * blocked main thread cannot be interrupted by the test runner's timeout, so the parent enforces
 * the deadline with SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { pooledWorkersForTests, runningThreadsForTests, type ParallelStats, type WorkerFault } from '../../src/data/handler/parallel.ts';
import { pointwiseMemoryLayout, splitPointwise } from '../../src/data/handler/pointwise.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { synthMarket } from '../../src/data/synth/synth.ts';
import { QtaskError } from '../../src/errors.ts';
import { firstDifference, fullGridFetch } from './parallel-helpers.ts';

const CHILD_ENV = 'QTASK_TEST_PARALLEL_FAILURE_DIR';
const EXPRS = ['$close', 'Mean($close, 5)', 'Std($close, 20)', '$volume / Mean($volume, 10)', 'Corr($close, $volume, 10)'];
/** Three pointwise columns (computed in units of days, pointwise.ts) and two per instrument. */
const PW_EXPRS = ['$close', 'Mean($close, 5)', '($close - Ref($close, 1)) / $close', 'Abs($volume - Ref($volume, 3))', 'Std($close, 20)'];
/** Generous: the child starts ~6 worker threads with tsx on a loaded 2-core machine. */
const CHILD_DEADLINE_MS = 240_000;
/** Upper bound asserted for one failing fetch (measured ~1-3 s on an idle machine). */
const FAIL_BOUND_MS = 90_000;

interface FailureOutcome {
  code: string | null;
  isQtaskError: boolean;
  hint: string;
  message: string;
  ms: number;
  /** Worker and watcher threads still running once they all ended (or at the deadline): a failed fetch stops every one, pooled ones included. */
  threadsLeft: number;
}

interface ChildReport {
  oom: FailureOutcome;
  exit: FailureOutcome;
  /** The same, striking while the worker reads stored extents (the first phase of a handler's fetch). */
  exitInExtents: FailureOutcome;
  thrownInExtentsEqual: boolean;
  /** A worker that throws hands its block back; this thread computes it and the fetch succeeds. */
  thrownEqual: boolean;
  thrownError: string | null;
  /** A worker that throws after committing a block (it alone may write its rows): this thread writes the block instead. */
  thrownWriting: Recovered;
  /** A worker stalled before committing until every block was written: this thread computed its block; it then drops it. */
  stalled: Recovered;
  /** A worker hung before committing: this thread computed its block; the worker is stopped (`threadsLeft`: worker/watcher threads running outside the pool afterwards). */
  hung: Recovered & { threadsLeft: number };
  afterwardsEqual: boolean;
  afterwardsShared: boolean;
  /** Pointwise units: a worker dying after committing one; one throwing before (handed back); one stalled on one (backed up). */
  pointwise: { exit: FailureOutcome; thrown: Recovered; stalled: Recovered; units: number };
}

/** A fetch that succeeded although a worker misbehaved. */
interface Recovered {
  equal: boolean;
  error: string | null;
  stats: ParallelStats;
}

/** Waits (up to `deadlineMs`) until at most `target` worker/watcher threads run; returns how many do. */
async function settleThreads(target: number, deadlineMs: number): Promise<number> {
  const until = Date.now() + deadlineMs;
  while (runningThreadsForTests() > target && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return runningThreadsForTests();
}

async function failingFetch(p: LocalProvider, threads: number, faults: (WorkerFault | null)[], limitsMb?: number, viaExtents = false, pointwise = false): Promise<FailureOutcome> {
  const t0 = Date.now();
  let caught: unknown = null;
  try {
    fullGridFetch(p, pointwise ? PW_EXPRS : EXPRS, threads, { faults, viaExtents, pointwise, ...(limitsMb ? { limitsMb } : {}) });
  } catch (err) {
    caught = err;
  }
  const ms = Date.now() - t0;
  const threadsLeft = await settleThreads(0, 60_000);
  const e = caught instanceof QtaskError ? caught : null;
  return {
    code: e?.code ?? null,
    isQtaskError: e !== null,
    hint: e?.hint ?? '',
    message: caught instanceof Error ? caught.message : String(caught),
    ms,
    threadsLeft,
  };
}

async function child(dir: string): Promise<void> {
  const p = new LocalProvider(dir);
  // One worker fills its heap and dies; the other spins forever and must be terminated.
  const oom = await failingFetch(p, 3, ['oom', 'spin'], 64);
  const exit = await failingFetch(p, 2, ['exit']);
  const exitInExtents = await failingFetch(p, 2, ['exit'], undefined, true);
  const thrownInExtentsEqual = firstDifference(fullGridFetch(p, EXPRS, 2, { faults: ['throw'], viaExtents: true }), fullGridFetch(p, EXPRS, 1)) === null;
  let thrownEqual = false;
  let thrownError: string | null = null;
  try {
    thrownEqual = firstDifference(fullGridFetch(p, EXPRS, 2, { faults: ['throw'] }), fullGridFetch(p, EXPRS, 1)) === null;
  } catch (err) {
    thrownError = err instanceof Error ? err.message : String(err);
  }
  const recovered = (fault: WorkerFault, pointwise = false): Recovered => {
    const stats: ParallelStats = { flushes: -1, backups: -1, dropped: -1, stopped: -1 };
    const exprs = pointwise ? PW_EXPRS : EXPRS;
    try {
      return { equal: firstDifference(fullGridFetch(p, exprs, 2, { faults: [fault], stats, pointwise }), fullGridFetch(p, exprs, 1)) === null, error: null, stats };
    } catch (err) {
      return { equal: false, error: err instanceof Error ? err.message : String(err), stats };
    }
  };
  const thrownWriting = recovered('throw-writing');
  const stalled = recovered('stall');
  const hang = recovered('hang');
  const hung = { ...hang, threadsLeft: (await settleThreads(pooledWorkersForTests().length, 60_000)) - pooledWorkersForTests().length };
  const groups = [{ group: 'feature', fields: EXPRS, names: EXPRS }];
  const spans = p.listInstruments('all');
  const last = p.calendarDays().length - 1;
  const one = assemblePanel(p, groups, spans, 0, last, { threads: 1 });
  const two = assemblePanel(p, groups, spans, 0, last, { threads: 2 });
  const afterwardsEqual = JSON.stringify(two.dates) === JSON.stringify(one.dates) && firstDifference(one.values, two.values) === null;
  const pwSplit = splitPointwise(PW_EXPRS);
  const pointwise = {
    exit: await failingFetch(p, 2, ['exit-pointwise'], undefined, true, true),
    thrown: recovered('throw-pointwise', true),
    stalled: recovered('stall-pointwise', true),
    units: (pointwiseMemoryLayout(pwSplit.pointwise, spans.length, last + 1, 0, 2)?.units ?? -1) + Math.ceil(spans.length / 32),
  };
  const report: ChildReport = { oom, exit, exitInExtents, thrownInExtentsEqual, thrownEqual, thrownError, thrownWriting, stalled, hung, afterwardsEqual, afterwardsShared: two.values[0]?.buffer instanceof SharedArrayBuffer, pointwise };
  process.stdout.write(JSON.stringify(report) + '\n');
}

function runChild(dir: string): Promise<{ report: ChildReport | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: dir, QTASK_DATA_THREADS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      proc.kill('SIGKILL');
    }, CHILD_DEADLINE_MS);
    proc.on('error', reject);
    proc.on('close', () => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let report: ChildReport | null = null;
      try {
        report = JSON.parse(line) as ChildReport;
      } catch {
        report = null;
      }
      resolve({ report, stdout, stderr, killed });
    });
  });
}

const childDir = process.env[CHILD_ENV];
if (childDir) {
  await child(childDir);
} else {
  test('a worker thread that dies mid-block ends the fetch with DATA_WORKER_DIED, no threads left, handler still works; a throwing one hands its block back; a stalled or hung one is backed up', { timeout: CHILD_DEADLINE_MS + 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtask-parfail-'));
    try {
      // 160 instruments: 5 blocks of 32, so each worker holds one while this thread has work left.
      synthMarket({ targetDir: dir, instruments: 160, start: '2020-01-01', end: '2020-12-31', seed: 5 });
      const { report, stderr, killed } = await runChild(dir);
      assert.equal(killed, false, `the child hung for ${CHILD_DEADLINE_MS} ms (a dead worker was never noticed)`);
      assert.ok(report, `no report from the child; stderr:\n${stderr}`);
      for (const [name, r] of [['oom', report.oom], ['exit', report.exit], ['exit while reading extents', report.exitInExtents]] as const) {
        assert.ok(r.isQtaskError, `${name}: expected a QtaskError, got ${r.message}`);
        assert.equal(r.code, 'DATA_WORKER_DIED', `${name}: ${r.message}`);
        assert.match(r.hint, /QTASK_DATA_THREADS=1/, `${name}: hint`);
        assert.ok(r.ms < FAIL_BOUND_MS, `${name}: took ${r.ms} ms`);
        assert.equal(r.threadsLeft, 0, `${name}: ${r.threadsLeft} worker/watcher threads kept running`);
      }
      assert.equal(report.thrownError, null, 'a worker that throws does not fail the fetch');
      assert.equal(report.thrownEqual, true, 'the block a throwing worker handed back is computed by the main thread');
      assert.equal(report.thrownInExtentsEqual, true, 'an extents block a throwing worker handed back is read by the main thread');
      // 160 instruments: 5 blocks.
      const w = report.thrownWriting;
      assert.deepEqual([w.error, w.equal], [null, true], 'a worker that throws after committing a block: the main thread writes the block');
      assert.equal(w.stats.flushes, 5, 'each block written once: the committed block by the main thread after the worker threw');
      const st = report.stalled;
      assert.deepEqual([st.error, st.equal], [null, true], 'a stalled worker: the fetch completes with the right panel');
      assert.ok(st.stats.backups >= 1, `the main thread computed the stalled block as a backup (${JSON.stringify(st.stats)})`);
      assert.ok(st.stats.dropped >= 1, `the stalled worker dropped its block once it resumed (${JSON.stringify(st.stats)})`);
      assert.equal(st.stats.flushes, 5, 'each block written exactly once: the resumed worker wrote nothing');
      assert.equal(st.stats.stopped, 0, 'the resumed worker ended its job and stays pooled');
      const h = report.hung;
      assert.deepEqual([h.error, h.equal], [null, true], 'a hung worker: the fetch completes with the right panel');
      assert.ok(h.stats.backups >= 1 && h.stats.flushes === 5, `hung: ${JSON.stringify(h.stats)}`);
      assert.equal(h.stats.stopped, 1, 'the hung worker was stopped');
      assert.equal(h.threadsLeft, 0, 'hung: no worker or watcher thread runs outside the pool');
      assert.equal(report.afterwardsShared, true, 'the fetch after the failures ran on worker threads');
      assert.equal(report.afterwardsEqual, true, 'threads: 2 after the failures gives the same panel as threads: 1');
      const pw = report.pointwise;
      assert.ok(pw.units > 5, `pointwise units follow the 5 instrument blocks (${pw.units} in all)`);
      assert.equal(pw.exit.code, 'DATA_WORKER_DIED', `a worker dying after committing a pointwise unit: ${pw.exit.message}`);
      assert.ok(pw.exit.ms < FAIL_BOUND_MS && pw.exit.threadsLeft === 0, `pointwise exit: ${JSON.stringify(pw.exit)}`);
      assert.deepEqual([pw.thrown.error, pw.thrown.equal], [null, true], 'a pointwise unit a throwing worker handed back is computed by the main thread');
      assert.equal(pw.thrown.stats.flushes, pw.units, 'each unit written once');
      assert.deepEqual([pw.stalled.error, pw.stalled.equal], [null, true], 'a stalled pointwise unit is backed up by the main thread');
      assert.ok(pw.stalled.stats.backups >= 1 && pw.stalled.stats.dropped >= 1, `stalled pointwise: ${JSON.stringify(pw.stalled.stats)}`);
      assert.equal(pw.stalled.stats.flushes, pw.units, 'each unit written exactly once: the resumed worker wrote nothing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
