/** `qtask online` end to end through the real CLI: init, routine across a switch, idempotent re-run, signals, status, bad config. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { TaskManager } from '../../src/store/taskManager.ts';
import { runCli } from '../cli/helpers.ts';
import { smallProvider, template, tmpRoot } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root, 6);

function writeConfig(name: string, extra: Record<string, unknown> = {}): string {
  writeFileSync(join(root, 'task.yaml'), stringify(template('lin')));
  const file = join(root, name);
  writeFileSync(file, stringify({ provider_uri: './data', mlruns: './mlruns', state_dir: `./state-${name}`, begin_time: '2019-01-02', strategies: [{ name: 'lin', template: './task.yaml', rolling_step: 20, rtype: 'sliding' }], ...extra }));
  return file;
}

test('init → routine (switches after 20 days) → same-day routine is a no-op → signals cover every day once → status', async () => {
  const cfg = writeConfig('online.yaml');
  const before = await runCli(['online', 'routine', '--config', cfg, '--date', '2019-01-03']);
  assert.notEqual(before.code, 0);
  assert.match(before.stderr, /ONLINE_STATE/);
  const init = await runCli(['online', 'init', '--config', cfg]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal((JSON.parse(init.stdout) as { strategies: { onlineVersion: number }[] }).strategies[0]!.onlineVersion, 1);
  const r = await runCli(['online', 'routine', '--config', cfg, '--date', '2019-02-15']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { ran: boolean; trained: Record<string, string[]> };
  assert.equal(res.ran, true);
  assert.equal(res.trained['lin']!.length, 1, 'one window starts within (2019-01-02 + 20 days, 2019-02-15]');
  const state = readFileSync(join(root, 'state-online.yaml', 'state.json'), 'utf8');
  const again = await runCli(['online', 'routine', '--config', cfg, '--date', '2019-02-15']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { ran: boolean }).ran, false);
  assert.equal(readFileSync(join(root, 'state-online.yaml', 'state.json'), 'utf8'), state);
  const sig = await runCli(['online', 'signals', '--config', cfg]);
  assert.equal(sig.code, 0, sig.stderr);
  const rows = sig.stdout.trim().split('\n').slice(1).map((l) => l.split(','));
  const days = [...new Set(rows.map((x) => x[0]))];
  const cal = readFileSync(join(providerUri, 'calendars', 'day.txt'), 'utf8').split('\n').map((l) => l.slice(0, 10)).filter((d) => d >= '2019-01-02' && d <= '2019-02-15');
  assert.deepEqual(days, cal);
  assert.equal(new Set(rows.map((x) => `${x[0]}|${x[1]}`)).size, rows.length);
  const st = await runCli(['online', 'status', '--config', cfg]);
  const status = JSON.parse(st.stdout) as { lastRoutine: string; strategies: { onlineVersion: number; models: number }[] };
  assert.equal(status.lastRoutine, '2019-02-15');
  assert.equal(status.strategies[0]!.onlineVersion, 2);
  assert.equal(status.strategies[0]!.models, 2);
});

test('bad config: unknown trainer, task_pool, routine past the calendar', async () => {
  const bad = await runCli(['online', 'init', '--config', writeConfig('bad.yaml', { trainer: 'MagicTrainer' })]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /ONLINE_CONFIG/);
  assert.match(bad.stderr, /trainer/);
  const pool = await runCli(['online', 'init', '--config', writeConfig('pool.yaml', { task_pool: 'p' })]);
  assert.match(pool.stderr, /ONLINE_CONFIG.*task_pool is only for the task-pool trainers/s, 'task_pool with TrainerR');
  const shared = writeConfig('shared.yaml', { trainer: 'TrainerRM', task_pool: 'p' });
  const doc = parse(readFileSync(shared, 'utf8')) as { strategies: Record<string, unknown>[] };
  doc.strategies.push({ ...doc.strategies[0], name: 'lin2' });
  writeFileSync(shared, stringify(doc));
  const two = await runCli(['online', 'init', '--config', shared]);
  assert.match(two.stderr, /ONLINE_CONFIG.*one task_pool for 2 strategies/s);
  const skip = await runCli(['online', 'init', '--config', writeConfig('skip.yaml', { trainer: 'TrainerRM', skip_run_task: 'yes' })]);
  assert.match(skip.stderr, /ONLINE_CONFIG.*skip_run_task/s);
  for (const name of ['pool.yaml', 'shared.yaml', 'skip.yaml']) assert.equal(existsSync(join(root, `state-${name}`)), false, `${name}: nothing written`);
  const cfg = writeConfig('late.yaml');
  assert.equal((await runCli(['online', 'init', '--config', cfg])).code, 0);
  const late = await runCli(['online', 'routine', '--config', cfg, '--date', '2024-01-02']);
  assert.notEqual(late.code, 0);
  assert.match(late.stderr, /ONLINE_CALENDAR/);
  assert.match(late.stderr, /calendar ends on 2020-/);
});

test('trainer: TrainerRM from the YAML: models are trained through the task pool (default sqlite:<state_dir>/task_pool.db)', async () => {
  const cfg = writeConfig('rm.yaml', { trainer: 'TrainerRM' });
  const init = await runCli(['online', 'init', '--config', cfg]);
  assert.equal(init.code, 0, init.stderr);
  const r = await runCli(['online', 'routine', '--config', cfg, '--date', '2019-02-15']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { trained: Record<string, string[]> };
  const store = new SqliteTaskStore(join(root, 'state-rm.yaml', 'task_pool.db'));
  const docs = await new TaskManager(store, 'lin', { log: () => {} }).query({});
  await store.close();
  assert.equal(docs.length, 2, 'the first model and the one rolled in on the switch');
  assert.ok(docs.every((d) => d.status === 'done'));
  assert.ok(docs.some((d) => (d.res as { recorderId: string }).recorderId === res.trained['lin']![0]));
});
