/**
 * `qtask data update`: new days appended, gaps filled by date (qlib's dump_update would shift a
 * symbol's new rows onto the wrong days when it lacks some of them), old bits preserved, calendar
 * insertions re-index every file, adjusted `change` continues across the seam; and a SIGKILLed
 * import leaves the existing target untouched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { importCsv, updateFromCsv } from '../../src/data/import/index.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { SP500_SRC } from '../support/sp500Fixture.ts';
import { treeDigest } from '../support/treeDigest.ts';

const ROOT = mkdtempSync(join(tmpdir(), 'qtask-update-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const HEADER = 'Date,Open,High,Low,Close,Volume,Adj Close';
/** Rows `date:close`; open/high/low derived; adj close = close × adj. */
function csv(rows: Array<[string, number]>, adj = 1): string {
  return [HEADER, ...rows.map(([d, c]) => `${d},${c - 0.5},${c + 1},${c - 1},${c},${c * 100},${c * adj}`)].join('\n') + '\n';
}
function writeSrc(name: string, files: Record<string, string>): string {
  const dir = join(ROOT, name);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}
function closes(p: LocalProvider, symbol: string): Record<string, number> {
  const out: Record<string, number> = {};
  const v = p.load(symbol, 'close', 0, p.calendar.length - 1);
  p.calendarDays().forEach((d, i) => {
    if (!Number.isNaN(v[i])) out[d] = v[i];
  });
  return out;
}

const D = ['2020-01-02', '2020-01-03', '2020-01-06', '2020-01-07', '2020-01-08', '2020-01-09', '2020-01-10'];

describe('update', () => {
  test('appends new days, fills a gap, leaves a missing new day NaN (not shifted), adds new symbols', () => {
    const target = join(ROOT, 't1');
    importCsv({
      srcDir: writeSrc('s1', {
        'A.csv': csv([[D[0], 10], [D[1], 11], [D[2], 12], [D[3], 13], [D[4], 14]]),
        'B.csv': csv([[D[0], 20], [D[1], 21], [D[3], 23], [D[4], 24]]),
      }),
      targetDir: target,
    });
    const beforeBytes = readFileSync(join(target, 'features', 'a', 'close.day.bin'));
    const summary = updateFromCsv({
      srcDir: writeSrc('u1', {
        'A.csv': csv([[D[5], 15], [D[6], 16]]),
        // B lacks D[5]: its D[6] row must land on D[6]. It also brings the D[2] row it was missing.
        'B.csv': csv([[D[2], 22], [D[6], 26]]),
        'C.csv': csv([[D[6], 30]]),
      }),
      targetDir: target,
    });
    assert.equal(summary.newDays, 2);
    assert.equal(summary.reindexed, false);
    assert.equal(summary.newInstruments, 1);
    const p = new LocalProvider(target);
    assert.deepEqual(p.calendarDays(), D);
    assert.deepEqual(closes(p, 'A'), { [D[0]]: 10, [D[1]]: 11, [D[2]]: 12, [D[3]]: 13, [D[4]]: 14, [D[5]]: 15, [D[6]]: 16 });
    assert.deepEqual(closes(p, 'B'), { [D[0]]: 20, [D[1]]: 21, [D[2]]: 22, [D[3]]: 23, [D[4]]: 24, [D[6]]: 26 });
    assert.deepEqual(closes(p, 'C'), { [D[6]]: 30 });
    assert.deepEqual(p.listInstruments('all').map((s) => [s.instrument, s.start, s.end]), [
      ['A', D[0], D[6]],
      ['B', D[0], D[6]],
      ['C', D[6], D[6]],
    ]);
    // Old cells keep their exact bytes: the new file starts with the old one.
    const afterBytes = readFileSync(join(target, 'features', 'a', 'close.day.bin'));
    assert.deepEqual(afterBytes.subarray(0, beforeBytes.length), beforeBytes);
    assert.equal(afterBytes.length, beforeBytes.length + 8);
    // Volume (another field) is aligned the same way.
    const vol = p.load('B', 'volume', 5, 6);
    assert.ok(Number.isNaN(vol[0]));
    assert.equal(vol[1], 2600);
  });

  test('stored values win over a CSV row for the same day; rerunning the same update changes nothing', () => {
    const target = join(ROOT, 't2');
    importCsv({ srcDir: writeSrc('s2', { 'A.csv': csv([[D[0], 10], [D[1], 11]]) }), targetDir: target });
    const src = writeSrc('u2', { 'A.csv': csv([[D[1], 99], [D[2], 12]]) });
    updateFromCsv({ srcDir: src, targetDir: target });
    const once = treeDigest(target);
    assert.deepEqual(closes(new LocalProvider(target), 'A'), { [D[0]]: 10, [D[1]]: 11, [D[2]]: 12 });
    const again = updateFromCsv({ srcDir: src, targetDir: target });
    assert.equal(again.filledCells, 0);
    assert.equal(treeDigest(target), once);
  });

  test('a new day before the old last day re-indexes every file, including symbols without new rows', () => {
    const target = join(ROOT, 't3');
    // The calendar lacks D[2] at first.
    importCsv({
      srcDir: writeSrc('s3', {
        'A.csv': csv([[D[0], 10], [D[1], 11], [D[3], 13]]),
        'B.csv': csv([[D[0], 20], [D[3], 23], [D[4], 24]]),
      }),
      targetDir: target,
    });
    assert.equal(new LocalProvider(target).calendar.length, 4);
    const summary = updateFromCsv({ srcDir: writeSrc('u3', { 'A.csv': csv([[D[2], 12]]) }), targetDir: target });
    assert.equal(summary.reindexed, true);
    const p = new LocalProvider(target);
    assert.deepEqual(p.calendarDays(), [D[0], D[1], D[2], D[3], D[4]]);
    assert.deepEqual(closes(p, 'A'), { [D[0]]: 10, [D[1]]: 11, [D[2]]: 12, [D[3]]: 13 });
    assert.deepEqual(closes(p, 'B'), { [D[0]]: 20, [D[3]]: 23, [D[4]]: 24 });
  });

  test('with --adjust the change of the first new day uses the last stored close', () => {
    const target = join(ROOT, 't4');
    importCsv({ srcDir: writeSrc('s4', { 'A.csv': csv([[D[0], 10], [D[1], 11]], 0.5) }), targetDir: target, adjust: true });
    updateFromCsv({ srcDir: writeSrc('u4', { 'A.csv': csv([[D[3], 13]], 0.5) }), targetDir: target, adjust: true });
    const p = new LocalProvider(target);
    assert.deepEqual(p.calendarDays(), [D[0], D[1], D[3]]);
    const change = p.load('A', 'change', 0, 2);
    assert.ok(Number.isNaN(change[0]));
    assert.equal(change[1], Math.fround(5.5 / 5 - 1));
    assert.equal(change[2], Math.fround(6.5 / 5.5 - 1));
    assert.deepEqual([...p.load('A', 'factor', 0, 2)], [0.5, 0.5, 0.5]);
    assert.deepEqual([...p.load('A', 'close', 0, 2)], [5, 5.5, 6.5]);
  });

  test('with --adjust, filling a gap recomputes the change of the gap day and of the day after it only', () => {
    const target = join(ROOT, 't5');
    importCsv({
      srcDir: writeSrc('s5', { 'A.csv': csv([[D[0], 10], [D[1], 11], [D[3], 13], [D[4], 14]]), 'B.csv': csv([[D[2], 1]]) }),
      targetDir: target,
      adjust: true,
    });
    const old = new LocalProvider(target).load('A', 'change', 0, 4);
    assert.equal(old[3], Math.fround(13 / 11 - 1));
    updateFromCsv({ srcDir: writeSrc('u5', { 'A.csv': csv([[D[2], 12]]) }), targetDir: target, adjust: true });
    const change = new LocalProvider(target).load('A', 'change', 0, 4);
    assert.equal(change[1], old[1]);
    assert.equal(change[2], Math.fround(12 / 11 - 1));
    assert.equal(change[3], Math.fround(13 / 12 - 1));
    assert.equal(change[4], old[4]);
  });

  test('the CLI: qtask data update prints a JSON summary; a bad row exits 2 naming file:line', () => {
    const target = join(ROOT, 't6');
    importCsv({ srcDir: writeSrc('s6', { 'A.csv': csv([[D[0], 10]]) }), targetDir: target });
    const ok = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'update', writeSrc('u6', { 'A.csv': csv([[D[1], 11]]) }), target, '--json'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout) as { newDays: number; filledCells: number; lastDay: string };
    assert.equal(summary.newDays, 1);
    assert.equal(summary.lastDay, D[1]);
    assert.equal(summary.filledCells, 6, "open, high, low, close, volume, adj_close on the new day");
    const digest = treeDigest(target);
    const badSrc = writeSrc('u6bad', { 'A.csv': csv([[D[2], 12]]) + 'not-a-date,1,1,1,1,1,1\n' });
    const bad = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'update', badSrc, target], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /CSV_BAD_DATE: .*A\.csv:3: "not-a-date"/);
    assert.equal(treeDigest(target), digest);
  });
});

