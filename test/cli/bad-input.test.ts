/**
 * The bad-input table: every case runs the real CLI (`node bin/qtask.js …`) against a temp SQLite
 * store and must exit non-zero with exactly one stderr line naming the expected error (never a
 * stack trace), and leave the store exactly as it was. Task-function failures are not CLI errors:
 * for those the task must end `failed` with the right code and nothing else may change.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TaskDocument } from '../../src/task/types.ts';
import { FIXTURES, runCli, runJson, snapshotStore, tempDir } from './helpers.ts';

interface Env {
  dir: string;
  /** The seeded store every case is checked against. */
  url: string;
  ids: string[];
  file: (name: string) => string;
}

interface BadCase {
  name: string;
  args: (e: Env) => string[];
  input?: string;
  /** Must appear in the single stderr line (an error code, or commander's message). */
  expect: string | RegExp;
  /** Exit status: 2 for a QtaskError (the default), 1 for commander's usage errors. */
  exit?: number;
  /** Extra checks after the run (files not created, bytes unchanged, …). */
  check?: (e: Env) => void | Promise<void>;
}

const TASK_FN = join(FIXTURES, 'badTaskFns.ts');
const TEMPLATE = join(FIXTURES, 'template.yaml');

function taskWithTest(test: [string, string]): string {
  return JSON.stringify({
    model: { class: 'LinearModel', module_path: 'qlib.contrib.model.linear' },
    dataset: { class: 'DatasetH', kwargs: { segments: { train: ['2015-01-01', '2015-12-31'], test } } },
  });
}

const FILES: Record<string, string> = {
  'malformed.json': '{"model": {"class": "LinearModel"',
  'malformed.yaml': 'model:\n  class: LinearModel\n  kwargs: [unclosed\n',
  'empty.yaml': '\n\n',
  'month13.json': taskWithTest(['2017-13-01', '2017-12-31']),
  'feb30.json': taskWithTest(['2017-02-30', '2017-12-31']),
  'reversed.json': taskWithTest(['2018-01-01', '2017-01-01']),
  'nan.yaml': 'model:\n  class: LinearModel\n  kwargs:\n    alpha: .nan\n',
  'scalar.json': '42',
  'no-segments.yaml': 'model:\n  class: LinearModel\ndataset:\n  class: DatasetH\n  kwargs: {}\n',
  'cal-empty.txt': '',
  'cal-unsorted.txt': '2020-01-02\n2020-01-06\n2020-01-03\n',
  'cal-duplicated.txt': '2020-01-02\n2020-01-03\n2020-01-03\n2020-01-06\n',
  'cal-bad-day.txt': '2020-01-02\n2020-02-30\n',
  'corrupt.db': 'this is not a SQLite database, just garbage bytes\n'.repeat(200),
  'not-a-dir': 'a regular file where a directory is expected\n',
};

const WEEKDAYS = 'weekdays:2015-01-01:2020-12-31';

