/**
 * Collectors and ensembles on real experiment stores (runs written through the Recorder API, preds
 * read back from pred.csv), against expectations computed by hand in the comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AverageEnsemble, KeyedDict, RecorderCollector, RollingEnsemble, RollingGroup, SingleKeyEnsemble } from '../../src/collect/index.ts';
import type { Panel } from '../../src/data/types.ts';
import { addRun, panel, rowsOf, tempStore } from './helpers.ts';

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;

function only(d: unknown, key: unknown): Panel {
  assert.ok(d instanceof KeyedDict);
  const inner = (d as KeyedDict<unknown>).get('pred');
  assert.ok(inner instanceof KeyedDict, 'pred collected');
  const v = (inner as KeyedDict<unknown>).get(key as never);
  assert.ok(v !== undefined, `group ${JSON.stringify(key)} present; have ${JSON.stringify((inner as KeyedDict<unknown>).keys())}`);
  return v as Panel;
}

test('overlapping windows: each date comes whole from the latest-starting window that has it', () => {
  const store = tempStore();
  // W1 covers 01-02..01-05, W2 01-04..01-07, W3 01-06..01-08; score = 10·window + day.
  // W2 lacks B on 01-05: per date, 01-05 belongs to W2 alone (A only) — qlib would keep W1's B row.
  // Runs are created out of start order (W3, W1, W2) to show the order comes from the dates.
  const w = (k: number, days: number[], skip?: [number, string]) =>
    panel(Object.fromEntries(days.map((d) => [`2020-01-0${d}`, Object.fromEntries(['B', 'A'].filter((i) => !(skip && skip[0] === d && skip[1] === i)).map((i) => [i, 10 * k + d]))])));
  addRun(store, 'roll', 'LinearModel', ['2020-01-06', '2020-01-08'], w(3, [6, 7, 8]));
  addRun(store, 'roll', 'LinearModel', ['2020-01-02', '2020-01-05'], w(1, [2, 3, 4, 5]));
  addRun(store, 'roll', 'LinearModel', ['2020-01-04', '2020-01-07'], w(2, [4, 5, 6, 7], [5, 'B']));
  const out = new RecorderCollector({ experiment: 'roll', store, processList: new RollingGroup() }).run();
  const p = only(out, ['LinearModel']);
  assert.deepEqual(rowsOf(p), [
    ['2020-01-02', 'A', 12], ['2020-01-02', 'B', 12],
    ['2020-01-03', 'A', 13], ['2020-01-03', 'B', 13],
    ['2020-01-04', 'A', 24], ['2020-01-04', 'B', 24],
    ['2020-01-05', 'A', 25],
    ['2020-01-06', 'A', 36], ['2020-01-06', 'B', 36],
    ['2020-01-07', 'A', 37], ['2020-01-07', 'B', 37],
    ['2020-01-08', 'A', 38], ['2020-01-08', 'B', 38],
  ]);
  assert.deepEqual(p.columns, ['score']);
});

test('gaps: dates no window covers are absent, not NaN rows', () => {
  const store = tempStore();
  addRun(store, 'gap', 'M', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1, B: 2 }, '2020-01-03': { A: 3, B: 4 } }));
  addRun(store, 'gap', 'M', ['2020-01-08', '2020-01-09'], panel({ '2020-01-09': { B: 8, A: 7 }, '2020-01-08': { A: 5, B: 6 } }));
  const p = only(new RecorderCollector({ experiment: 'gap', store, processList: [new RollingGroup()] }).run(), ['M']);
  assert.deepEqual(rowsOf(p), [
    ['2020-01-02', 'A', 1], ['2020-01-02', 'B', 2], ['2020-01-03', 'A', 3], ['2020-01-03', 'B', 4],
    ['2020-01-08', 'A', 5], ['2020-01-08', 'B', 6], ['2020-01-09', 'A', 7], ['2020-01-09', 'B', 8],
  ]);
  assert.equal(new Set(p.dates).size, 4, 'no duplicated dates');
});

test('NaNs: RollingEnsemble keeps the owner window\'s NaN (no fill from an older window)', () => {
  const store = tempStore();
  addRun(store, 'nan', 'M', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1 }, '2020-01-03': { A: 2 } }));
  addRun(store, 'nan', 'M', ['2020-01-03', '2020-01-04'], panel({ '2020-01-03': { A: NaN }, '2020-01-04': { A: 4 } }));
  const p = only(new RecorderCollector({ experiment: 'nan', store, processList: new RollingGroup() }).run(), ['M']);
  assert.deepEqual(rowsOf(p), [['2020-01-02', 'A', 1], ['2020-01-03', 'A', NaN], ['2020-01-04', 'A', 4]]);
});

test('two models: rolling per model, then AverageEnsemble z-scores per date and averages (hand-computed)', () => {
  const store = tempStore();
  // Model M1, two windows; model M2, one window.
  // 01-02  M1: A=1 B=2 C=3 → mean 2, sd 1 → -1, 0, 1.      M2: A=3 B=1 C=2 → 1, -1, 0.   avg: A 0, B -0.5, C 0.5
  // 01-03  M1: A=5 only    → one value, abstains.           M2: A=7 only → abstains.      A: NaN (row kept)
  // 01-06  M1: A=5 B=5     → constant, abstains.            M2: A=0 B=2 → mean 1, sd √2 → ∓1/√2
  // 01-07  M1: A=1 B=2 C=NaN D=3 → mean 2, sd 1 → A -1, B 0, D 1.
  //        M2: A=2 B=4 C=6 D=NaN → mean 4, sd 2 → A -1, B 0, C 1.  avg: A -1, B 0, C 1 (M2 only), D 1 (M1 only)
  addRun(store, 'two', 'M1', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1, B: 2, C: 3 }, '2020-01-03': { A: 5 } }));
  addRun(store, 'two', 'M1', ['2020-01-06', '2020-01-07'], panel({ '2020-01-06': { A: 5, B: 5 }, '2020-01-07': { A: 1, B: 2, C: NaN, D: 3 } }));
  addRun(store, 'two', 'M2', ['2020-01-02', '2020-01-07'], panel({ '2020-01-02': { A: 3, B: 1, C: 2 }, '2020-01-03': { A: 7 }, '2020-01-06': { A: 0, B: 2 }, '2020-01-07': { A: 2, B: 4, C: 6, D: NaN } }));
  const out = new RecorderCollector({ experiment: 'two', store, processList: [new RollingGroup(), (d) => new AverageEnsemble().ensemble(d as KeyedDict<unknown>)] }).run();
  const p = out.get('pred') as Panel;
  const s = Math.SQRT1_2;
  const want: [string, string, number][] = [
    ['2020-01-02', 'A', 0], ['2020-01-02', 'B', -0.5], ['2020-01-02', 'C', 0.5],
    ['2020-01-03', 'A', NaN],
    ['2020-01-06', 'A', -s], ['2020-01-06', 'B', s],
    ['2020-01-07', 'A', -1], ['2020-01-07', 'B', 0], ['2020-01-07', 'C', 1], ['2020-01-07', 'D', 1],
  ];
  const got = rowsOf(p);
  assert.deepEqual(got.map((r) => [r[0], r[1]]), want.map((r) => [r[0], r[1]]));
  got.forEach((r, i) => assert.ok(Number.isNaN(want[i]![2]) ? Number.isNaN(r[2]) : close(r[2], want[i]![2]), `${r[0]} ${r[1]}: ${r[2]} vs ${want[i]![2]}`));
  assert.deepEqual(p.columns, ['score']);
});

test('empty input: no runs, only failed runs, empty dicts and empty windows', () => {
  const store = tempStore();
  store.createExperiment('empty');
  assert.throws(() => new RecorderCollector({ experiment: 'empty', store }).run(), (e: Error & { code?: string; hint?: string }) => e.code === 'NO_RECORDERS' && /has no runs/.test(e.message) && /train tasks/.test(e.hint ?? ''));
  addRun(store, 'empty', 'M', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1 } }), 'FAILED');
  assert.throws(() => new RecorderCollector({ experiment: 'empty', store }).run(), (e: Error & { code?: string }) => e.code === 'NO_RECORDERS' && /1 FAILED/.test(e.message));
  // A finished run without pred: nothing to collect is an error, not an empty dict.
  addRun(store, 'empty', 'M', ['2020-01-02', '2020-01-03'], null);
  assert.throws(() => new RecorderCollector({ experiment: 'empty', store }).run(), (e: Error & { code?: string }) => e.code === 'NO_ARTIFACTS');
  assert.throws(() => new RollingEnsemble().ensemble(new KeyedDict()), (e: Error & { code?: string }) => e.code === 'ENSEMBLE_EMPTY');
  assert.throws(() => new AverageEnsemble().ensemble(new KeyedDict()), (e: Error & { code?: string }) => e.code === 'ENSEMBLE_EMPTY');
  const none = new RollingEnsemble().ensemble(new KeyedDict<unknown>([[['w', 1], panel({})], [['w', 2], panel({})]]));
  assert.equal(none.dates.length, 0);
  assert.deepEqual(none.columns, ['score']);
});

test('duplicate keys: typed error naming both recorders (qlib silently kept the oldest)', () => {
  const store = tempStore();
  const a = addRun(store, 'dup', 'M', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1 } }));
  const b = addRun(store, 'dup', 'M', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 2 } }));
  addRun(store, 'dup', 'M', ['2020-01-04', '2020-01-05'], panel({ '2020-01-04': { A: 3 } }));
  assert.throws(
    () => new RecorderCollector({ experiment: 'dup', store, processList: new RollingGroup() }).run(),
    (e: Error & { code?: string }) => e.code === 'DUPLICATE_REC_KEY' && e.message.includes(a.id) && e.message.includes(b.id) && e.message.includes('2020-01-02'),
  );
  // Narrowing by filter resolves it.
  const out = new RecorderCollector({ experiment: 'dup', store, recFilterFunc: (r) => r.id !== a.id, processList: new RollingGroup() }).run();
  assert.deepEqual(rowsOf(only(out, ['M'])), [['2020-01-02', 'A', 2], ['2020-01-04', 'A', 3]]);
});

test('missing experiment: EXPERIMENT_NOT_FOUND, and the experiment is not created (W40)', () => {
  const store = tempStore();
  store.createExperiment('real');
  const before = store.listExperiments().experiments.map((e) => e.name).sort();
  assert.throws(() => new RecorderCollector({ experiment: 'raal', store }).run(), (e: Error & { code?: string; hint?: string }) => e.code === 'EXPERIMENT_NOT_FOUND' && /"real"/.test(e.hint ?? ''));
  assert.deepEqual(store.listExperiments().experiments.map((e) => e.name).sort(), before);
});

test('status, onlyExist, artifactsPath/__raw, filters and processList order', () => {
  const store = tempStore();
  const fin = addRun(store, 'opt', 'M', ['2020-01-02', '2020-01-02'], panel({ '2020-01-02': { A: 1 } }));
  const noPred = addRun(store, 'opt', 'M', ['2020-01-03', '2020-01-03'], null);
  addRun(store, 'opt', 'M', ['2020-01-04', '2020-01-04'], panel({ '2020-01-04': { A: 4 } }), 'RUNNING');
  const c = new RecorderCollector({ experiment: 'opt', store, recKeyFunc: (r) => r.id, artifactsPath: { pred: 'pred', rec: '__raw' }, artifactsKey: ['pred', '__raw'] });
  const out = c.collect();
  assert.deepEqual((out.get('pred') as KeyedDict<unknown>).keys(), [fin.id], 'RUNNING excluded, missing pred skipped');
  assert.deepEqual(c.lastStats?.missing, [{ recorderId: noPred.id, artifact: 'pred' }]);
  assert.deepEqual((out.get('__raw') as KeyedDict<unknown>).keys().sort(), [fin.id, noPred.id].sort());
  assert.throws(() => c.collect({ artifactsKey: 'pred', onlyExist: false }), (e: Error & { code?: string }) => e.code === 'ARTIFACT_NOT_FOUND');
  const running = new RecorderCollector({ experiment: 'opt', store, status: ['RUNNING'], recKeyFunc: (r) => r.id }).collect();
  assert.equal((running.get('pred') as KeyedDict<unknown>).size, 1);
  assert.throws(() => new RecorderCollector({ experiment: 'opt', store, artifactsKey: 'label' }), (e: Error & { code?: string; path?: string }) => e.code === 'VALIDATION' && e.path === 'artifactsKey');
  const order: string[] = [];
  new RecorderCollector({ experiment: 'opt', store, recKeyFunc: (r) => r.id, processList: [(v) => (order.push('first'), v), { process: (v: unknown) => (order.push('second'), v) }] }).run();
  assert.deepEqual(order, ['first', 'second']);
});

test('RollingGroup passes non-tuple keys through (W41) and SingleKeyEnsemble unwraps one-key dicts', () => {
  const p1 = panel({ '2020-01-03': { B: 2, A: 1 } });
  const p2 = panel({ '2020-01-02': { A: 0 } });
  const out = new RollingGroup().apply(new KeyedDict<unknown>([['plain', p1], [['M', 'w1'], p2], [['M', 'w2'], p1]]));
  assert.deepEqual(out.keys(), ['plain', ['M']]);
  assert.deepEqual(rowsOf(out.get('plain') as Panel), [['2020-01-03', 'A', 1], ['2020-01-03', 'B', 2]]);
  assert.deepEqual(rowsOf(out.get(['M']) as Panel), [['2020-01-02', 'A', 0], ['2020-01-03', 'A', 1], ['2020-01-03', 'B', 2]]);
  const single = new SingleKeyEnsemble().ensemble(new KeyedDict<unknown>([['x', new KeyedDict<unknown>([['y', 42]])]]));
  assert.equal(single, 42);
  const two = new SingleKeyEnsemble().ensemble(new KeyedDict<unknown>([['x', 1], ['y', 2]]));
  assert.ok(two instanceof KeyedDict && two.size === 2);
  assert.throws(() => new RollingEnsemble().ensemble(new KeyedDict<unknown>([['a', panel({ d: { A: 1, B: 2 } })]]).set('b', { ...panel({ d: { A: 1 } }), columns: ['x'] })), (e: Error & { code?: string }) => e.code === 'ENSEMBLE_INPUT');
  assert.throws(() => new RollingEnsemble().ensemble(new KeyedDict<unknown>([['a', { dates: ['d', 'd'], instruments: ['A', 'A'], columns: ['score'], groups: ['score'], values: [Float64Array.of(1, 2)] }]])), (e: Error & { code?: string }) => e.code === 'DUPLICATE_ROW');
});

test('fast pred.csv reader gives exactly what the general reader gives, and declines what it cannot read', async () => {
  const { parsePanelCsvFast } = await import('../../src/collect/fastCsv.ts');
  const { csvToObject, panelToCsv } = await import('../../src/recorder/artifacts.ts');
  const p: Panel = {
    dates: ['2020-01-02', '2020-01-02', '2020-01-03', '2020-01-03', '2020-01-06'],
    instruments: ['A', 'B', 'A', 'B', 'C'],
    columns: ['score', 'LABEL0'],
    groups: ['score', 'label'],
    values: [Float64Array.of(NaN, Infinity, -Infinity, 1e-300, -0.5), Float64Array.of(1, 2.5, 0, -0, 123456789.125)],
  };
  const text = panelToCsv(p);
  const fast = parsePanelCsvFast(text);
  assert.ok(fast, 'plain CSV takes the fast path');
  assert.deepEqual(fast, csvToObject(text, 'x'));
  assert.equal(parsePanelCsvFast(text.replace('B', '"B,1"')), undefined, 'quoted fields go to the general reader');
  assert.equal(parsePanelCsvFast('a,b\n1,2\n'), undefined, 'not a panel');
  assert.equal(parsePanelCsvFast('datetime,instrument,score\n2020-01-02,A,abc\n'), undefined, 'non-numeric');
  assert.equal(parsePanelCsvFast('datetime,instrument,score\n2020-01-02,A,1,2\n'), undefined, 'extra field');
});

test('MergeCollector merges under [name, key] (or mergeFunc); Group needs groupFunc and ens', async () => {
  const { MergeCollector, Group } = await import('../../src/collect/index.ts');
  const store = tempStore();
  addRun(store, 'a', 'M1', ['2020-01-02', '2020-01-02'], panel({ '2020-01-02': { A: 1, B: 3 } }));
  addRun(store, 'b', 'M2', ['2020-01-02', '2020-01-02'], panel({ '2020-01-02': { A: 4, B: 2 } }));
  const ca = new RecorderCollector({ experiment: 'a', store, processList: new RollingGroup() });
  const cb = new RecorderCollector({ experiment: 'b', store, processList: new RollingGroup() });
  const merged = new MergeCollector({ a: ca, b: cb }).run();
  assert.deepEqual(merged.keys(), [['a', 'pred'], ['b', 'pred']]);
  // Average across the two collectors: per date z(M1) = (-1/√2, 1/√2), z(M2) = (1/√2, -1/√2) → 0, 0.
  const avg = new MergeCollector({ a: ca, b: cb }, { mergeFunc: (name) => name, processList: [] }).run();
  assert.deepEqual(avg.keys(), ['a', 'b']);
  const p = new AverageEnsemble().ensemble(avg);
  assert.deepEqual(rowsOf(p).map((r) => [r[0], r[1]]), [['2020-01-02', 'A'], ['2020-01-02', 'B']]);
  for (const r of rowsOf(p)) assert.ok(close(r[2], 0), String(r[2]));
  // A custom groupFunc: by first letter of the key.
  const g = new Group({
    groupFunc: (d) => {
      const out = new KeyedDict<KeyedDict<unknown>>();
      for (const [k, v] of d) out.setDefault(String(k)[0]!, () => new KeyedDict()).set(k, v);
      return out;
    },
    ens: (d) => d.size,
  });
  const grouped = g.apply(new KeyedDict<unknown>([['x1', 0], ['y1', 0], ['x2', 0]]));
  assert.deepEqual(grouped.entries(), [['x', 2], ['y', 1]]);
  assert.throws(() => new Group().apply(new KeyedDict()), (e: Error & { code?: string }) => e.code === 'GROUP_FUNC');
  assert.throws(() => new Group({ groupFunc: () => new KeyedDict([['k', new KeyedDict()]]) }).apply(new KeyedDict()), (e: Error & { code?: string }) => e.code === 'GROUP_FUNC');
});
