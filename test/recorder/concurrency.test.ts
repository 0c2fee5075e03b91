import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExperimentStore } from '../../src/index.ts';
import { startChild, tempRoot, waitFor } from './helpers.ts';

test('4 processes create the same new experiments and 10 runs each at once: one experiment per name, 40 distinct runs, listing never throws', async (t) => {
  const root = tempRoot();
  const barrier = join(dirname(root), 'go');
  const PROCS = 4;
  const RUNS = 10;
  const children = Array.from({ length: PROCS }, () => startChild(['create', root, 'shared-exp', String(RUNS), barrier]));
  // Every child loads, then spins on the barrier, so all four start creating together.
  await waitFor(() => children.every((c) => c.stdout().includes('WAITING')), 60_000, 'children at the barrier');
  writeFileSync(barrier, '');
  let listings = 0;
  let transient = 0;
  let done = false;
  const exits = Promise.all(children.map((c) => c.exited)).finally(() => (done = true));
  const reader = new ExperimentStore({ uri: root });
  while (!done) {
    // Reading while others write: allowed to see runs being created (reported as problems), never to throw.
    try {
      transient += reader.listRecorders('shared-exp').problems.length;
      listings++;
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'EXPERIMENT_NOT_FOUND', String(e));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const results = await exits;
  for (const [i, r] of results.entries()) assert.equal(r.code, 0, `child ${i} failed: ${children[i]!.stderr()}`);
  const perChild = children.map((c) => JSON.parse(c.stdout().trim().split('\n').pop()!) as string[]);

  const store = new ExperimentStore({ uri: root });
  const exps = store.listExperiments();
  assert.deepEqual(exps.problems, []);
  for (const name of ['shared-exp', 'race-0', 'race-1', 'race-2', 'race-3', 'race-4']) {
    assert.equal(exps.experiments.filter((e) => e.name === name).length, 1, `exactly one ${name} despite 4 concurrent creators`);
  }
  const listing = store.listRecorders('shared-exp');
  assert.deepEqual(listing.problems, []);
  assert.equal(listing.recorders.length, PROCS * RUNS);
  const ids = listing.infos.map((i) => i.id);
  assert.equal(new Set(ids).size, PROCS * RUNS);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  assert.deepEqual([...ids].sort(), perChild.flat().sort());
  for (const [k, rec] of listing.recorders.entries()) {
    const info = listing.infos[k]!;
    assert.equal(info.status, 'FINISHED');
    const params = rec.listParams();
    assert.equal(info.name, `p${params.pid}-${params.i}`);
    assert.deepEqual(rec.loadObject('res'), { i: Number(params.i), pid: Number(params.pid) });
    assert.deepEqual(rec.getMetricHistory('m').map((p) => [p.value, p.step]), [[Number(params.i), Number(params.i)]]);
  }
  t.diagnostic(`${listings} listings during the writes, ${transient} transient in-creation run directories seen`);
});
