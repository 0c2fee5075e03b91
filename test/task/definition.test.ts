import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ValidationError } from '../../src/errors.ts';
import { taskHash } from '../../src/task/canonical.ts';
import {
  findNonJson,
  getHandlerKwargs,
  getRecords,
  getSegments,
  loadTaskDefs,
  loadTaskDefsFile,
  requireSegments,
  setSegments,
  TaskFileError,
  validateTaskDef,
} from '../../src/task/definition.ts';
import type { TaskDef } from '../../src/task/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'qtask-def-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TASK: TaskDef = {
  model: { class: 'LGBModel', module_path: 'qlib.contrib.model.gbdt', kwargs: { loss: 'mse' } },
  dataset: {
    class: 'DatasetH',
    module_path: 'qlib.data.dataset',
    kwargs: {
      handler: { class: 'Alpha158', kwargs: { start_time: '2008-01-01', end_time: '2020-08-01', instruments: 'csi300' } },
      segments: { train: ['2008-01-01', '2014-12-31'], valid: ['2015-01-01', '2016-12-31'], test: ['2017-01-01', '2020-08-01'] },
    },
  },
  record: [{ class: 'SignalRecord', module_path: 'qlib.workflow.record_temp', kwargs: {} }],
};

function issuesOf(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
    assert.equal(e.code, 'VALIDATION');
    assert.ok(e.hint);
    return e.issues;
  }
  assert.fail('expected a ValidationError');
}

describe('accessors', () => {
  it('read and write segments and handler kwargs', () => {
    const t = structuredClone(TASK);
    assert.deepEqual(getSegments(t)?.test, ['2017-01-01', '2020-08-01']);
    assert.equal(getHandlerKwargs(t)?.instruments, 'csi300');
    assert.equal(getRecords(t).length, 1);
    assert.deepEqual(getRecords({ record: { class: 'X' } }), [{ class: 'X' }]);
    setSegments(t, { test: ['2018-01-01', null] });
    assert.deepEqual(getSegments(t), { test: ['2018-01-01', null] });
    const bare: TaskDef = {};
    setSegments(bare, { test: ['2018-01-01', null] });
    assert.deepEqual(bare, { dataset: { kwargs: { segments: { test: ['2018-01-01', null] } } } });
    assert.throws(() => setSegments({ dataset: 'x' }, {}), (e: unknown) => e instanceof ValidationError && e.path === 'dataset');
    assert.throws(() => requireSegments({}, 'test'), (e: unknown) => e instanceof ValidationError && e.path === 'dataset.kwargs.segments');
  });
});

