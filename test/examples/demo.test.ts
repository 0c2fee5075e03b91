/** `npm run demo` end to end: synthetic data → rolling tasks → SQLite → 2 workers → collect → backtest → report. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { getStore } from '../../src/recorder/index.ts';
import { lastJson, removeAtExit, runNode, tsx } from './helpers.ts';

it('the demo runs the whole loop and reports finite metrics', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-demo-test-'));
  removeAtExit(dir);
  const ran = await runNode([...tsx('examples/demo.ts'), dir, '--json'], 290_000);
  assert.equal(ran.code, 0, `demo failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  // Progress through every stage.
  let at = -1;
  for (const s of ['1. data', '2. generate', '3. store', '4. train', '5. collect', '6. backtest', '7. report']) {
    const i = ran.stdout.indexOf(s);
    assert.ok(i > at, `stage ${s} missing or out of order`);
    at = i;
  }
  assert.match(ran.stderr, /tasks \[.*\] \d+\/\d+ finished/, 'training progress bar');
  const { report } = lastJson(ran.stdout) as { report: Record<string, unknown> };
  assert.equal(report.tasks, 7);
  const windows = report.windows as { IC: number; RankIC: number }[];
  assert.equal(windows.length, 7);
  for (const w of windows) assert.ok(Number.isFinite(w.IC) && Number.isFinite(w.RankIC), JSON.stringify(w));
  for (const k of ['IC', 'ICIR', 'RankIC', 'RankICIR', 'annualizedExcessReturn', 'annualizedExcessReturnWithoutCost', 'informationRatio', 'maxDrawdown']) {
    assert.ok(Number.isFinite(report[k]), `${k} = ${String(report[k])}`);
  }
  // The synthetic market is built so that these features predict returns: a clearly positive IC.
  assert.ok((report.IC as number) > 0.01, `IC ${String(report.IC)}`);
  assert.ok((report.maxDrawdown as number) <= 0);
  // Costs only take away.
  assert.ok((report.annualizedExcessReturn as number) < (report.annualizedExcessReturnWithoutCost as number));
  // The trained recorders are real: one FINISHED run per task.
  const { infos } = getStore({ uri: join(dir, 'mlruns') }).listRecorders({ experimentName: 'rolling_demo' });
  assert.equal(infos.filter((i) => i.status === 'FINISHED').length, 7);
});
