/** examples/online_simulation.ts on synthetic data: a year of daily routines, then IC and backtest of the signal. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager } from '../../src/store/taskManager.ts';
import { lastJson, removeAtExit, runNode, tsx } from './helpers.ts';

it('simulates 252 trading days: a signal every day, a new model every 63 days, finite IC and backtest', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-online-sim-test-'));
  removeAtExit(work);
  const ran = await runNode([...tsx('examples/online_simulation.ts'), '--work-dir', work, '--json'], 230_000);
  assert.equal(ran.code, 0, `example failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  const s = lastJson(ran.stdout);
  const cal = new LocalProvider(join(work, 'data')).calendarDays();
  assert.equal(s.days, 252);
  assert.equal(s.signalDates, 252, 'one signal date per simulated trading day');
  assert.equal(s.firstSignal, cal[cal.length - 252]);
  assert.equal(s.lastSignal, cal[cal.length - 1]);
  assert.equal(s.models, 4, 'first train + a switch at days 63, 126, 189');
  for (const k of ['IC', 'RankIC', 'annualizedExcessReturn', 'maxDrawdown']) assert.ok(Number.isFinite(s[k]), `${k} = ${String(s[k])}`);
  assert.ok((s.IC as number) > 0.01, `IC ${String(s.IC)}`);
});

it('--trainer TrainerRM: the same simulation trained through a SQLite task pool', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-online-sim-rm-test-'));
  removeAtExit(work);
  const ran = await runNode([...tsx('examples/online_simulation.ts'), '--work-dir', work, '--days', '80', '--trainer', 'TrainerRM', '--json'], 230_000);
  assert.equal(ran.code, 0, `example failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  const s = lastJson(ran.stdout);
  assert.equal(s.trainer, 'TrainerRM');
  assert.equal(s.signalDates, 80);
  assert.equal(s.models, 2, 'first train + the switch at day 63');
  const store = new SqliteTaskStore(join(work, 'task_pool.db'));
  const docs = await new TaskManager(store, 'LinearModel', { log: () => {} }).query({});
  await store.close();
  assert.equal(docs.length, 2);
  assert.ok(docs.every((d) => d.status === 'done'));
});
