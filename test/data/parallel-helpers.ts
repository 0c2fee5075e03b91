/** Shared by the data-thread tests: a parallel fetch over a provider's full grid, and bit-for-bit column checks. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthMarket, type SynthOptions } from '../../src/data/synth/synth.ts';
import { runParallel, type ParallelStats, type WorkerFault } from '../../src/data/handler/parallel.ts';
import { pointwiseMemoryLayout, splitPointwise } from '../../src/data/handler/pointwise.ts';
import type { LocalProvider } from '../../src/data/provider/index.ts';
import { decodeBin, encodeBin } from '../../src/data/provider/binFile.ts';

/**
 * `runParallel` over every instrument on every day of `p` (row `t * n + k`). `viaExtents`: pass
 * the layout as a plan, so the threads read the stored extents first (as `assemblePanel` does) and
 * faults strike in that phase; the plan lays out the same full grid whatever the extents.
 */
export function fullGridFetch(
  p: LocalProvider,
  exprs: readonly string[],
  threads: number,
  opts: { faults?: (WorkerFault | null)[]; limitsMb?: number; viaExtents?: boolean; stats?: ParallelStats; pointwise?: boolean } = {},
): Float64Array[] {
  const days = p.calendarDays();
  const instruments = p.listInstruments('all').map((s) => s.instrument);
  const n = instruments.length;
  const grid = { rowOf: instruments.map((_, k) => Int32Array.from(days, (_d, t) => t * n + k)), rows: n * days.length };
  // `pointwise`: the pointwise columns go in units of days (pointwise.ts); they need the plan.
  const split = opts.pointwise ? splitPointwise(exprs) : null;
  const memoryLayout = split ? pointwiseMemoryLayout(split.pointwise, n, days.length, 0, threads) : null;
  return runParallel({
    source: p,
    exprs: [...exprs],
    ...(split && memoryLayout ? { roots: split.others, pointwise: { plan: split.pointwise, layout: memoryLayout } } : {}),
    instruments,
    layout: opts.viaExtents || opts.pointwise
      ? { fields: ['close', 'volume'], build: () => ({ rows: grid.rows, live: new Uint8Array(n).fill(1), fill: (rowsAll: Int32Array) => grid.rowOf.forEach((r, k) => rowsAll.set(r, k * days.length)) }) }
      : grid,
    start: 0,
    end: days.length - 1,
    threads,
    ...(opts.faults ? { faultsForTests: opts.faults } : {}),
    ...(opts.stats ? { statsForTests: opts.stats } : {}),
    ...(opts.limitsMb ? { workerResourceLimits: { maxOldGenerationSizeMb: opts.limitsMb } } : {}),
  });
}

/** The first cell where two column sets differ (`Object.is`: NaN equals NaN, -0 differs from 0), or null. */
export function firstDifference(a: readonly Float64Array[], b: readonly Float64Array[]): string | null {
  if (a.length !== b.length) return `${a.length} vs ${b.length} columns`;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as Float64Array;
    const y = b[k] as Float64Array;
    if (x.length !== y.length) return `column ${k}: ${x.length} vs ${y.length} rows`;
    for (let r = 0; r < x.length; r++) if (!Object.is(x[r], y[r])) return `column ${k} row ${r}: ${y[r]} vs ${x[r]}`;
  }
  return null;
}

/** Asserts two column sets are equal bit for bit. */
export function assertSameColumns(a: readonly Float64Array[], b: readonly Float64Array[], what: string): void {
  const diff = firstDifference(a, b);
  if (diff !== null) assert.fail(`${what}: ${diff}`);
}

/** Runs `fn` on a synthetic market written to a fresh temp directory, removed afterwards. */
export function withSynthMarket<T>(prefix: string, options: Omit<SynthOptions, 'targetDir'>, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    synthMarket({ ...options, targetDir: dir });
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rewrites every field of `sym` in the market at `dir` to hold only calendar indices [from, to]. */
export function keepDays(dir: string, sym: string, from: number, to: number): void {
  const fdir = join(dir, 'features', sym.toLowerCase());
  for (const f of readdirSync(fdir)) {
    const st = decodeBin(readFileSync(join(fdir, f)), f);
    const a = Math.max(from, st.startIdx);
    writeFileSync(join(fdir, f), encodeBin(a, st.values, a - st.startIdx, to - st.startIdx + 1));
  }
}