const CASES: BadCase[] = [
  // --- task files (create) ---
  { name: 'create: malformed JSON', args: (e) => ['create', e.file('malformed.json')], expect: 'PARSE_JSON' },
  { name: 'create: malformed YAML', args: (e) => ['create', e.file('malformed.yaml')], expect: 'PARSE_YAML' },
  { name: 'create -: malformed YAML on stdin', args: () => ['create', '-'], input: 'a: [1,\nb: }\n', expect: 'PARSE_YAML' },
  { name: 'create: missing file', args: (e) => ['create', join(e.dir, 'no-such-file.json')], expect: 'FILE_NOT_FOUND' },
  { name: 'create: empty document', args: (e) => ['create', e.file('empty.yaml')], expect: 'EMPTY_DOCUMENT' },
  { name: 'create -: empty stdin', args: () => ['create', '-'], input: '', expect: 'EMPTY_DOCUMENT' },
  {
    name: 'create: impossible date 2017-13-01',
    args: (e) => ['create', e.file('month13.json')],
    expect: /VALIDATION: .*dataset\.kwargs\.segments\.test\[0\].*2017-13-01/,
  },
  { name: 'create: impossible date 2017-02-30', args: (e) => ['create', e.file('feb30.json')], expect: /VALIDATION: .*2017-02-30/ },
  { name: 'create: segment start after end', args: (e) => ['create', e.file('reversed.json')], expect: /VALIDATION: .*segments\.test/ },
  { name: 'create: NaN is not JSON', args: (e) => ['create', e.file('nan.yaml')], expect: /VALIDATION: .*model\.kwargs\.alpha/ },
  { name: 'create: a number is not a task', args: (e) => ['create', e.file('scalar.json')], expect: 'VALIDATION' },
  { name: 'create: non-numeric --priority', args: (e) => ['create', join(FIXTURES, 'tasks.json'), '--priority', 'high'], expect: 'INVALID_NUMBER: --priority' },

  // --- filters and option values ---
  { name: 'stat: invalid --query JSON', args: () => ['stat', '--query', '{status: waiting}'], expect: 'INVALID_JSON: --query' },
  { name: 'query: invalid JSON argument', args: () => ['query', "{'status': 'done'}"], expect: 'INVALID_JSON: query' },
  { name: 'query: an array is not a filter', args: () => ['query', '[1, 2]'], expect: 'QUERY_SHAPE' },
  { name: 'query: unknown operator', args: () => ['query', '{"status": {"$foo": 1}}'], expect: 'QUERY_OPERATOR' },
  { name: 'cancel: unknown operator changes nothing', args: () => ['cancel', '--query', '{"priority": {"$near": 3}}'], expect: 'QUERY_OPERATOR' },
  { name: 'remove: malformed $in changes nothing', args: () => ['remove', '--query', '{"status": {"$in": "waiting"}}'], expect: 'QUERY_SHAPE' },
  { name: 'remove: no query', args: () => ['remove'], expect: 'REMOVE_NEEDS_QUERY' },
  { name: 'remove: --all with --query', args: () => ['remove', '--all', '--query', '{}'], expect: 'REMOVE_NEEDS_QUERY' },
  { name: 'reset-status: unknown status', args: () => ['reset-status', '--status', 'finished'], expect: /VALIDATION: --status: unknown status "finished"/ },
  { name: 'reset-status: --status missing', args: () => ['reset-status'], expect: "required option '--status <status>' not specified", exit: 1 },
  { name: 'reset-status: running is only reachable by a claim', args: () => ['reset-status', '--status', 'running'], expect: 'VALIDATION: status' },
  { name: 'invalid pool name', args: () => ['--pool', 'bad pool!', 'stat'], expect: 'POOL_NAME' },
  {
    name: 'create -: second task of a list is bad (all or nothing)',
    args: () => ['create', '-'],
    input: `[${taskWithTest(['2019-01-01', '2019-06-30'])}, ${taskWithTest(['2019-07-01', '2019-06-31'])}]`,
    expect: /VALIDATION: .*\[1\]\.dataset\.kwargs\.segments\.test\[1\]/,
  },
  { name: 'query: --limit 0', args: () => ['query', '{}', '--limit', '0'], expect: 'INVALID_NUMBER: --limit' },

  // --- task ids and priorities ---
  { name: 'show: unknown id', args: () => ['show', '0123456789abcdef01234567'], expect: 'TASK_NOT_FOUND' },
  { name: 'show: id missing', args: () => ['show'], expect: "missing required argument 'id'", exit: 1 },
  { name: 'prioritize: unknown id', args: () => ['prioritize', 'ffffffffffffffffffffffff', '3'], expect: 'TASK_NOT_FOUND' },
  { name: 'prioritize: id and priority missing', args: () => ['prioritize'], expect: "missing required argument 'id'", exit: 1 },
  { name: 'prioritize: non-numeric priority', args: (e) => ['prioritize', e.ids[0], 'high'], expect: 'INVALID_NUMBER: priority' },
  { name: 'prioritize: fractional priority', args: (e) => ['prioritize', e.ids[0], '1.5'], expect: 'INVALID_NUMBER: priority' },

  // --- wait ---
  { name: 'wait: timeout with tasks waiting', args: () => ['wait', '--timeout', '0.5', '--poll', '0.1', '--no-progress'], expect: 'WAIT_TIMEOUT' },
  { name: 'wait: non-numeric timeout', args: () => ['wait', '--timeout', 'soon'], expect: 'INVALID_NUMBER: --timeout' },

  // --- stores ---
  { name: 'unknown store scheme', args: () => ['--store', 'foo:bar', 'stat'], expect: 'STORE_URL' },
  {
    name: 'store in a missing directory',
    args: (e) => ['--store', `sqlite:${join(e.dir, 'missing', 'sub', 'q.db')}`, 'stat'],
    expect: 'STORE_OPEN',
    check: (e) => assert.equal(existsSync(join(e.dir, 'missing')), false, 'the missing directory was created'),
  },
  {
    name: 'store under a regular file (unwritable directory)',
    args: (e) => ['--store', `sqlite:${join(e.file('not-a-dir'), 'q.db')}`, 'list'],
    expect: 'STORE_OPEN',
    check: (e) => assert.equal(readFileSync(e.file('not-a-dir'), 'utf8'), FILES['not-a-dir']),
  },
  {
    // Tests run as root, where chmod cannot make a directory unwritable; /proc refuses new files to everyone.
    name: 'store in a directory nobody can write (/proc)',
    args: () => ['--store', 'sqlite:/proc/qtask-bad-input.db', 'stat'],
    expect: 'STORE_OPEN',
    check: () => assert.equal(existsSync('/proc/qtask-bad-input.db'), false),
  },
  {
    name: 'corrupt database file',
    args: (e) => ['--store', `sqlite:${e.file('corrupt.db')}`, 'stat'],
    expect: 'STORE_CORRUPT',
    check: (e) => assert.equal(readFileSync(e.file('corrupt.db'), 'utf8'), FILES['corrupt.db'], 'the corrupt file was modified'),
  },
  {
    name: 'create into a corrupt database file',
    args: (e) => ['--store', `sqlite:${e.file('corrupt.db')}`, 'create', join(FIXTURES, 'tasks.json')],
    expect: 'STORE_CORRUPT',
    check: (e) => assert.equal(readFileSync(e.file('corrupt.db'), 'utf8'), FILES['corrupt.db'], 'the corrupt file was modified'),
  },

  // --- commander ---
  { name: 'unknown command', args: () => ['frobnicate'], expect: "unknown command 'frobnicate'", exit: 1 },
  { name: 'unknown option', args: () => ['stat', '--colour'], expect: "unknown option '--colour'", exit: 1 },

  // --- gen (templates, steps, calendars) ---
  { name: 'gen: --step 0', args: () => ['gen', TEMPLATE, '--calendar', WEEKDAYS, '--step', '0'], expect: 'VALIDATION: --step' },
  { name: 'gen: --step -5', args: () => ['gen', TEMPLATE, '--calendar', WEEKDAYS, '--step', '-5'], expect: 'VALIDATION: --step' },
  { name: 'gen: unknown step unit', args: () => ['gen', TEMPLATE, '--calendar', WEEKDAYS, '--step', '2X'], expect: 'VALIDATION: --step: unknown step "2X"' },
  { name: 'gen: unknown rtype', args: () => ['gen', TEMPLATE, '--calendar', WEEKDAYS, '--step', '20', '--rtype', 'diagonal'], expect: 'VALIDATION: --rtype' },
  { name: 'gen: template without segments', args: (e) => ['gen', e.file('no-segments.yaml'), '--calendar', WEEKDAYS, '--step', '20'], expect: 'VALIDATION: dataset.kwargs.segments' },
  { name: 'gen: empty calendar file', args: (e) => ['gen', TEMPLATE, '--calendar', e.file('cal-empty.txt'), '--step', '20'], expect: 'CALENDAR_EMPTY' },
  { name: 'gen: unsorted calendar file', args: (e) => ['gen', TEMPLATE, '--calendar', e.file('cal-unsorted.txt'), '--step', '20'], expect: 'CALENDAR_UNSORTED' },
  { name: 'gen: duplicated calendar day', args: (e) => ['gen', TEMPLATE, '--calendar', e.file('cal-duplicated.txt'), '--step', '20'], expect: 'CALENDAR_DUPLICATE_DAY' },
  { name: 'gen: impossible calendar day', args: (e) => ['gen', TEMPLATE, '--calendar', e.file('cal-bad-day.txt'), '--step', '20'], expect: 'CALENDAR_INVALID_DAY' },

  // --- worker: task functions that cannot be loaded (nothing may be claimed) ---
  { name: 'worker: task-fn module missing', args: (e) => ['worker', '--once', '--task-fn', join(e.dir, 'nope.ts#run')], expect: 'TASK_FN_MODULE_NOT_FOUND' },
  { name: 'worker: task-fn export missing', args: () => ['worker', '--once', '--task-fn', `${TASK_FN}#noSuchExport`], expect: 'TASK_FN_EXPORT_NOT_FOUND' },
  { name: 'worker: task-fn export not a function', args: () => ['worker', '--once', '--task-fn', `${TASK_FN}#notAFunction`], expect: 'TASK_FN_NOT_A_FUNCTION' },
];

