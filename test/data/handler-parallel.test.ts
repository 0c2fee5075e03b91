/**
 * The handler's panel computed on worker threads (src/data/handler/parallel.ts) equals the
 * single-threaded one bit for bit, rows and values, on a synthetic LocalProvider market.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { alpha158FeatureConfig } from '../../src/data/handler/alpha158.ts';
import type { ColumnGroup } from '../../src/data/handler/loader.ts';
import { defaultThreads } from '../../src/data/handler/parallel.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { decodeBin, encodeBin } from '../../src/data/provider/binFile.ts';
import { assertSameColumns, keepDays, withSynthMarket } from './parallel-helpers.ts';

/** Alpha158 features `[from, to)` and qlib's label, as handler column groups. */
function alpha158Groups(from: number, to: number): ColumnGroup[] {
  const c = alpha158FeatureConfig();
  return [
    { group: 'feature', fields: c.fields.slice(from, to), names: c.names.slice(from, to) },
    { group: 'label', fields: ['Ref($close, -2)/Ref($close, -1) - 1'], names: ['LABEL0'] },
  ];
}

test('threads: 2 gives the same panel as threads: 1 (140 instruments, 40 Alpha158 columns + label)', () => {
  withSynthMarket('qtask-par-', { instruments: 140, start: '2020-01-01', end: '2020-12-31', seed: 3 }, (dir) => {
    const p = new LocalProvider(dir);
    const groups = alpha158Groups(60, 100);
    const days = p.calendarDays();
    const spans = p.listInstruments('all');
    const progress: number[] = [];
    const one = assemblePanel(p, groups, spans, 20, days.length - 1, { threads: 1 });
    const two = assemblePanel(p, groups, spans, 20, days.length - 1, { threads: 2, onProgress: (d) => progress.push(d) });
    assert.ok(one.dates.length > 140 * 200);
    assert.deepEqual(two.dates, one.dates);
    assert.deepEqual(two.instruments, one.instruments);
    assert.deepEqual(two.columns, one.columns);
    assertSameColumns(one.values, two.values, `panel (columns ${one.columns.join(', ')})`);
    // The parallel path ran (its columns are shared memory) and reported reaching the end.
    assert.ok(two.values[0]?.buffer instanceof SharedArrayBuffer);
    assert.equal(progress.at(-1), 140);
  });
});

test('threads: 2 equals threads: 1 on ragged data: partial spans, truncated files, members without data or rows', () => {
  withSynthMarket('qtask-par-ragged-', { instruments: 150, start: '2020-01-01', end: '2020-12-31', seed: 5 }, (dir) => {
    const full = new LocalProvider(dir);
    const days = full.calendarDays();
    const symbols = full.instruments('all');
    const keep = (sym: string, from: number, to: number): void => keepDays(dir, sym, from, to);
    const last = days.length - 1;
    keep(symbols[3] as string, 0, 40); // data ends early: rows only while it has data
    keep(symbols[40] as string, 100, last); // data starts late
    keep(symbols[70] as string, 0, 30); // member only later (below): no rows at all
    rmSync(join(dir, 'features', (symbols[100] as string).toLowerCase()), { recursive: true }); // no data at all
    const lines = symbols.map((sym, i) => {
      if (i === 5) return `${sym}\t${days[50]}\t${days[120]}`; // member for part of the year
      if (i === 9) return `${sym}\t${days[0]}\t${days[30]}\n${sym}\t${days[90]}\t${days[last]}`; // two spans
      if (i === 70) return `${sym}\t${days[200]}\t${days[last]}`;
      return `${sym}\t${days[0]}\t${days[last]}`;
    });
    writeFileSync(join(dir, 'instruments', 'ragged.txt'), lines.join('\n') + '\n');
    const p = new LocalProvider(dir);
    const c = alpha158FeatureConfig();
    const groups = [{ group: 'feature', fields: c.fields.slice(0, 30), names: c.names.slice(0, 30) }];
    const spans = p.listInstruments('ragged');
    const one = assemblePanel(p, groups, spans, 10, last, { threads: 1 });
    const two = assemblePanel(new LocalProvider(dir), groups, spans, 10, last, { threads: 2 });
    assert.deepEqual(two.dates, one.dates);
    assert.deepEqual(two.instruments, one.instruments);
    assertSameColumns(one.values, two.values, 'ragged panel');
    assert.ok(two.values[0]?.buffer instanceof SharedArrayBuffer, 'the parallel path ran');
    // The raggedness reached the panel: no rows for the member without rows or without data,
    // rows of the partial member only inside its span.
    assert.ok(!one.instruments.includes(symbols[70] as string) && !one.instruments.includes(symbols[100] as string));
    const rows5 = one.dates.filter((_, r) => one.instruments[r] === symbols[5]);
    assert.equal(rows5.length, 71);
    assert.ok(one.dates.filter((_, r) => one.instruments[r] === symbols[3]).length === 31);
  });
});

