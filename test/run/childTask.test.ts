import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QtaskError } from '../../src/errors.ts';
import { runTaskInChild } from '../../src/run/childTask.ts';
import { resolveTaskFnModule } from '../../src/run/taskFunction.ts';

const MODULE = resolveTaskFnModule('test/run/fixtures/tasks.ts');

function start(exportName: string, param: import('../../src/task/types.ts').JsonValue = null, logs: string[] = []) {
  return runTaskInChild({ module: MODULE, export: exportName, param, taskId: 'tid', attempt: 2, worker: 'w9', onLog: (m) => logs.push(m) });
}

async function rejection(p: Promise<unknown>): Promise<QtaskError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof QtaskError, `expected a QtaskError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('runTaskInChild (real child processes)', () => {
  it('runs the function in another process with the context and forwards ctx.log', async () => {
    const logs: string[] = [];
    const h = start('describesContext', { p: 1 }, logs);
    const res = (await h.result) as Record<string, unknown>;
    assert.notEqual(res.pid, process.pid);
    assert.equal(res.pid, h.pid);
    assert.deepEqual({ ...res, pid: 0 }, { taskId: 'tid', attempt: 2, worker: 'w9', pid: 0, param: { p: 1 } });
    assert.deepEqual(logs, ['hello from the task']);
  });
  it('brings errors back with their code and nonRetryable flag', async () => {
    const plain = await rejection(start('alwaysThrows').result);
    assert.equal(plain.code, 'TASK_THREW');
    assert.equal(plain.nonRetryable, false);
    assert.equal(plain.message, 'boom');
    const nr = await rejection(start('throwsNonRetryable').result);
    assert.equal(nr.code, 'BAD_INPUT');
    assert.equal(nr.nonRetryable, true);
    const str = await rejection(start('throwsString').result);
    assert.equal(str.code, 'TASK_THREW_NON_ERROR');
  });
  it('a non-JSON result is RESULT_NOT_JSON', async () => {
    const e = await rejection(start('returnsBigInt').result);
    assert.equal(e.code, 'RESULT_NOT_JSON');
    assert.equal(e.path, 'res.big');
  });
  it('a child killed by a signal, or exiting without a result, is CHILD_CRASHED', async () => {
    const killed = await rejection(start('crashes').result);
    assert.equal(killed.code, 'CHILD_CRASHED');
    assert.match(killed.message, /SIGKILL/);
    const quiet = await rejection(start('exitsQuietly').result);
    assert.equal(quiet.code, 'CHILD_CRASHED');
    assert.match(quiet.message, /code 0 without a result/);
  });
  it('a missing export is reported as TASK_FN_EXPORT_NOT_FOUND from the child', async () => {
    const e = await rejection(start('nope').result);
    assert.equal(e.code, 'TASK_FN_EXPORT_NOT_FOUND');
  });
  it('abort() stops a child that ignores its signal (killed shortly after)', async () => {
    const h = start('sleepsIgnoringSignal', { ms: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    h.abort(new Error('lease lost'));
    const e = await rejection(h.result);
    assert.equal(e.code, 'CHILD_CRASHED');
    assert.ok(Date.now() - t0 < 15_000, 'killed well before the task would have ended');
  });
});
