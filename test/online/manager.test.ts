/**
 * Online simulation on the imported S&P 500 data (12 names) over 2019 with a 60-day RollingStrategy:
 * every 2019 trading day has a signal, models switch on schedule, a same-day routine changes nothing,
 * a routine killed with SIGKILL mid-training and run again ends in the same state as an uninterrupted one.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../../src/generate/calendar.ts';
import type { KeyedDict } from '../../src/collect/keyed.ts';
import { getStore } from '../../src/recorder/R.ts';
import { getSegment } from '../../src/task/definition.ts';
import type { TaskDef } from '../../src/task/types.ts';
import { LocalTrainer, OnlineManager } from '../../src/online/index.ts';
import { asPanel } from '../../src/online/panels.ts';
import { manager, newSetup, runRoutineChild, smallProvider, strategies, tmpRoot } from './helpers.ts';
import type { Setup } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root);
const cal = Calendar.fromFile(join(providerUri, 'calendars', 'day.txt')).days;
const days2019 = cal.filter((d) => d >= '2019-01-02' && d <= '2019-12-31');

/** Hand-computed AverageEnsemble of one prediction on one date: z = (x - mean) / sample std, instruments sorted. */
function zScoresOn(pred: ReturnType<typeof asPanel>, d: string): [string, number][] {
  const rows: [string, number][] = [];
  pred.dates.forEach((x, i) => {
    if (x === d && Number.isFinite(pred.values[0]![i]!)) rows.push([pred.instruments[i]!, pred.values[0]![i]!]);
  });
  const mean = rows.reduce((a, r) => a + r[1], 0) / rows.length;
  const sd = Math.sqrt(rows.reduce((a, r) => a + (r[1] - mean) ** 2, 0) / (rows.length - 1));
  return rows.map(([i, v]) => [i, (v - mean) / sd] as [string, number]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function taskOf(s: Setup, id: string): TaskDef {
  const store = getStore({ uri: s.mlruns });
  const exp = store.getExperiment({ experimentName: 'lin' }, { create: false });
  return store.getRecorder({ recorderId: id, experimentId: exp.id }).loadObject('task') as TaskDef;
}

/** The state with recorder ids replaced by their tasks' test segments (ids differ between runs). */
function canonicalState(s: Setup, m: OnlineManager) {
  const seg = (id: string) => getSegment(taskOf(s, id), 'test');
  return {
    history: m.state.history.map((h) => ({ time: h.time, strategy: h.strategy, tests: h.recorderIds.map(seg) })),
    online: m.strategies[0]!.tool.readSet().recorderIds.map(seg),
    lastRoutine: m.state.lastRoutine,
    signals: m.state.signals,
    signalsText: readFileSync(m.signalsPath, 'utf8'),
  };
}

test('simulate 2019: a signal every trading day, models switch every 60 trading days, signal = z-scored prediction of the responsible window', async () => {
  const s = newSetup(root, providerUri, 'sim');
  const m = manager(s);
  const sig = await m.simulate({ end: '2019-12-31' });
  const dates = [...new Set(sig.dates)];
  assert.deepEqual(dates, days2019, 'every trading day of 2019, once, in order');
  const keys = sig.dates.map((d, i) => `${d}|${sig.instruments[i]}`);
  assert.equal(new Set(keys).size, keys.length, 'no duplicated (date, instrument)');
  // switches: the day a new window's test starts, i.e. 2019 trading days 0, 60, 120, 180, 240
  const switches = m.state.history.filter((h, i, a) => i === 0 || h.recorderIds.join() !== a[i - 1]!.recorderIds.join());
  assert.deepEqual(switches.map((h) => h.time), [0, 60, 120, 180, 240].map((i) => days2019[i]));
  for (const h of switches) assert.equal(getSegment(taskOf(s, h.recorderIds[0]!), 'test')![0], h.time, 'the new model tests from its switch day');
  assert.equal(m.strategies[0]!.tool.readSet().version, 5);
  // the signal on a day equals the z-score of the window responsible for that day
  const store = getStore({ uri: s.mlruns });
  const expId = store.getExperiment({ experimentName: 'lin' }, { create: false }).id;
  for (const k of [0, 59, 60, 200, 251]) {
    const d = days2019[k]!;
    const resp = switches.filter((h) => h.time <= d).at(-1)!;
    const want = zScoresOn(asPanel(store.getRecorder({ recorderId: resp.recorderIds[0]!, experimentId: expId }).loadObject('pred'), 'pred'), d);
    assert.ok(want.length >= 10, `${d}: the responsible window predicts most of the 12 names`);
    const got = sig.dates.map((x, i) => [x, sig.instruments[i]!, sig.values[0]![i]!] as const).filter((r) => r[0] === d);
    assert.equal(got.length, want.length);
    got.forEach((r, i) => {
      assert.equal(r[1], want[i]![0]);
      assert.ok(Math.abs(r[2] - want[i]![1]) < 1e-12, `${d} ${r[1]}`);
    });
  }

  // the collect stage over every date, untrimmed (qlib's prepare_signals), gives the same rows as the
  // day-by-day trimmed extension (the last window predicts past 2019: those days are not signalled yet)
  const collected = m.getCollector().run();
  assert.deepEqual(collected.keys(), [['lin', 'pred']]);
  const groups = collected.get(['lin', 'pred']) as KeyedDict<unknown>;
  assert.equal(groups.size, 1, 'one model group (class + kwargs)');
  // qlib's strategy.get_collector(): every FINISHED recorder of the experiment (here: the same 5)
  const all = m.strategies[0]!.getCollector().run();
  assert.deepEqual(all.keys(), ['pred']);
  assert.deepEqual((all.get('pred') as KeyedDict<unknown>).entries(), groups.entries());
  const full = m.prepareSignals()!;
  const fullRows = full.dates.map((d, i) => `${d},${full.instruments[i]},${full.values[0]![i]}`).filter((r, i) => r.slice(0, 10) >= '2019-01-02' && r.slice(0, 10) <= '2019-12-31' && Number.isFinite(full.values[0]![i]!));
  assert.deepEqual(fullRows, sig.dates.map((d, i) => `${d},${sig.instruments[i]},${sig.values[0]![i]}`));

  // idempotent: the same day again (in this process, then reloaded in a fresh manager) changes nothing
  const files = [m.statePath, m.signalsPath, m.strategies[0]!.tool.file];
  const before = files.map((f) => readFileSync(f, 'utf8'));
  const mtimes = files.map((f) => statSync(f).mtimeMs);
  const r1 = await m.routine('2019-12-31');
  assert.equal(r1.ran, false);
  const m2 = OnlineManager.load(s.stateDir, strategies(s), new LocalTrainer({ providerUri, mlruns: s.mlruns }), providerUri);
  const r2 = await m2.routine('2019-12-31');
  assert.equal(r2.ran, false);
  assert.deepEqual(files.map((f) => readFileSync(f, 'utf8')), before);
  assert.deepEqual(files.map((f) => statSync(f).mtimeMs), mtimes);
  assert.equal((await m2.simulate({ end: '2019-12-31' })).dates.length, sig.dates.length, 'simulate again: nothing new');
});

function runDirs(s: Setup): number {
  const store = getStore({ uri: s.mlruns });
  const exp = store.getExperiment({ experimentName: 'lin' }, { create: false });
  return readdirSync(join(s.mlruns, exp.id)).filter((f) => /^[0-9a-f]{32}$/.test(f)).length;
}

test('kill -9 mid-routine (while training the switch model), then run again: same state as an uninterrupted routine', async () => {
  const switchDay = days2019[60]!;
  const prev = days2019[59]!;
  const a = newSetup(root, providerUri, 'plain');
  const b = newSetup(root, providerUri, 'killed');
  for (const s of [a, b]) await manager(s).simulate({ end: prev });
  const ra = await runRoutineChild(a, switchDay);
  assert.equal(ra.code, 0, ra.out);
  const infos = () => getStore({ uri: b.mlruns }).listRecorders({ experimentName: 'lin' }).infos;
  // killed once its training run is RUNNING (its meta written), i.e. inside taskTrain
  const rb = await runRoutineChild(b, switchDay, { killWhen: () => infos().some((i) => i.status === 'RUNNING') });
  assert.equal(rb.signal, 'SIGKILL', `the child finished before it was killed: ${rb.out}`);
  const stateAfterKill = JSON.parse(readFileSync(join(b.stateDir, 'state.json'), 'utf8')) as { lastRoutine: string };
  assert.equal(stateAfterKill.lastRoutine, prev, 'the killed routine committed nothing');
  const orphans = infos().filter((i) => i.status === 'RUNNING');
  assert.equal(orphans.length, 1, 'the killed routine left its training run RUNNING');
  assert.equal(orphans[0]!.stale, true, 'and it is seen as stale (owner pid dead)');
  const rb2 = await runRoutineChild(b, switchDay);
  assert.equal(rb2.code, 0, rb2.out);
  assert.deepEqual((JSON.parse(rb2.out.trim().split('\n').at(-1)!) as { failedOrphans: string[] }).failedOrphans, [orphans[0]!.id]);
  const after = infos().find((i) => i.id === orphans[0]!.id)!;
  assert.equal(after.status, 'FAILED', 'the next routine ended the orphan FAILED');
  assert.equal(infos().filter((i) => i.status === 'RUNNING').length, 0);
  const load = (s: Setup) => OnlineManager.load(s.stateDir, strategies(s), new LocalTrainer({ providerUri, mlruns: s.mlruns }), providerUri);
  const ca = canonicalState(a, load(a));
  const cb = canonicalState(b, load(b));
  assert.deepEqual(cb, ca);
  assert.equal(ca.online[0]![0], switchDay);
  assert.ok(existsSync(join(b.stateDir, 'signals.csv')));
});

test('crash at the last moment (switch done, signals appended, state.json not yet written): the re-run ends in the uninterrupted state', async () => {
  const switchDay = days2019[20]!;
  const prev = days2019[19]!;
  const a = newSetup(root, providerUri, 'late-plain');
  const b = newSetup(root, providerUri, 'late-crash');
  for (const s of [a, b]) await manager(s, { step: 20 }).simulate({ end: prev });
  const ma = OnlineManager.load(a.stateDir, strategies(a, 20), new LocalTrainer({ providerUri, mlruns: a.mlruns }), providerUri);
  await ma.routine(switchDay);
  const committed = readFileSync(join(b.stateDir, 'state.json'));
  const mb = OnlineManager.load(b.stateDir, strategies(b, 20), new LocalTrainer({ providerUri, mlruns: b.mlruns }), providerUri);
  await mb.routine(switchDay);
  // everything but the final state write happened: put the previous state.json back
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(b.stateDir, 'state.json'), committed);
  const mb2 = OnlineManager.load(b.stateDir, strategies(b, 20), new LocalTrainer({ providerUri, mlruns: b.mlruns }), providerUri);
  assert.equal(mb2.state.lastRoutine, prev);
  const runs = runDirs(b);
  const r = await mb2.routine(switchDay);
  assert.equal(r.ran, true);
  assert.equal(runDirs(b), runs, 'the finished model is reused, not retrained');
  assert.deepEqual(canonicalState(b, mb2), canonicalState(a, ma));
});
