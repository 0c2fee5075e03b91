import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExperimentStore, pythonFloatRepr } from '../../src/index.ts';
import { dumpMeta, parseMeta } from '../../src/recorder/yamlMeta.ts';
import { tempRoot } from './helpers.ts';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

const yamlUser = (u: string): string => (u === '' ? "''" : u);

test('pythonFloatRepr matches Python repr(float) (the metric value column)', () => {
  const cases: [number, string][] = [
    [1, '1.0'], [0.5, '0.5'], [0.1, '0.1'], [-2, '-2.0'], [0, '0.0'], [-0, '-0.0'],
    [1e-5, '1e-05'], [0.0001, '0.0001'], [1.5e-7, '1.5e-07'], [123456789, '123456789.0'],
    [1e15, '1000000000000000.0'], [2 ** 53, '9007199254740992.0'], [1e16, '1e+16'], [1.5e300, '1.5e+300'],
    [1 / 3, '0.3333333333333333'], [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'], [5e-324, '5e-324'],
  ];
  for (const [v, want] of cases) assert.equal(pythonFloatRepr(v), want, `repr(${v})`);
});

test('store root: Default experiment 0, .trash, nothing else; experiment meta.yaml byte-exact', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  assert.deepEqual(readdirSync(store.root).sort(), ['.trash', '0']);
  const d = store.getExperiment({ experimentId: '0' });
  assert.equal(
    readFileSync(join(store.root, '0', 'meta.yaml'), 'utf8'),
    `artifact_location: ${pathToFileURL(join(store.root, '0')).href}\n` +
      `creation_time: ${d.creationTime}\n` +
      "experiment_id: '0'\n" +
      `last_update_time: ${d.lastUpdateTime}\n` +
      'lifecycle_stage: active\n' +
      'name: Default\n',
  );
  const e = store.createExperiment('yes');
  const text = readFileSync(join(store.root, e.id, 'meta.yaml'), 'utf8');
  assert.match(text, new RegExp(`^experiment_id: '${e.id}'$`, 'm'), 'numeric-looking ids are quoted like PyYAML does');
  assert.match(text, /^name: 'yes'$/m, 'YAML 1.1 booleans are quoted');
});

test('YAML scalars: plain where PyYAML would, quoted otherwise, and read back unchanged', () => {
  const values = ['Default', 'my exp', '123', '1e5', 'yes', 'No', 'null', '~', "it's", 'a: b', 'x #y', '', ' lead', 'ü-name', 'line\nbreak', 'file:///tmp/a b/0', '0x1F', '1_000', '12:30'];
  for (const v of values) {
    const text = dumpMeta({ name: v });
    assert.equal(parseMeta(text).name, v, `round trip of ${JSON.stringify(v)} via ${JSON.stringify(text)}`);
  }
  assert.equal(dumpMeta({ name: 'Default' }), 'name: Default\n');
  assert.equal(dumpMeta({ name: '123' }), "name: '123'\n");
  assert.equal(dumpMeta({ name: "it's" }), "name: 'it''s'\n");
  assert.equal(dumpMeta({ b: null, a: 1, c: [] }), 'a: 1\nb: null\nc: []\n', 'keys sorted, null and [] as PyYAML writes them');
});

test('run directory: meta.yaml RUNNING first, rewritten FINISHED; params/tags/metrics/artifacts files byte-exact; no temp files left', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const rec = store.start({ experimentName: 'layout', recorderName: 'run one' });
  const expDir = join(store.root, rec.experimentId);
  assert.equal(rec.runDir, join(expDir, rec.id));
  assert.deepEqual(readdirSync(rec.runDir).sort(), ['.qtask-owner', 'artifacts', 'meta.yaml', 'metrics', 'params', 'tags']);
  const info0 = rec.info();
  const metaLines = (status: number, end: number | null): string =>
    `artifact_uri: ${pathToFileURL(join(rec.runDir, 'artifacts')).href}\n` +
    'deleted_time: null\n' +
    `end_time: ${end === null ? 'null' : end}\n` +
    "entry_point_name: ''\n" +
    `experiment_id: '${rec.experimentId}'\n` +
    'lifecycle_stage: active\n' +
    `run_id: ${rec.id}\n` +
    'run_name: run one\n' +
    `run_uuid: ${rec.id}\n` +
    "source_name: ''\n" +
    'source_type: 4\n' +
    "source_version: ''\n" +
    `start_time: ${info0.startTime}\n` +
    `status: ${status}\n` +
    'tags: []\n' +
    `user_id: ${yamlUser(info0.userId)}\n`;
  const metaText = readFileSync(join(rec.runDir, 'meta.yaml'), 'utf8');
  assert.equal(metaText, metaLines(1, null), 'meta.yaml is written first, with status RUNNING (1)');

  rec.logParams({ 'model.kwargs.alpha': 0.05, name: 'x y' });
  rec.setTags({ hostname: 'box', 'nested/tag': 7 });
  rec.logMetrics({ IC: 0.05, 'sig/rank ic': -1e-5 }, 0, 1700000000000);
  rec.logMetrics({ IC: 1 }, 1, 1700000000001);
  rec.logMetrics({ IC: NaN }, 2, 1700000000002);
  rec.saveObjects({ task: { a: [1, 2] } });
  rec.end();

  assert.equal(readFileSync(join(rec.runDir, 'params', 'model.kwargs.alpha'), 'utf8'), '0.05', 'params: raw value, no newline');
  assert.equal(readFileSync(join(rec.runDir, 'params', 'name'), 'utf8'), 'x y');
  assert.equal(readFileSync(join(rec.runDir, 'tags', 'hostname'), 'utf8'), 'box');
  assert.equal(readFileSync(join(rec.runDir, 'tags', 'nested', 'tag'), 'utf8'), '7', 'keys with / become sub-directories, as in MLflow');
  assert.equal(readFileSync(join(rec.runDir, 'tags', 'mlflow.runName'), 'utf8'), 'run one');
  assert.equal(readFileSync(join(rec.runDir, 'tags', 'mlflow.source.type'), 'utf8'), 'LOCAL');
  assert.equal(
    readFileSync(join(rec.runDir, 'metrics', 'IC'), 'utf8'),
    '1700000000000 0.05 0\n1700000000001 1.0 1\n1700000000002 nan 2\n',
    'metrics: "<timestamp_ms> <value> <step>" lines',
  );
  assert.equal(readFileSync(join(rec.runDir, 'metrics', 'sig', 'rank ic'), 'utf8'), '1700000000000 -1e-05 0\n');
  assert.equal(readFileSync(join(rec.runDir, 'artifacts', 'task.json'), 'utf8'), '{"a":[1,2]}\n');

  const info1 = rec.info();
  assert.equal(readFileSync(join(rec.runDir, 'meta.yaml'), 'utf8'), metaLines(3, info1.endTime));
  const leftovers = walk(store.root).filter((p) => p.includes('.qtask-tmp-') || p.endsWith('.lock') || p.includes('.stale-'));
  assert.deepEqual(leftovers, []);

  rec.end('KILLED');
  assert.match(readFileSync(join(rec.runDir, 'meta.yaml'), 'utf8'), /^status: 5$/m);
  store.deleteRecorder(rec.id);
  const deleted = readFileSync(join(rec.runDir, 'meta.yaml'), 'utf8');
  assert.match(deleted, /^lifecycle_stage: deleted$/m);
  assert.match(deleted, /^deleted_time: \d{13}$/m);
});
