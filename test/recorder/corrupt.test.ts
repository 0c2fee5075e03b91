import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentStore, RecorderError } from '../../src/index.ts';
import { tempRoot } from './helpers.ts';

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${p}/`] = '';
        walk(p);
      } else out[p] = `${statSync(p).mtimeMs}:${readFileSync(p, 'base64')}`;
    }
  };
  walk(dir);
  return out;
}

test('corrupt run directories: listing reports them in problems and lists the rest; getRecorder throws RUN_CORRUPT', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  const good = [0, 1, 2].map((i) => {
    const r = store.start({ experimentName: 'exp', recorderName: `good${i}` });
    r.logMetrics({ m: i });
    r.end();
    return r;
  });
  const expDir = join(store.root, good[0]!.experimentId);
  const realMeta = readFileSync(join(good[0]!.runDir, 'meta.yaml'), 'utf8');
  const corrupt: Record<string, (dir: string, id: string) => void> = {
    garbage: (d) => writeFileSync(join(d, 'meta.yaml'), 'run_id: [unclosed\n  : :\n'),
    missing: (d) => mkdirSync(join(d, 'params')),
    truncated: (d) => writeFileSync(join(d, 'meta.yaml'), realMeta.slice(0, 60)),
    wrongId: (d) => writeFileSync(join(d, 'meta.yaml'), realMeta.replaceAll(good[0]!.id, 'a'.repeat(32))),
    badStatus: (d, id) => writeFileSync(join(d, 'meta.yaml'), realMeta.replaceAll(good[0]!.id, id).replace(/^status: \d+$/m, 'status: 9')),
    wrongExperiment: (d, id) => writeFileSync(join(d, 'meta.yaml'), realMeta.replaceAll(good[0]!.id, id).replace(/^experiment_id: .*$/m, "experiment_id: '7'")),
    metaIsDir: (d) => mkdirSync(join(d, 'meta.yaml')),
    notAMapping: (d) => writeFileSync(join(d, 'meta.yaml'), '- a\n- b\n'),
  };
  const badIds: Record<string, string> = {};
  for (const [kind, make] of Object.entries(corrupt)) {
    const id = `${kind.toLowerCase().padEnd(8, '0').slice(0, 8)}${'0'.repeat(24)}`.replace(/[^0-9a-z]/g, '0');
    mkdirSync(join(expDir, id));
    make(join(expDir, id), id);
    badIds[kind] = id;
  }
  writeFileSync(join(expDir, 'stray-file.txt'), 'not a run');
  mkdirSync(join(expDir, 'tags'));

  const before = snapshot(store.root);
  const listing = store.listRecorders('exp');
  assert.deepEqual(listing.recorders.map((r) => r.id).sort(), good.map((r) => r.id).sort());
  assert.equal(listing.problems.length, Object.keys(corrupt).length);
  for (const p of listing.problems) {
    assert.ok(p instanceof RecorderError);
    assert.equal(p.code, 'RUN_CORRUPT');
    assert.ok(p.hint);
    assert.ok(Object.values(badIds).some((id) => p.path === join(expDir, id)), `problem path ${p.path}`);
  }
  assert.deepEqual(snapshot(store.root), before, 'listing changed nothing on disk');

  for (const [kind, id] of Object.entries(badIds)) {
    assert.throws(
      () => store.getRecorder({ recorderId: id }),
      (e: unknown) => e instanceof RecorderError && e.code === 'RUN_CORRUPT' && e.path === join(expDir, id) && !!e.hint,
      kind,
    );
  }
  assert.equal(store.getRecorder({ experimentName: 'exp', recorderName: 'good1' }).id, good[1]!.id);
  assert.throws(
    () => store.getRecorder({ experimentName: 'exp', recorderName: 'nope' }),
    (e: unknown) => e instanceof RecorderError && e.code === 'RUN_NOT_FOUND' && /8 run directories are unreadable/.test(e.hint ?? ''),
  );
  // New runs still work next to the broken ones, and the broken ones stay as they were.
  const fresh = store.start({ experimentName: 'exp' });
  fresh.end();
  assert.equal(store.listRecorders('exp').recorders.length, 4);
  assert.equal(store.markStaleRunsFailed().length, 0);
});

test('corrupt experiment directories: listExperiments reports them, name lookups skip them', () => {
  const store = new ExperimentStore({ uri: tempRoot() });
  store.createExperiment('fine');
  mkdirSync(join(store.root, '123'));
  writeFileSync(join(store.root, '123', 'meta.yaml'), 'name: [broken');
  mkdirSync(join(store.root, '456'));
  mkdirSync(join(store.root, '789'));
  writeFileSync(join(store.root, '789', 'meta.yaml'), "experiment_id: '1'\nname: liar\n");
  const listing = store.listExperiments();
  assert.deepEqual(listing.experiments.map((e) => e.name).sort(), ['Default', 'fine']);
  assert.deepEqual(listing.problems.map((p) => [p.code, p.path]).sort(), [
    ['EXPERIMENT_CORRUPT', join(store.root, '123')],
    ['EXPERIMENT_CORRUPT', join(store.root, '456')],
    ['EXPERIMENT_CORRUPT', join(store.root, '789')],
  ]);
  assert.equal(store.getExperiment({ experimentName: 'fine' }).name, 'fine');
  assert.throws(() => store.getExperiment({ experimentId: '123' }), (e: unknown) => e instanceof RecorderError && e.code === 'EXPERIMENT_CORRUPT');
  const rec = store.start({ experimentName: 'fine' });
  rec.end();
  assert.equal(store.listRecorders('fine').recorders.length, 1);
});