describe('validateTaskDef', () => {
  it('accepts the qlib shape and returns an equal copy', () => {
    const out = validateTaskDef(TASK);
    assert.deepEqual(out, TASK);
    assert.notEqual(out, TASK);
  });

  it('normalises midnight timestamps in segments and handler dates', () => {
    const t = structuredClone(TASK) as { dataset: { kwargs: { segments: Record<string, unknown>; handler: { kwargs: Record<string, unknown> } } } };
    t.dataset.kwargs.segments.test = ['2017-01-01T00:00:00', '2020-08-01 00:00:00'];
    t.dataset.kwargs.handler.kwargs.end_time = '2020-08-01T00:00:00.000Z';
    const out = validateTaskDef(t as unknown as TaskDef);
    assert.deepEqual(getSegments(out)?.test, ['2017-01-01', '2020-08-01']);
    assert.equal(getHandlerKwargs(out)?.end_time, '2020-08-01');
    assert.equal((t.dataset.kwargs.segments.test as string[])[0], '2017-01-01T00:00:00', 'input untouched');
  });

  it('reports every problem with its path', () => {
    const bad = {
      model: { module_path: 3 },
      dataset: {
        class: 'DatasetH',
        kwargs: {
          handler: { class: 'Alpha158', kwargs: { end_time: 'soon' } },
          segments: {
            train: ['2015-01-01', '2014-12-31'],
            valid: ['2016-01-01'],
            test: ['2017-13-01', '2017-02-30'],
            extra: [null, '2020-01-02T09:30:00'],
          },
        },
      },
      record: [{ class: 'SignalRecord' }, 'SigAnaRecord', { class: '', kwargs: [] }],
    };
    assert.deepEqual(issuesOf(() => validateTaskDef(bad)), [
      { path: 'model.class', message: 'is required (the class name)' },
      { path: 'model.module_path', message: 'must be a string' },
      { path: 'dataset.kwargs.segments.train', message: 'start 2015-01-01 is after end 2014-12-31' },
      { path: 'dataset.kwargs.segments.valid', message: 'must be a [start, end] pair of dates (null for an open end)' },
      { path: 'dataset.kwargs.segments.test[0]', message: '"2017-13-01" is not a date' },
      { path: 'dataset.kwargs.segments.test[1]', message: '"2017-02-30" is not a date' },
      { path: 'dataset.kwargs.segments.extra[1]', message: '"2020-01-02T09:30:00" is not a date' },
      { path: 'dataset.kwargs.handler.kwargs.end_time', message: '"soon" is not a date' },
      { path: 'record[1]', message: 'must be a component object {class, module_path?, kwargs?}' },
      { path: 'record[2].class', message: 'must be a non-empty string' },
      { path: 'record[2].kwargs', message: 'must be an object' },
    ]);
  });

  it('the message of the thrown error lists them, one line', () => {
    try {
      validateTaskDef({ dataset: { class: 'D', kwargs: { segments: { test: ['2017-13-01', null] } } } });
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.path, 'dataset.kwargs.segments.test[0]');
      assert.match(e.toLine(), /^VALIDATION: dataset\.kwargs\.segments\.test\[0\]: "2017-13-01" is not a date/);
      assert.ok(!e.toLine().includes('\n'));
    }
  });

  it('rejects non-JSON values with their path', () => {
    const cyclic: Record<string, unknown> = { model: { class: 'M', kwargs: { lr: Number.NaN, n: Infinity, big: 10n, f: () => 1, u: undefined, when: new Date(0) } } };
    (cyclic.model as { kwargs: Record<string, unknown> }).kwargs.self = cyclic;
    const paths = issuesOf(() => validateTaskDef(cyclic)).map((i) => i.path);
    assert.deepEqual(paths, [
      'model.kwargs.lr',
      'model.kwargs.n',
      'model.kwargs.big',
      'model.kwargs.f',
      'model.kwargs.u',
      'model.kwargs.when',
      'model.kwargs.self',
    ]);
    assert.deepEqual(findNonJson({ a: [1, Symbol('s')] }).map((i) => i.path), ['a[1]']);
    assert.deepEqual(findNonJson({ 'odd key': undefined }).map((i) => i.path), ['["odd key"]']);
    const shared = { x: 1 };
    assert.deepEqual(findNonJson({ a: shared, b: shared }), [], 'a shared (acyclic) reference is fine');
  });

  it('rejects a non-object and prefixes paths', () => {
    assert.deepEqual(issuesOf(() => validateTaskDef([1])).map((i) => i.message), ['a task definition must be an object, got an array']);
    assert.deepEqual(issuesOf(() => validateTaskDef({ model: 1 }, { path: '[3]' })).map((i) => i.path), ['[3].model']);
  });
});

