/** `qtask worker` as a real process: two-stage shutdown, draining, exit codes, bad flags. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TASKS, startCli, tempStore, waitUntil, type TempStore, type WorkerProcess } from './helpers.ts';

let t: TempStore;
let poolSeq = 0;
const newPool = () => `w${++poolSeq}`;

before(async () => {
  t = await tempStore('qtask-worker-');
});
after(async () => {
  await t.cleanup();
});

function worker(pool: string, args: string[]): WorkerProcess {
  return startCli(['--store', t.url, '--pool', pool, 'worker', '--json', ...args]);
}

async function claimedEvent(w: WorkerProcess): Promise<void> {
  await waitUntil(() => w.events().some((e) => e.type === 'claimed'), 30_000, `a claimed event (stderr: ${w.stderr()})`);
}

async function exitWithin(w: WorkerProcess, ms: number) {
  const timer = setTimeout(() => w.child.kill('SIGKILL'), ms);
  const r = await w.exited;
  clearTimeout(timer);
  assert.notEqual(r.signal, 'SIGKILL', `worker did not exit within ${ms} ms; stderr: ${w.stderr()}`);
  return r;
}

describe('qtask worker: graceful shutdown', () => {
  it('first SIGTERM: the running task finishes, nothing new is claimed, exit 143 with a summary', async () => {
    const pool = newPool();
    // Long enough that the signal surely lands during the first task, even on a loaded machine.
    await t.store.createTasks(pool, [{ ms: 5000, n: 1 }, { ms: 5000, n: 2 }]);
    const w = worker(pool, ['--task-fn', 'qtask:sleep']);
    await claimedEvent(w);
    w.child.kill('SIGTERM');
    const r = await exitWithin(w, 30_000);
    assert.equal(r.code, 143);
    assert.deepEqual(await t.store.stat(pool), { done: 1, waiting: 1 });
    assert.match(w.stderr(), /worker \S+: 1 done, 0 failed, 0 returned in \d+\.\ds/);
    const summary = w.events().find((e) => e.type === 'summary');
    assert.equal(summary?.succeeded, 1);
    assert.equal(summary?.exitCode, 143);
  });

  it('SIGTERM twice: the task is returned to waiting at once, even if the fn ignores its signal', async () => {
    const pool = newPool();
    const { ids } = await t.store.createTasks(pool, [{ ms: 60_000 }]);
    const w = worker(pool, ['--task-fn', `${TASKS}#sleepsIgnoringSignal`]);
    await claimedEvent(w);
    w.child.kill('SIGTERM');
    await waitUntil(() => /SIGTERM: no new tasks/.test(w.stderr()), 10_000, 'the first signal to be handled');
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    const r = await exitWithin(w, 20_000);
    assert.ok(Date.now() - t0 < 10_000, 'exited promptly after the second signal');
    assert.equal(r.code, 143);
    const doc = await t.store.get(pool, ids[0]!);
    assert.equal(doc?.status, 'waiting');
    assert.equal(doc?.attempts, 1);
    assert.equal(doc?.lastError?.code, 'WORKER_SHUTDOWN');
    assert.equal(doc?.leaseToken, null);
    assert.match(w.stderr(), /0 done, 0 failed, 1 returned/);
  });

  it('SIGINT with --grace 1: a task still running after the grace is returned; exit 130', async () => {
    const pool = newPool();
    const { ids } = await t.store.createTasks(pool, [{ ms: 60_000 }]);
    const w = worker(pool, ['--task-fn', 'qtask:sleep', '--grace', '1']);
    await claimedEvent(w);
    w.child.kill('SIGINT');
    const r = await exitWithin(w, 20_000);
    assert.equal(r.code, 130);
    const doc = await t.store.get(pool, ids[0]!);
    assert.equal(doc?.status, 'waiting');
    assert.equal(doc?.lastError?.code, 'WORKER_SHUTDOWN');
  });

  it('--fork: SIGTERM twice kills the child and returns the task', async () => {
    const pool = newPool();
    const { ids } = await t.store.createTasks(pool, [{ ms: 60_000 }]);
    const w = worker(pool, ['--task-fn', `${TASKS}#sleepsIgnoringSignal`, '--fork']);
    await claimedEvent(w);
    w.child.kill('SIGTERM');
    await waitUntil(() => /SIGTERM: no new tasks/.test(w.stderr()), 10_000, 'the first signal to be handled');
    w.child.kill('SIGTERM');
    const r = await exitWithin(w, 20_000);
    assert.equal(r.code, 143);
    assert.equal((await t.store.get(pool, ids[0]!))?.status, 'waiting');
  });
});

describe('qtask worker: draining', () => {
  it('without --once it waits for tasks other workers hold and takes them over when their lease expires', async () => {
    const pool = newPool();
    await t.store.createTasks(pool, [{ n: 1 }, { n: 2 }]);
    // A "dead" worker holds one task with a short lease and never finishes it.
    const held = await t.store.claim(pool, { worker: 'dead', leaseMs: 1500 });
    assert.ok(held);
    const w = worker(pool, ['--task-fn', 'qtask:echo', '--poll', '0.1']);
    const r = await exitWithin(w, 30_000);
    assert.equal(r.code, 0, w.stderr());
    assert.deepEqual(await t.store.stat(pool), { done: 2 });
    const doc = await t.store.get(pool, held.task._id);
    assert.equal(doc?.attempts, 2);
    assert.notEqual(doc?.worker, 'dead');
  });

  it('--once exits as soon as nothing is claimable, leaving tasks others hold', async () => {
    const pool = newPool();
    await t.store.createTasks(pool, [{ n: 1 }, { n: 2 }]);
    const held = await t.store.claim(pool, { worker: 'other', leaseMs: 60_000 });
    assert.ok(held);
    const w = worker(pool, ['--task-fn', 'qtask:echo', '--once']);
    const r = await exitWithin(w, 30_000);
    assert.equal(r.code, 0, w.stderr());
    assert.deepEqual(await t.store.stat(pool), { done: 1, running: 1 });
  });

  it('a failing task does not stop the worker: it ends failed after --max-attempts, the rest run', async () => {
    const pool = newPool();
    await t.store.createTasks(pool, [{ ms: 'not a number' }, { ms: 1 }, { ms: 2 }]);
    const w = worker(pool, ['--task-fn', 'qtask:sleep', '--max-attempts', '2']);
    const r = await exitWithin(w, 30_000);
    assert.equal(r.code, 0, w.stderr());
    assert.deepEqual(await t.store.stat(pool), { done: 2, failed: 1 });
    const failed = await t.store.find(pool, { status: 'failed' });
    assert.equal(failed[0]?.lastError?.code, 'VALIDATION');
    assert.match(w.stderr(), /2 done, 1 failed, 1 returned/);
  });
});

describe('qtask worker: bad flags are one-line errors and change nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['before-status running', ['--task-fn', 'qtask:echo', '--before-status', 'running'], /VALIDATION: .*beforeStatus/],
    ['unknown status', ['--task-fn', 'qtask:echo', '--after-status', 'nope'], /--after-status/],
    ['missing module', ['--task-fn', 'test/run/fixtures/missing.ts#x'], /TASK_FN_MODULE_NOT_FOUND/],
    ['missing export', ['--task-fn', `${TASKS}#nope`], /TASK_FN_EXPORT_NOT_FOUND.*double/],
    ['bad max attempts', ['--task-fn', 'qtask:echo', '--max-attempts', '0'], /--max-attempts/],
    ['bad lease', ['--task-fn', 'qtask:echo', '--lease', 'soon'], /--lease/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, async () => {
      const dbPath = join(t.dir, `untouched-${name.replace(/\W/g, '_')}.db`);
      const w = startCli(['--store', `sqlite:${dbPath}`, 'worker', ...args]);
      const r = await exitWithin(w, 30_000);
      assert.equal(r.code, 2, w.stderr());
      assert.match(w.stderr(), pattern);
      assert.equal(w.stderr().trim().split('\n').length, 1, `one line: ${w.stderr()}`);
      assert.equal(existsSync(dbPath), false, 'the store was not even created');
    });
  }
});
