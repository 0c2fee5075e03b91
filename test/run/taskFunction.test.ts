import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFunctionError, ValidationError } from '../../src/errors.ts';
import { loadTaskFunction, parseTaskFnSpec, resolveTaskFnModule } from '../../src/run/taskFunction.ts';
import { registerBuiltinTaskFn } from '../../src/run/builtinTaskFns.ts';
import type { TaskContext } from '../../src/run/types.ts';

const FIXTURE = 'test/run/fixtures/tasks.ts';

function ctx(signal = new AbortController().signal): TaskContext {
  return { taskId: 't1', attempt: 1, worker: 'w', signal, log: () => {} };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<TaskFunctionError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TaskFunctionError, `expected TaskFunctionError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.path, 'taskFn');
    assert.ok(e.hint, 'has a hint');
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('parseTaskFnSpec', () => {
  it('splits on the last # and defaults the export to default', () => {
    assert.deepEqual(parseTaskFnSpec('a/b.ts#train'), { module: 'a/b.ts', export: 'train' });
    assert.deepEqual(parseTaskFnSpec('a/b.ts'), { module: 'a/b.ts', export: 'default' });
    assert.deepEqual(parseTaskFnSpec('qtask:echo'), { module: 'qtask:echo', export: 'default' });
  });
  it('rejects an empty module or export', () => {
    assert.throws(() => parseTaskFnSpec(''), ValidationError);
    assert.throws(() => parseTaskFnSpec('mod.ts#'), ValidationError);
  });
});

describe('loadTaskFunction', () => {
  it('loads a named export relative to the cwd', async () => {
    const fn = await loadTaskFunction(`${FIXTURE}#double`);
    assert.deepEqual(await fn({ x: 21 }, ctx()), { x: 42 });
  });
  it('loads the default export when none is named', async () => {
    const fn = await loadTaskFunction(`./${FIXTURE}`);
    assert.deepEqual(await fn({ a: [1] }, ctx()), { a: [1] });
  });
  it('accepts a {module, export} spec', async () => {
    const fn = await loadTaskFunction({ module: FIXTURE, export: 'double' });
    assert.deepEqual(await fn({ x: 1 }, ctx()), { x: 2 });
  });
  it('loads an export of an installed package', async () => {
    const fn = await loadTaskFunction('yaml#parse');
    assert.equal(typeof fn, 'function');
  });
  it('missing module → TASK_FN_MODULE_NOT_FOUND', async () => {
    const e = await rejectsWith(loadTaskFunction('test/run/fixtures/nope.ts#x'), 'TASK_FN_MODULE_NOT_FOUND');
    assert.match(e.message, /nope\.ts/);
    await rejectsWith(loadTaskFunction('no-such-package-qtask#x'), 'TASK_FN_MODULE_NOT_FOUND');
  });
  it('missing export → TASK_FN_EXPORT_NOT_FOUND listing the exports', async () => {
    const e = await rejectsWith(loadTaskFunction(`${FIXTURE}#nope`), 'TASK_FN_EXPORT_NOT_FOUND');
    assert.match(e.hint ?? '', /double/);
    assert.match(e.hint ?? '', /journal|pid/);
  });
  it('export that is not a function → TASK_FN_NOT_A_FUNCTION', async () => {
    const e = await rejectsWith(loadTaskFunction(`${FIXTURE}#notAFunction`), 'TASK_FN_NOT_A_FUNCTION');
    assert.match(e.message, /number/);
  });
  it('built-ins: qtask:echo and qtask:sleep; unknown built-in is MODULE_NOT_FOUND listing the built-ins', async () => {
    const echo = await loadTaskFunction('qtask:echo');
    assert.deepEqual(await echo({ k: 'v' }, ctx()), { k: 'v' });
    const sleep = await loadTaskFunction('qtask:sleep');
    const t0 = Date.now();
    assert.deepEqual(await sleep({ ms: 30, result: 7 }, ctx()), 7);
    assert.ok(Date.now() - t0 >= 25);
    const ac = new AbortController();
    const pending = sleep({ ms: 60_000 }, ctx(ac.signal));
    ac.abort(new Error('stop'));
    await assert.rejects(Promise.resolve(pending), /stop/);
    await assert.rejects(Promise.resolve(sleep({ ms: 'x' }, ctx())), ValidationError);
    const e = await rejectsWith(loadTaskFunction('qtask:nope'), 'TASK_FN_MODULE_NOT_FOUND');
    assert.match(e.hint ?? '', /qtask:echo/);
  });
  it('registerBuiltinTaskFn adds a qtask: name', async () => {
    registerBuiltinTaskFn('testOnlyConst', async () => () => 'const');
    const fn = await loadTaskFunction('qtask:testOnlyConst');
    assert.equal(await fn(null, ctx()), 'const');
  });
  it('a module that throws while loading → TASK_FN_MODULE_LOAD_FAILED', async () => {
    await rejectsWith(loadTaskFunction('test/run/fixtures/throwsOnLoad.ts#x'), 'TASK_FN_MODULE_LOAD_FAILED');
  });
  it('resolveTaskFnModule gives an absolute file URL usable from any cwd', () => {
    const url = resolveTaskFnModule(FIXTURE);
    assert.match(url, /^file:\/\/\/.*test\/run\/fixtures\/tasks\.ts$/);
  });
});