describe('atomicity under SIGKILL', () => {
  test('killing an --overwrite import while it writes leaves the old target intact and readable', async () => {
    const sp500 = SP500_SRC;
    const small = join(ROOT, 'small-src');
    mkdirSync(small);
    for (const f of readdirSync(sp500).filter((n) => n.endsWith('.csv')).slice(0, 5)) cpSync(join(sp500, f), join(small, f));
    const target = join(ROOT, 'victim');
    importCsv({ srcDir: small, targetDir: target, adjust: true });
    const digest = treeDigest(target);
    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 3 && killedMidWrite === 0; attempt++) {
      const child = spawn(process.execPath, ['bin/qtask.js', 'data', 'import-csv', sp500, target, '--adjust', '--duplicates', 'first', '--overwrite', '--no-progress'], {
        stdio: 'ignore',
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
      let done = false;
      void exited.then(() => (done = true));
      const deadline = Date.now() + 120_000;
      // Wait until the staging directory has feature files, then kill.
      while (!done && Date.now() < deadline) {
        const staging = readdirSync(ROOT).find((n) => n.startsWith('.victim.qtask-import-'));
        if (staging) {
          const features = join(ROOT, staging, 'features');
          let n = 0;
          try {
            n = readdirSync(features).length;
          } catch {
            n = 0;
          }
          if (n >= 5) {
            child.kill('SIGKILL');
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const result = await exited;
      if (result.signal === 'SIGKILL') {
        killedMidWrite++;
        assert.equal(treeDigest(target), digest, 'the old target is byte-identical');
        const p = new LocalProvider(target);
        assert.equal(p.instruments('all').length, 5);
      }
      for (const n of readdirSync(ROOT)) if (n.startsWith('.victim.')) rmSync(join(ROOT, n), { recursive: true, force: true });
      if (result.signal !== 'SIGKILL') importCsv({ srcDir: small, targetDir: target, adjust: true, overwrite: true });
    }
    assert.ok(killedMidWrite > 0, 'the import was killed while writing at least once');
  });
});
