/** Each pool command's happy path through the real CLI on a temp SQLite file, `--json` parsed and checked. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TaskDocument } from '../../src/task/types.ts';
import { FIXTURES, QTASK_BIN, REPO, runCli, runJson, tempDir, waitUntil } from './helpers.ts';

interface CreateJson {
  total: number;
  new: number;
  existing: number;
  ids: (string | null)[];
  dryRun: boolean;
}
type Counts = Record<string, number>;

const TASKS_FILE = join(FIXTURES, 'tasks.json');

describe('qtask pool commands (happy paths, --json)', () => {
  const tmp = tempDir();
  const url = `sqlite:${join(tmp.dir, 'tasks.db')}`;
  const base = ['--store', url, '--pool', 'rolling'];
  let ids: string[] = [];

  after(() => tmp.cleanup());

  before(async () => {
    const created = await runJson<CreateJson>([...base, 'create', TASKS_FILE, '--json']);
    ids = created.ids as string[];
  });

  test('create: new tasks get ids in input order; creating again adds nothing and returns the same ids', async () => {
    assert.equal(ids.length, 3);
    for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/);
    assert.equal(new Set(ids).size, 3);
    const again = await runJson<CreateJson>([...base, 'create', TASKS_FILE, '--json']);
    assert.deepEqual(again, { total: 3, new: 0, existing: 3, ids, dryRun: false });
  });

  test('create: prints qlib\'s "Total Tasks: N, New Tasks: M" line', async () => {
    const r = await runCli([...base, 'create', TASKS_FILE]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'Total Tasks: 3, New Tasks: 0');
  });

  test('create -: reads YAML from stdin; --dry-run reports new tasks without writing them', async () => {
    const yaml = [
      'model: {class: LinearModel, module_path: qlib.contrib.model.linear}',
      'dataset:',
      '  class: DatasetH',
      '  kwargs:',
      '    segments: {train: ["2015-01-01", "2015-12-31"], test: ["2016-01-01", "2016-03-31"]}',
    ].join('\n');
    const dry = await runJson<CreateJson>([...base, 'create', '-', '--dry-run', '--json'], { input: yaml });
    assert.deepEqual(dry, { total: 1, new: 1, existing: 0, ids: [null], dryRun: true });
    const statAfterDry = await runJson<Counts>([...base, 'stat', '--json']);
    assert.equal(statAfterDry.total, 3);

    const other = ['--store', url, '--pool', 'scratch'];
    const real = await runJson<CreateJson>([...other, 'create', '-', '--json'], { input: yaml });
    assert.equal(real.new, 1);
    assert.match(real.ids[0] ?? '', /^[0-9a-f]{24}$/);
    const stored = await runJson<TaskDocument>([...other, 'show', real.ids[0] as string, '--json']);
    assert.deepEqual((stored.def.dataset as { kwargs: { segments: unknown } }).kwargs.segments, {
      train: ['2015-01-01', '2015-12-31'],
      test: ['2016-01-01', '2016-03-31'],
    });
  });

  test('list: every pool with its counts', async () => {
    const pools = await runJson<{ pool: string; counts: Counts }[]>([...base, 'list', '--json']);
    const byName = Object.fromEntries(pools.map((p) => [p.pool, p.counts]));
    assert.equal(byName.rolling?.waiting, 3);
    assert.equal(byName.rolling?.total, 3);
    assert.equal(byName.scratch?.total, 1);
  });

  test('stat: counts per status, also under --query', async () => {
    const all = await runJson<Counts>([...base, 'stat', '--json']);
    assert.deepEqual(all, { waiting: 3, running: 0, part_done: 0, done: 0, failed: 0, cancelled: 0, total: 3 });
    const lgb = await runJson<Counts>([...base, 'stat', '--query', '{"filter.model.class": "LGBModel"}', '--json']);
    assert.equal(lgb.waiting, 1);
    assert.equal(lgb.total, 1);
    const table = await runCli([...base, 'stat']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^waiting\s+3$/m);
  });

  test("query: documents in qlib's shape; filters on def/filter paths; --limit", async () => {
    const docs = await runJson<TaskDocument[]>([...base, 'query', '{}', '--json']);
    assert.equal(docs.length, 3);
    for (const d of docs) {
      for (const key of ['_id', 'def', 'filter', 'status', 'priority', 'hash', 'attempts', 'createdAt']) assert.ok(key in d, `missing ${key}`);
      assert.deepEqual(d.filter, d.def);
      assert.equal(d.status, 'waiting');
      assert.equal(d.priority, 0);
    }
    assert.deepEqual(docs.map((d) => d._id).sort(), [...ids].sort());
    const linear = await runJson<TaskDocument[]>([...base, 'query', '{"def.model.class": "LinearModel"}', '--json']);
    assert.deepEqual(linear.map((d) => d._id).sort(), [ids[0], ids[1]].sort());
    const one = await runJson<TaskDocument[]>([...base, 'query', '{}', '--limit', '1', '--json']);
    assert.equal(one.length, 1);
    const table = await runCli([...base, 'query', '{"filter.model.class": "LGBModel"}']);
    assert.equal(table.code, 0);
    assert.ok(table.stdout.includes(ids[2]) && table.stdout.includes('LGBModel'), table.stdout);
  });

  test('show: one task in full', async () => {
    const doc = await runJson<TaskDocument>([...base, 'show', ids[2], '--json']);
    assert.equal(doc._id, ids[2]);
    assert.equal((doc.def.model as { class: string }).class, 'LGBModel');
    const text = await runCli([...base, 'show', ids[2]]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^status\s+waiting$/m);
  });

  test('prioritize: the task moves to the front of the queue', async () => {
    const r = await runJson<{ id: string; priority: number }>([...base, 'prioritize', ids[1], '7', '--json']);
    assert.deepEqual(r, { id: ids[1], priority: 7 });
    const docs = await runJson<TaskDocument[]>([...base, 'query', '{}', '--json']);
    assert.equal(docs[0]._id, ids[1]);
    assert.equal(docs[0].priority, 7);
    await runJson([...base, 'prioritize', ids[1], '-2', '--json']);
    const shown = await runJson<TaskDocument>([...base, 'show', ids[1], '--json']);
    assert.equal(shown.priority, -2);
  });

  test('reset-status and reset-waiting: counts changed, qlib semantics (reset-waiting touches running only)', async () => {
    const done = await runJson<{ changed: number; status: string }>([
      ...base, 'reset-status', '--status', 'done', '--query', `{"_id": "${ids[0]}"}`, '--json',
    ]);
    assert.deepEqual(done, { changed: 1, status: 'done' });
    assert.equal((await runJson<Counts>([...base, 'stat', '--json'])).done, 1);
    // A task left running by a worker that died: claimed through the real store, never finished.
    const { openStore } = await import('../../src/store/url.ts');
    const store = await openStore(url);
    try {
      const claimed = await store.claim('rolling', { worker: 'dead-worker', leaseMs: 600_000 });
      assert.ok(claimed);
    } finally {
      await store.close();
    }
    assert.equal((await runJson<Counts>([...base, 'stat', '--json'])).running, 1);
    const back = await runJson<{ changed: number }>([...base, 'reset-waiting', '--json']);
    assert.equal(back.changed, 1, 'only the running task is reset, not the done one');
    const counts = await runJson<Counts>([...base, 'stat', '--json']);
    assert.deepEqual([counts.running, counts.waiting, counts.done], [0, 2, 1]);
    await runJson([...base, 'reset-status', '--status', 'waiting', '--json']);
  });

  test('wait: returns once nothing is unfinished; shows progress without a TTY', async () => {
    const child = spawn(process.execPath, [QTASK_BIN, ...base, 'wait', '--poll', '0.2', '--timeout', '60', '--json'], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
    // Finish the tasks from the outside once `wait` is polling.
    await waitUntil(() => stderr.includes('Waiting for'), 30_000, 'wait to start polling');
    await runJson([...base, 'reset-status', '--status', 'done', '--json']);
    const code = await exited;
    assert.equal(code, 0, stderr);
    const counts = JSON.parse(stdout) as Counts;
    assert.equal(counts.done, 3);
    assert.match(stderr, /Waiting for 3 undone task/);
    assert.match(stderr, /finished/);
  });

  test('wait: returns at once when everything is finished', async () => {
    const started = Date.now();
    const counts = await runJson<Counts>([...base, 'wait', '--timeout', '30', '--json']);
    assert.equal(counts.done, 3);
    assert.ok(Date.now() - started < 20_000);
  });

  test('cancel: only unfinished tasks are cancelled', async () => {
    await runJson([...base, 'reset-status', '--status', 'waiting', '--query', `{"_id": {"$in": ["${ids[0]}", "${ids[1]}"]}}`, '--json']);
    const r = await runJson<{ changed: number }>([...base, 'cancel', '--json']);
    assert.equal(r.changed, 2);
    const counts = await runJson<Counts>([...base, 'stat', '--json']);
    assert.equal(counts.cancelled, 2);
    assert.equal(counts.done, 1);
  });

  test('remove: --query deletes the matching tasks, --all the rest', async () => {
    const one = await runJson<{ removed: number }>([...base, 'remove', '--query', `{"_id": "${ids[2]}"}`, '--json']);
    assert.equal(one.removed, 1);
    assert.equal((await runJson<Counts>([...base, 'stat', '--json'])).total, 2);
    const rest = await runJson<{ removed: number }>([...base, 'remove', '--all', '--json']);
    assert.equal(rest.removed, 2);
    assert.equal((await runJson<Counts>([...base, 'stat', '--json'])).total, 0);
    // The other pool is untouched.
    assert.equal((await runJson<Counts>(['--store', url, '--pool', 'scratch', 'stat', '--json'])).total, 1);
  });

  test('--store/--pool fall back to QTASK_STORE/QTASK_POOL', async () => {
    const counts = await runJson<Counts>(['stat', '--json'], { env: { QTASK_STORE: url, QTASK_POOL: 'scratch' } });
    assert.equal(counts.total, 1);
  });

  test('every command has --help', async () => {
    for (const cmd of ['list', 'create', 'stat', 'query', 'show', 'wait', 'reset-waiting', 'reset-status', 'prioritize', 'cancel', 'remove']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage: qtask ${cmd}`));
    }
  });

  test('the README documents every pool command', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    for (const cmd of ['list', 'create', 'stat', 'query', 'show', 'wait', 'reset-waiting', 'reset-status', 'prioritize', 'cancel', 'remove']) {
      assert.ok(readme.includes(cmd), `README does not mention ${cmd}`);
    }
  });
});