test('pooled workers read the files again after clearCache() (they keep their columns only while the provider cache stands)', () => {
  withSynthMarket('qtask-par-cache-', { instruments: 140, start: '2020-01-01', end: '2020-06-30', seed: 11 }, (dir) => {
    const p = new LocalProvider(dir);
    const groups = [{ group: 'feature', fields: ['$close', 'Mean($close, 5)/$close', 'Ref($close, 3)'], names: ['C', 'M', 'R'] }];
    const spans = p.listInstruments('all');
    const last = p.calendarDays().length - 1;
    const first = assemblePanel(p, groups, spans, 0, last, { threads: 2 });
    const id = p.cacheId;
    assertSameColumns(first.values, assemblePanel(p, groups, spans, 0, last, { threads: 2 }).values, 'second fetch through the same cache');
    // Rewrite every instrument's close (x2), then tell the provider (the documented contract: a
    // provider's cache stands until clearCache()); a worker still serving its old columns would
    // put old values in the blocks it computes.
    for (const sym of p.instruments('all')) {
      const file = join(dir, 'features', sym.toLowerCase(), 'close.day.bin');
      const st = decodeBin(readFileSync(file), file);
      writeFileSync(file, encodeBin(st.startIdx, st.values.map((v) => v * 2)));
    }
    p.clearCache();
    assert.notEqual(p.cacheId, id);
    const fresh = assemblePanel(p, groups, spans, 0, last, { threads: 2 });
    const expected = assemblePanel(new LocalProvider(dir), groups, spans, 0, last, { threads: 1 });
    assertSameColumns(expected.values, fresh.values, 'after clearCache(), every thread reads the new files');
    assert.ok(fresh.values[0]?.buffer instanceof SharedArrayBuffer, 'the parallel path ran');
    assert.ok((fresh.values[0] as Float64Array)[0] !== (first.values[0] as Float64Array)[0], 'the data did change');
  });
});

test('a parallel fetch uses the columns the provider already read: its worker needs none of the feature files', () => {
  withSynthMarket('qtask-par-shared-', { instruments: 140, start: '2020-01-01', end: '2020-12-31', seed: 9 }, (dir) => {
    const p = new LocalProvider(dir);
    const groups = alpha158Groups(0, 20);
    const spans = p.listInstruments('all');
    const last = p.calendarDays().length - 1;
    const one = assemblePanel(p, groups, spans, 0, last, { threads: 1 }); // reads every column this job needs
    renameSync(join(dir, 'features'), join(dir, 'features-away'));
    try {
      const two = assemblePanel(p, groups, spans, 0, last, { threads: 2 });
      assert.ok(two.values[0]?.buffer instanceof SharedArrayBuffer, 'the parallel path ran');
      assert.deepEqual(two.dates, one.dates);
      assert.deepEqual(two.instruments, one.instruments);
      assertSameColumns(one.values, two.values, 'worker computing from the shared columns');
      // The files are really out of reach: a provider that has not read them finds no data.
      assert.equal(assemblePanel(new LocalProvider(dir), groups, spans, 0, last, { threads: 2 }).dates.length, 0);
    } finally {
      renameSync(join(dir, 'features-away'), join(dir, 'features'));
    }
  });
});

test('defaultThreads: small jobs stay on one thread, big ones use the cores (≤ 4), QTASK_DATA_THREADS overrides', () => {
  const saved = process.env['QTASK_DATA_THREADS'];
  try {
    delete process.env['QTASK_DATA_THREADS'];
    assert.equal(defaultThreads(5 * 593_494), 1, 'the first 5 Alpha158 features over 593k rows: one thread');
    assert.equal(defaultThreads(20 * 593_494), Math.min(4, availableParallelism()), 'the first 20 Alpha158 features over 593k rows: the cores');
    assert.equal(defaultThreads(159 * 593_494), Math.min(4, availableParallelism()), 'Alpha158 + label over 593k rows: the cores');
    process.env['QTASK_DATA_THREADS'] = '1';
    assert.equal(defaultThreads(159 * 593_494), 1);
    process.env['QTASK_DATA_THREADS'] = '64';
    assert.equal(defaultThreads(10), availableParallelism(), 'capped at the machine');
  } finally {
    if (saved === undefined) delete process.env['QTASK_DATA_THREADS'];
    else process.env['QTASK_DATA_THREADS'] = saved;
  }
});