describe('bad input through the real CLI: one line, typed code, store unchanged', () => {
  const tmp = tempDir('qtask-bad-');
  const env: Env = { dir: tmp.dir, url: `sqlite:${join(tmp.dir, 'seeded.db')}`, ids: [], file: (n) => join(tmp.dir, n) };
  const pool = 'main';

  before(async () => {
    for (const [name, text] of Object.entries(FILES)) writeFileSync(env.file(name), text);
    const created = await runJson<{ ids: string[] }>(['--store', env.url, '--pool', pool, 'create', join(FIXTURES, 'tasks.json'), '--json']);
    env.ids = created.ids;
    // A second pool, so that a command leaking across pools would show up in the snapshot.
    await runJson(['--store', env.url, '--pool', 'other', 'create', join(FIXTURES, 'tasks.json'), '--json']);
    await runJson(['--store', env.url, '--pool', pool, 'prioritize', env.ids[2], '4', '--json']);
  });
  after(() => tmp.cleanup());

  test(`the table has at least 30 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 30);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const beforeSnap = await snapshotStore(env.url);
      const r = await runCli(['--store', env.url, '--pool', pool, ...c.args(env)], c.input === undefined ? {} : { input: c.input });
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(r.code, c.exit ?? 2, `exit status (stderr: ${r.stderr})`);
      assert.equal(lines.length, 1, `stderr must be one line, got:\n${r.stderr}`);
      assert.ok(!r.stderr.includes('    at '), `stack trace printed:\n${r.stderr}`);
      if (typeof c.expect === 'string') assert.ok(lines[0].includes(c.expect), `stderr ${JSON.stringify(lines[0])} lacks ${c.expect}`);
      else assert.match(lines[0], c.expect);
      if ((c.exit ?? 2) === 2) assert.match(lines[0], /^qtask: [A-Z][A-Z0-9_]+: /, 'one-line format qtask: CODE: …');
      assert.equal(r.stdout, '', 'nothing on stdout');
      assert.equal(await snapshotStore(env.url), beforeSnap, 'the store changed');
      await c.check?.(env);
    });
  }
});

describe('task functions that fail: the task ends failed with the right code, nothing else changes', () => {
  const tmp = tempDir('qtask-badfn-');
  const url = `sqlite:${join(tmp.dir, 'fn.db')}`;
  after(() => tmp.cleanup());

  const fnCases = [
    { fn: 'throwsString', code: 'TASK_THREW_NON_ERROR' },
    { fn: 'returnsBigInt', code: 'RESULT_NOT_JSON' },
    { fn: 'returnsCycle', code: 'RESULT_NOT_JSON' },
  ];

  before(async () => {
    mkdirSync(tmp.dir, { recursive: true });
    for (const { fn } of fnCases) {
      await runJson(['--store', url, '--pool', fn, 'create', '-', '--json'], {
        input: JSON.stringify({ model: { class: 'Probe', kwargs: { fn } } }),
      });
    }
    await runJson(['--store', url, '--pool', 'bystander', 'create', join(FIXTURES, 'tasks.json'), '--json']);
  });

  for (const { fn, code } of fnCases) {
    test(`${fn} → failed with ${code}`, async () => {
      const bystander = await runJson<TaskDocument[]>(['--store', url, '--pool', 'bystander', 'query', '{}', '--json']);
      const r = await runCli(['--store', url, '--pool', fn, 'worker', '--once', '--max-attempts', '1', '--task-fn', `${TASK_FN}#${fn}`]);
      assert.ok(!r.stderr.includes('    at '), `stack trace printed:\n${r.stderr}`);
      const [task] = await runJson<TaskDocument[]>(['--store', url, '--pool', fn, 'query', '{}', '--json']);
      assert.equal(task.status, 'failed', `worker exit ${r.code}, stderr: ${r.stderr}`);
      assert.equal(task.lastError?.code, code);
      assert.equal(task.res, undefined, 'no result stored');
      assert.equal(task.leaseToken, null);
      assert.deepEqual(await runJson<TaskDocument[]>(['--store', url, '--pool', 'bystander', 'query', '{}', '--json']), bystander);
    });
  }
});
