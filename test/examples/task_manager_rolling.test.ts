/**
 * qlib's task_manager_rolling example on the real S&P 500 data: import, generate rolling windows,
 * train them through a SQLite task pool with two worker processes, collect with RollingGroup. The
 * merged prediction is checked against each recorder's own pred artifact, read independently.
 * To stay within ~2 minutes: 30 large-cap symbols and the example's `small` feature set (~50
 * Alpha158 features without VWAP, which Yahoo data lacks); step 240 trading days → 4 windows.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Panel } from '../../src/data/types.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { csvToObject, getStore, isPanel } from '../../src/recorder/index.ts';
import { REPO, lastJson, removeAtExit, runNode, tsx } from './helpers.ts';

const SP500 = join(REPO, '../shared/data/sp500_2015_2020');
const SYMBOLS = 'AAPL,MSFT,AMZN,GOOGL,JPM,XOM,JNJ,PG,KO,PFE,INTC,CSCO,WMT,BA,MMM,CVX,MRK,HD,DIS,IBM,ORCL,T,VZ,C,BAC,GE,MCD,NKE,UNH,AMGN';

type Seg = [string, string | null];

function rowsOn(p: Panel): Map<string, Map<string, number>> {
  const m = new Map<string, Map<string, number>>();
  for (let r = 0; r < p.dates.length; r++) {
    let d = m.get(p.dates[r]!);
    if (!d) m.set(p.dates[r]!, (d = new Map()));
    assert.ok(!d.has(p.instruments[r]!), `(${p.dates[r]}, ${p.instruments[r]}) twice`);
    d.set(p.instruments[r]!, p.values[0]![r]!);
  }
  return m;
}

describe('examples/task_manager_rolling.ts on sp500_2015_2020', { timeout: 420_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-rolling-test-'));
  removeAtExit(work);
  const data = join(work, 'sp500');
  let summary: Record<string, unknown>;

  before(async () => {
    assert.ok(existsSync(SP500), `${SP500} is missing`);
    const imp = await runNode([join(REPO, 'bin/qtask.js'), 'data', 'import-csv', SP500, data, '--adjust', '--duplicates', 'first', '--no-progress'], 120_000);
    assert.equal(imp.code, 0, imp.stderr);
    const ran = await runNode(
      [...tsx('examples/task_manager_rolling.ts'), 'main', '--provider', data, '--work-dir', join(work, 'run'), '--instruments', SYMBOLS, '--features', 'small', '--step', '240', '--workers', '2', '--json'],
      300_000,
    );
    assert.equal(ran.code, 0, `example failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
    summary = lastJson(ran.stdout);
  });

  it('trains every window through the pool with two worker processes', () => {
    assert.equal(summary.tasks, 4);
    assert.deepEqual(summary.exitCodes, [0, 0]);
    const byWorker = summary.byWorker as Record<string, number>;
    for (const w of Object.keys(byWorker)) assert.ok(['rolling-w1', 'rolling-w2'].includes(w), w);
    assert.equal(Object.values(byWorker).reduce((a, b) => a + b, 0), 4);
  });

  it('RollingEnsemble covers every test date once and equals, date by date, the responsible window', () => {
    const merged = csvToObject(readFileSync(summary.merged as string, 'utf8'), 'rolling_pred.csv');
    assert.ok(isPanel(merged));
    const mergedByDate = rowsOn(merged);
    // Dates appear in one sorted run each: no date is split or repeated.
    for (let r = 1; r < merged.dates.length; r++) assert.ok(merged.dates[r - 1]! <= merged.dates[r]!, `unsorted at row ${r}`);

    // Each recorder, read on its own: its task's test segment and its pred artifact.
    const { recorders } = getStore({ uri: summary.mlruns as string }).listRecorders({ experimentName: summary.experiment as string });
    assert.equal(recorders.length, 4);
    const windows = recorders
      .map((rec) => {
        const task = rec.loadObject('task') as { dataset: { kwargs: { segments: { test: Seg } } } };
        const pred = rec.loadObject('pred');
        assert.ok(isPanel(pred));
        return { test: task.dataset.kwargs.segments.test, rows: rowsOn(pred) };
      })
      .sort((a, b) => a.test[0].localeCompare(b.test[0]));
    for (let i = 1; i < windows.length; i++) assert.ok(windows[i - 1]!.test[1]! < windows[i]!.test[0], 'test windows overlap');

    // Every trading day from the first test start to the end of the data, exactly once.
    const cal = new LocalProvider(join(work, 'sp500')).calendarDays();
    const testDays = cal.filter((d) => d >= windows[0]!.test[0]);
    assert.deepEqual([...mergedByDate.keys()], testDays);

    let compared = 0;
    for (const [date, rows] of mergedByDate) {
      const owners = windows.filter((w) => date >= w.test[0] && (w.test[1] === null || date <= w.test[1]));
      assert.equal(owners.length, 1, `${date} has ${owners.length} responsible windows`);
      const own = owners[0]!.rows.get(date);
      assert.ok(own, `window ${owners[0]!.test.join('..')} has no prediction on ${date}`);
      assert.deepEqual([...rows.keys()].sort(), [...own.keys()].sort(), `instruments on ${date}`);
      for (const [inst, v] of rows) {
        assert.ok(Object.is(v, own.get(inst)), `${date} ${inst}: merged ${v}, window ${own.get(inst)}`);
        compared++;
      }
    }
    assert.equal(compared, merged.dates.length);
    assert.equal(merged.dates.length, (summary.collect as { rows: number }).rows);
  });
});
