/**
 * Data worker threads load a prebuilt JavaScript bundle of parallelWorker.ts (workerBundle.ts)
 * instead of TypeScript through tsx: the bundle is the path used normally, the panel it computes
 * equals the one-thread panel, and a cached bundle is rebuilt once one of its sources changes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { bundleKey, ensureWorkerBundle, workerEntry } from '../../src/data/handler/workerBundle.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { synthMarket } from '../../src/data/synth/synth.ts';
import { assertSameColumns } from './parallel-helpers.ts';

test('workers load the bundled JavaScript, not TypeScript, and their panel equals threads: 1', () => {
  const entry = workerEntry();
  assert.equal(entry.bundled, true, 'bundling parallelWorker.ts failed, workers fell back to tsx');
  assert.match(entry.url, /\/parallelWorker-[0-9a-f]{32}\.mjs$/);
  const file = fileURLToPath(entry.url);
  assert.ok(existsSync(file));
  const text = readFileSync(file, 'utf8');
  assert.match(text, /export\s*\{[^}]*workerMain/);
  // Plain JavaScript with no TypeScript left and no native module pulled in.
  assert.doesNotMatch(text, /from ["'](better-sqlite3|koffi|tsx)/);

  const dir = mkdtempSync(join(tmpdir(), 'qtask-bundle-'));
  try {
    synthMarket({ targetDir: dir, instruments: 140, start: '2020-01-01', end: '2020-12-31', seed: 5 });
    const p = new LocalProvider(dir);
    const groups = [{ group: 'feature', fields: ['$close', 'Mean($close, 5)', 'Std($close, 20)', 'Corr($close, $volume, 10)', 'Rank($close, 10)'], names: ['C', 'M5', 'S20', 'CORR10', 'R10'] }];
    const days = p.calendarDays();
    const spans = p.listInstruments('all');
    const one = assemblePanel(p, groups, spans, 0, days.length - 1, { threads: 1 });
    const two = assemblePanel(p, groups, spans, 0, days.length - 1, { threads: 2 });
    assert.ok(two.values[0]?.buffer instanceof SharedArrayBuffer, 'the parallel path ran');
    assert.deepEqual(two.dates, one.dates);
    assert.deepEqual(two.instruments, one.instruments);
    assertSameColumns(one.values, two.values, `panel (columns ${one.columns.join(', ')})`);
    // Checked once per process: the same entry again.
    assert.equal(workerEntry(), entry);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cached bundle is reused while its sources are unchanged and rebuilt when one changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-bundle-src-'));
  try {
    const entry = join(dir, 'entry.ts');
    const dep = join(dir, 'dep.ts');
    const cacheDir = join(dir, 'cache');
    writeFileSync(entry, "import { value } from './dep.ts';\nexport function answer(): number { return value * 2; }\n");
    writeFileSync(dep, 'export const value: number = 20;\n');

    const first = ensureWorkerBundle({ entry, cacheDir });
    assert.equal(first.built, true);
    assert.equal(((await import(pathToFileURL(first.path).href)) as { answer(): number }).answer(), 40);

    const again = ensureWorkerBundle({ entry, cacheDir });
    assert.equal(again.built, false, 'unchanged sources must reuse the cached bundle');
    assert.equal(again.path, first.path);

    // An imported file changes (same size, so only its contents tell): the key changes and it rebuilds.
    writeFileSync(dep, 'export const value: number = 21;\n');
    const stale = ensureWorkerBundle({ entry, cacheDir });
    assert.equal(stale.built, true, 'a changed input must rebuild');
    assert.notEqual(stale.key, first.key);
    assert.notEqual(stale.path, first.path);
    assert.equal(((await import(pathToFileURL(stale.path).href)) as { answer(): number }).answer(), 42);
    assert.equal(ensureWorkerBundle({ entry, cacheDir }).built, false);

    // A new import added to the entry is picked up as an input too.
    const extra = join(dir, 'extra.ts');
    writeFileSync(extra, 'export const bonus: number = 100;\n');
    writeFileSync(entry, "import { value } from './dep.ts';\nimport { bonus } from './extra.ts';\nexport function answer(): number { return value * 2 + bonus; }\n");
    const grown = ensureWorkerBundle({ entry, cacheDir });
    assert.equal(grown.built, true);
    assert.equal(((await import(pathToFileURL(grown.path).href)) as { answer(): number }).answer(), 142);
    writeFileSync(extra, 'export const bonus: number = 200;\n');
    const changedExtra = ensureWorkerBundle({ entry, cacheDir });
    assert.equal(changedExtra.built, true, 'a change in the newly imported file must rebuild');
    assert.equal(((await import(pathToFileURL(changedExtra.path).href)) as { answer(): number }).answer(), 242);

    // The key covers contents and paths; a missing input gives no key (so no stale bundle is used).
    assert.equal(bundleKey([entry, dep]), bundleKey([dep, entry]));
    assert.notEqual(bundleKey([entry, dep]), bundleKey([entry, extra]));
    assert.equal(bundleKey([entry, join(dir, 'missing.ts')]), null);
    rmSync(extra);
    assert.throws(() => ensureWorkerBundle({ entry, cacheDir }), 'a build whose import is missing fails (workerEntry then falls back to tsx)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