describe('loadTaskDefs', () => {
  const yamlTask = `
model:
  class: LGBModel
  module_path: qlib.contrib.model.gbdt
dataset:
  class: DatasetH
  kwargs:
    handler: &h {class: Alpha158, kwargs: {start_time: 2008-01-01, end_time: 2020-08-01}}
    segments:
      train: [2008-01-01, 2014-12-31]
      valid: [2015-01-01, 2016-12-31]
      test: [2017-01-01, null]
record:
  class: SignalRecord
`;

  it('reads one YAML task (dates stay strings, anchors resolve)', () => {
    const [t] = loadTaskDefs(yamlTask, { format: 'yaml' });
    assert.deepEqual(getSegments(t)?.test, ['2017-01-01', null]);
    assert.equal(getHandlerKwargs(t)?.start_time, '2008-01-01');
  });

  it('reads a JSON list, a YAML list, and multi-document YAML', () => {
    assert.equal(loadTaskDefs(JSON.stringify([TASK, TASK]), { format: 'json' }).length, 2);
    assert.equal(loadTaskDefs(`- ${JSON.stringify(TASK)}\n- ${JSON.stringify(TASK)}\n- {model: {class: X}}\n`).length, 3);
    assert.equal(loadTaskDefs(`${yamlTask}\n---\n${yamlTask}`).length, 2);
    assert.equal(loadTaskDefs(JSON.stringify(TASK)).length, 1, 'auto: JSON');
  });

  it('resolves `<<: *anchor` merge keys like PyYAML', () => {
    const [t] = loadTaskDefs('defaults: &m {class: LGBModel, kwargs: {loss: mse}}\nmodel:\n  <<: *m\n  module_path: qlib.contrib.model.gbdt\n');
    assert.deepEqual(t.model, { class: 'LGBModel', kwargs: { loss: 'mse' }, module_path: 'qlib.contrib.model.gbdt' });
  });

  it('unwraps a qrun workflow file ({qlib_init, task})', () => {
    const [t] = loadTaskDefs(`qlib_init: {provider_uri: ~/.qlib}\ntask:\n${yamlTask.replace(/^/gm, '  ')}`);
    assert.equal((t.model as { class: string }).class, 'LGBModel');
  });

  it('parse errors carry source:line:col', () => {
    assert.throws(
      () => loadTaskDefs('{\n  "model": {"class": "M"},\n  "dataset": }\n', { format: 'json', source: 'tasks.json' }),
      (e: unknown) => e instanceof TaskFileError && e.code === 'PARSE_JSON' && e.message.startsWith('tasks.json:3:14: invalid JSON'),
    );
    assert.throws(
      () => loadTaskDefs('model:\n  class: M\n kwargs: [1, 2\n', { format: 'yaml', source: 't.yaml' }),
      (e: unknown) => e instanceof TaskFileError && e.code === 'PARSE_YAML' && /^t\.yaml:\d+:\d+: invalid YAML/.test(e.message),
    );
    assert.throws(
      () => loadTaskDefs('a: 1\na: 2\n', { source: 'dup.yaml' }),
      (e: unknown) => e instanceof TaskFileError && e.code === 'PARSE_YAML' && e.message.startsWith('dup.yaml:2:1:'),
    );
  });

  it('empty documents are EMPTY_DOCUMENT', () => {
    for (const text of ['', '  \n', '---\n', '[]', '# only a comment\n']) {
      assert.throws(() => loadTaskDefs(text), (e: unknown) => e instanceof TaskFileError && e.code === 'EMPTY_DOCUMENT', JSON.stringify(text));
    }
  });

  it('validation problems across a list are reported together with [i] paths and the source', () => {
    const text = `- {dataset: {class: D, kwargs: {segments: {test: [2017-13-01, null]}}}}\n- {model: {class: M}}\n- {record: [{kwargs: {}}], x: .nan}\n`;
    try {
      loadTaskDefs(text, { source: 'list.yaml' });
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.issues.map((i) => i.path),
        ['[0].dataset.kwargs.segments.test[0]', '[2].x', '[2].record[0].class'],
      );
      assert.ok(e.message.startsWith('list.yaml: '));
    }
  });

  it('loadTaskDefsFile: by extension, missing file, stdin marker in messages', () => {
    const y = join(dir, 't.yml');
    writeFileSync(y, yamlTask);
    assert.equal(loadTaskDefsFile(y).length, 1);
    const j = join(dir, 't.json');
    writeFileSync(j, 'model: {class: M}\n');
    assert.throws(() => loadTaskDefsFile(j), (e: unknown) => e instanceof TaskFileError && e.code === 'PARSE_JSON' && e.message.startsWith(`${j}:1:1`));
    assert.throws(() => loadTaskDefsFile(join(dir, 'nope.yaml')), (e: unknown) => e instanceof TaskFileError && e.code === 'FILE_NOT_FOUND');
  });
});

describe('canonical hash of loaded definitions', () => {
  it('reordered keys and midnight timestamps give the same hash; a changed date does not', () => {
    const a = loadTaskDefs(JSON.stringify(TASK))[0];
    const reordered = {
      record: TASK.record,
      dataset: {
        kwargs: {
          segments: { test: ['2017-01-01T00:00:00', '2020-08-01 00:00:00'], valid: ['2015-01-01', '2016-12-31'], train: ['2008-01-01', '2014-12-31'] },
          handler: { kwargs: { instruments: 'csi300', end_time: '2020-08-01T00:00:00Z', start_time: '2008-01-01' }, class: 'Alpha158' },
        },
        module_path: 'qlib.data.dataset',
        class: 'DatasetH',
      },
      model: { kwargs: { loss: 'mse' }, module_path: 'qlib.contrib.model.gbdt', class: 'LGBModel' },
    };
    const b = loadTaskDefs(JSON.stringify(reordered))[0];
    assert.equal(taskHash(a), taskHash(b));
    assert.equal(taskHash(a), taskHash(reordered as TaskDef), 'also without loading');
    const c = structuredClone(a);
    (getSegments(c) as Record<string, unknown>).test = ['2017-01-02', '2020-08-01'];
    assert.notEqual(taskHash(a), taskHash(c));
  });
});
