/** examples/rolling_online_management.ts on synthetic data: first train, routines in reloaded managers, add_strategy. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager } from '../../src/store/taskManager.ts';
import { lastJson, removeAtExit, runNode, tsx } from './helpers.ts';

it('first_run, three routines (models switch), an idempotent same-day routine, add_strategy, then a separate routine process', { timeout: 300_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-online-mgmt-test-'));
  removeAtExit(work);
  const ran = await runNode([...tsx('examples/rolling_online_management.ts'), 'main', '--work-dir', work, '--json'], 200_000);
  assert.equal(ran.code, 0, `example failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  const cal = new LocalProvider(join(work, 'data')).calendarDays();
  const last = cal[cal.length - 1]!;
  const s = lastJson(ran.stdout) as { lastRoutine: string; signals: { end: string; rows: number }; strategies: { name: string; online: string[]; onlineVersion: number; models: number }[] };
  assert.match(ran.stdout, /routine again \(same day\) …\n {3}routine \d{4}-\d{2}-\d{2}: already done/);
  assert.equal(s.lastRoutine, last);
  assert.equal(s.signals.end, last);
  assert.ok(s.signals.rows > 0);
  assert.deepEqual(s.strategies.map((x) => x.name), ['LinearModel', 'LinearRidge']);
  const lin = s.strategies[0]!;
  assert.ok(lin.models >= 3 && lin.onlineVersion >= 3, `models switched: ${JSON.stringify(lin)}`);
  assert.equal(s.strategies[1]!.models, 1);

  // qlib's default DelayTrainerRM: one task pool per strategy, every task fitted (done)
  const store = new SqliteTaskStore(join(work, 'task_pool.db'));
  for (const x of s.strategies) {
    const docs = await new TaskManager(store, x.name, { log: () => {} }).query({});
    assert.equal(docs.length, x.models, `${x.name}: one pool task per model`);
    assert.ok(docs.every((d) => d.status === 'done'), `${x.name}: ${docs.map((d) => d.status).join()}`);
  }
  await store.close();
  const worker = await runNode([...tsx('examples/rolling_online_management.ts'), 'worker', '--work-dir', work], 120_000);
  assert.equal(worker.code, 0, worker.stderr);
  assert.match(worker.stdout, /pool LinearModel: \{"done":\d+\} → \{"done":\d+\}/);

  // A later day's routine in a fresh process: the saved state reloads with both strategies; the day is done already.
  const again = await runNode([...tsx('examples/rolling_online_management.ts'), 'routine', '--work-dir', work, '--json'], 120_000);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already done/);
  const s2 = lastJson(again.stdout) as typeof s;
  assert.deepEqual(s2.signals, s.signals, 'nothing changes');
});
