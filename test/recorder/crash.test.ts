import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentStore, END_REASON_TAG, csvToObject, setHeartbeatInterval } from '../../src/index.ts';
import { printedId, startChild, tempRoot, waitFor } from './helpers.ts';

const READY_MS = 60_000;

async function startHeld(root: string, mode = 'hold'): Promise<{ id: string; kill: (s: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const c = startChild([mode, root, 'crash']);
  const id = await waitFor(() => printedId(c.stdout()), READY_MS, `child READY (stderr: ${c.stderr()})`);
  return {
    id,
    kill: async (s) => {
      c.child.kill(s);
      return c.exited;
    },
  };
}

test('kill -9 mid-run: listing still works, the run is RUNNING and stale; markStaleRunsFailed ends it FAILED', async () => {
  const root = tempRoot();
  const { id, kill } = await startHeld(root);
  const exit = await kill('SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  const store = new ExperimentStore({ uri: root });
  const listing = store.listRecorders('crash');
  assert.deepEqual(listing.problems, []);
  assert.deepEqual(listing.infos.map((i) => [i.id, i.status, i.stale]), [[id, 'RUNNING', true]]);
  const rec = store.getRecorder({ recorderId: id });
  assert.deepEqual(rec.listParams(), { lr: '0.1' });
  assert.deepEqual(store.markStaleRunsFailed(), [id]);
  assert.equal(rec.info().status, 'FAILED');
  assert.equal(rec.info().stale, false);
  assert.match(rec.listTags()[END_REASON_TAG]!, /stale/);
  assert.deepEqual(store.markStaleRunsFailed(), [], 'nothing left to end');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} while a run is open: the run ends FAILED and the process still dies by the signal (qlib W23)`, async () => {
    const root = tempRoot();
    const { id, kill } = await startHeld(root);
    const exit = await kill(signal);
    assert.equal(exit.signal, signal);
    const rec = new ExperimentStore({ uri: root }).getRecorder({ recorderId: id });
    assert.equal(rec.info().status, 'FAILED');
    assert.equal(rec.listTags()[END_REASON_TAG], signal);
    assert.ok(rec.info().endTime !== null);
  });
}

test('SIGTERM with the process\'s own handler (a worker): qtask leaves the shutdown to it and ends the run FAILED at exit', async () => {
  const root = tempRoot();
  const { id, kill } = await startHeld(root, 'graceful');
  const exit = await kill('SIGTERM');
  assert.deepEqual([exit.code, exit.signal], [0, null], 'the process handled the signal itself');
  const rec = new ExperimentStore({ uri: root }).getRecorder({ recorderId: id });
  assert.equal(rec.info().status, 'FAILED');
  assert.equal(rec.listTags()[END_REASON_TAG], 'process exit');
});

test('R.start body throws → FAILED (error propagates); process.exit inside R.start → FAILED "process exit"', async () => {
  const root = tempRoot();
  const t = startChild(['throw', root, 'crash']);
  const tExit = await t.exited;
  assert.notEqual(tExit.code, 0);
  assert.match(t.stderr(), /boom/);
  const e = startChild(['exit', root, 'crash']);
  assert.equal((await e.exited).code, 3);
  const store = new ExperimentStore({ uri: root });
  const thrower = store.getRecorder({ recorderId: printedId(t.stdout())! });
  assert.equal(thrower.info().status, 'FAILED');
  assert.deepEqual(thrower.listMetrics(), { before: 1 });
  const exiter = store.getRecorder({ recorderId: printedId(e.stdout())! });
  assert.equal(exiter.info().status, 'FAILED');
  assert.equal(exiter.listTags()[END_REASON_TAG], 'process exit');
});

test('staleness: a dead owner on this host at once; another host only after staleAfterMs without heartbeat', () => {
  const store = new ExperimentStore({ uri: tempRoot(), staleAfterMs: 60_000 });
  const rec = store.start({ experimentName: 'stale' });
  assert.equal(rec.info().stale, false, 'own live process');
  const owner = join(rec.runDir, '.qtask-owner');
  writeFileSync(owner, '4242@some-other-host\n');
  assert.equal(rec.info().stale, false, 'fresh heartbeat from another host');
  const old = new Date(Date.now() - 120_000);
  utimesSync(owner, old, old);
  assert.equal(rec.info().stale, true, 'heartbeat older than staleAfterMs');
  rec.beat();
  assert.equal(rec.info().stale, false, 'a heartbeat refreshes it');
  rec.end();
  utimesSync(owner, old, old);
  assert.equal(rec.info().stale, false, 'ended runs are never stale');
});

function assertRunFilesWhole(runDir: string): { metricLines: number; temps: number } {
  let metricLines = 0;
  for (const m of readdirSync(join(runDir, 'metrics'))) {
    const text = readFileSync(join(runDir, 'metrics', m), 'utf8');
    assert.ok(text.endsWith('\n'), `metrics/${m} ends with a full line`);
    for (const line of text.trimEnd().split('\n')) {
      assert.match(line, /^\d{13} \S+ \d+$/, `metrics/${m}: ${line}`);
      metricLines++;
    }
  }
  for (const folder of ['metrics', 'params', 'tags', 'artifacts']) {
    for (const f of readdirSync(join(runDir, folder))) assert.ok(!f.startsWith('.'), `no temp file in ${folder}/ (${f})`);
  }
  for (const a of readdirSync(join(runDir, 'artifacts'))) {
    const text = readFileSync(join(runDir, 'artifacts', a), 'utf8');
    if (a.endsWith('.json')) assert.doesNotThrow(() => JSON.parse(text), `artifacts/${a} parses`);
    if (a.endsWith('.csv')) assert.equal((csvToObject(text, a) as Record<string, Float64Array>).x!.length, 500, `artifacts/${a} whole`);
  }
  return { metricLines, temps: readdirSync(runDir).filter((f) => f.startsWith('.qtask-tmp-')).length };
}

test('kill -9 at arbitrary moments of heavy writing: never a half-written file; listing never throws', async (t) => {
  const root = tempRoot();
  // Fixed delays spread over the write loop; each kill lands somewhere inside a write sequence.
  const delays = [40, 170, 330, 520];
  const ids: string[] = [];
  let totalLines = 0;
  let temps = 0;
  for (const delay of delays) {
    const { id, kill } = await startHeld(root, 'churn');
    ids.push(id);
    await new Promise((r) => setTimeout(r, delay));
    assert.equal((await kill('SIGKILL')).signal, 'SIGKILL');
    const store = new ExperimentStore({ uri: root });
    const listing = store.listRecorders('crash');
    assert.deepEqual(listing.problems, []);
    const info = listing.infos.find((i) => i.id === id)!;
    assert.equal(info.status, 'RUNNING');
    assert.equal(info.stale, true);
    const rec = listing.recorders.find((r) => r.id === id)!;
    const whole = assertRunFilesWhole(rec.runDir);
    totalLines += whole.metricLines;
    temps += whole.temps;
    assert.doesNotThrow(() => rec.listMetrics());
    assert.doesNotThrow(() => rec.listParams());
    for (const a of rec.listArtifacts()) assert.doesNotThrow(() => rec.loadObject(a));
  }
  assert.ok(totalLines > 0, 'the children did write before being killed');
  // Temp files left in run roots show kills that landed between a temp write and its rename.
  t.diagnostic(`${totalLines} metric lines written; ${temps} interrupted temp files left in run roots (ignored by readers)`);
  const store = new ExperimentStore({ uri: root });
  assert.deepEqual(store.markStaleRunsFailed({ experimentName: 'crash' }).sort(), [...ids].sort());
});

test('heartbeat: an open run refreshes its owner file; fsync mode writes the same files', async () => {
  setHeartbeatInterval(50);
  try {
    const store = new ExperimentStore({ uri: tempRoot(), fsync: true });
    const rec = store.start({ experimentName: 'beat' });
    const first = rec.info().heartbeat!.at;
    await waitFor(() => rec.info().heartbeat!.at > first, 20_000, 'a heartbeat');
    rec.logMetrics({ m: 1 }, 0, 1700000000000);
    rec.end();
    assert.equal(readFileSync(join(rec.runDir, 'metrics', 'm'), 'utf8'), '1700000000000 1.0 0\n');
    assert.equal(rec.info().status, 'FINISHED');
  } finally {
    setHeartbeatInterval(10_000);
  }
});
