/** PredUpdater / LabelUpdater extend a model's artifacts to a later day: appended once, old rows kept, re-run is a no-op. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../../src/generate/calendar.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import type { Panel } from '../../src/data/types.ts';
import { LabelUpdater, OnlineError, PredUpdater, lastValidDate } from '../../src/online/index.ts';
import { asPanel } from '../../src/online/panels.ts';
import { getStore } from '../../src/recorder/R.ts';
import type { JsonObject, TaskDef } from '../../src/task/types.ts';
import { resolveDataset } from '../../src/workflow/resolve.ts';
import { taskTrain } from '../../src/workflow/taskTrain.ts';
import { manager, newSetup, smallProvider, template, tmpRoot } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root, 8);
const cal = Calendar.fromFile(join(providerUri, 'calendars', 'day.txt')).days;

test('PredUpdater appends (lastEnd, toDate] without duplicating the boundary; LabelUpdater resumes after the last known label', async () => {
  const s = newSetup(root, providerUri, 'upd');
  const m = manager(s, { step: 20 });
  await m.firstTrain();
  const rec = m.strategies[0]!.tool.onlineModels()[0]!;
  const old = asPanel(rec.loadObject('pred'), 'pred');
  const lastEnd = lastValidDate(old)!;
  assert.equal(lastEnd, cal[cal.indexOf('2019-01-02') + 19]);
  const to = '2019-03-29';
  const r = await new PredUpdater(rec, { providerUri, toDate: to }).update();
  const fresh = asPanel(rec.loadObject('pred'), 'pred');
  const expectDays = cal.filter((d) => d > lastEnd && d <= to);
  assert.equal(r.from, expectDays[0]);
  assert.equal(r.to, to);
  const keys = fresh.dates.map((d, i) => `${d}|${fresh.instruments[i]}`);
  assert.equal(new Set(keys).size, keys.length, 'no duplicated rows');
  assert.deepEqual([...new Set(fresh.dates)], cal.filter((d) => d >= '2019-01-02' && d <= to));
  // old rows unchanged
  for (let i = 0; i < old.dates.length; i++) {
    const j = keys.indexOf(`${old.dates[i]}|${old.instruments[i]}`);
    assert.ok(Object.is(fresh.values[0]![j], old.values[0]![i]), `row ${i}`);
  }
  const again = await new PredUpdater(rec, { providerUri, toDate: to }).update();
  assert.equal(again.skipped, 'already up to date');
  // a toDate past the calendar is clipped to its last day
  const clipped = await new PredUpdater(rec, { providerUri, toDate: '2031-01-01' }).update();
  assert.equal(clipped.to, cal[cal.length - 1]);

  const oldLabelEnd = lastValidDate(asPanel(rec.loadObject('label'), 'label'))!;
  const lab = await new LabelUpdater(rec, { providerUri, toDate: to }).update();
  const label = asPanel(rec.loadObject('label'), 'label');
  const lk = label.dates.map((d, i) => `${d}|${label.instruments[i]}`);
  assert.equal(new Set(lk).size, lk.length);
  assert.ok(lab.added > 0);
  assert.equal(lab.from, cal[cal.indexOf(oldLabelEnd) + 1], 'resumes the day after the last known label');
  assert.equal(lastValidDate(label), to);
});

/**
 * A ZScoreNorm infer processor whose fit window (2018-10-01 to 2019-12-31) reaches past the training data
 * (which ends 2019-01-02): refitting it on the updater's longer range changes its mean/std and so the
 * predictions. The updated predictions must equal the model applied to the ORIGINAL fitted pipeline.
 */
function zscoreTemplate(): TaskDef {
  const t = template('lin') as unknown as { dataset: { kwargs: { handler: { kwargs: Record<string, unknown> }; segments: Record<string, [string, string]> } } };
  t.dataset.kwargs.handler.kwargs['infer_processors'] = [{ class: 'ZScoreNorm', kwargs: { fields_group: 'feature', fit_start_time: '2018-10-01', fit_end_time: '2019-12-31' } }];
  t.dataset.kwargs.segments = { train: ['2017-01-03', '2017-12-29'], valid: ['2018-01-02', '2018-11-30'], test: ['2018-12-03', '2019-01-02'] };
  return t as unknown as TaskDef;
}

/** Σ coef·x + intercept on each row of `panel` dated in `days` (the LinearModel's prediction, by hand). */
function linearScores(panel: Panel, manifest: { feature_names: string[]; state: { coef: number[]; intercept: number } }, days: Set<string>): Map<string, number> {
  const cols = manifest.feature_names.map((f) => panel.values[panel.columns.indexOf(f)]!);
  const out = new Map<string, number>();
  for (let r = 0; r < panel.dates.length; r++) {
    if (!days.has(panel.dates[r]!)) continue;
    let s = 0;
    cols.forEach((c, j) => (s += manifest.state.coef[j]! * c[r]!));
    out.set(`${panel.dates[r]}|${panel.instruments[r]}`, s + manifest.state.intercept);
  }
  return out;
}

test('PredUpdater reuses the processors fitted at training time (dataset_state), not a refit on the longer range', async () => {
  const s = newSetup(root, providerUri, 'fitted');
  const provider = new LocalProvider(providerUri);
  const train = async () => {
    const ref = await taskTrain(zscoreTemplate(), { experimentName: 'zs', provider: providerUri, mlruns: s.mlruns });
    return getStore({ uri: s.mlruns }).getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId });
  };
  const rec = await train();
  assert.ok(rec.listArtifacts().includes('dataset_state.json'), 'taskTrain saves the fitted processor state');
  const cfg = rec.loadObject('dataset') as JsonObject;
  const manifest = rec.loadObject('params') as unknown as Parameters<typeof linearScores>[1];
  const old = asPanel(rec.loadObject('pred'), 'pred');
  const to = '2019-03-29';
  const newDays = new Set(cal.filter((d) => d > '2019-01-02' && d <= to));

  // the pipeline as trained: processors fitted on the handler's original range (to 2019-01-02)
  const original = resolveDataset(cfg, provider);
  original.setup();
  // the raw data of the extended range, transformed by the ORIGINAL fitted processors
  const extCfg = structuredClone(cfg) as { kwargs: { handler: { kwargs: Record<string, unknown> }; segments: Record<string, unknown> } };
  extCfg.kwargs.handler.kwargs['end_time'] = to;
  const extended = resolveDataset(extCfg, provider);
  let asTrained = extended.handler.loadRaw();
  for (const p of [...original.handler.sharedProcessors, ...original.handler.inferProcessors]) asTrained = p.transform(asTrained);
  const want = linearScores(asTrained, manifest, newDays);
  // what a refit would give: the processors fitted again on the extended range
  const refit = resolveDataset(extCfg, provider);
  refit.setup();
  const wrong = linearScores(refit.handler.view('infer'), manifest, newDays);
  const zo = original.handler.inferProcessors[0] as unknown as { mean: Float64Array };
  const zr = refit.handler.inferProcessors[0] as unknown as { mean: Float64Array };
  assert.ok(Math.abs(zo.mean[0]! - zr.mean[0]!) > 1e-6, 'the ZScoreNorm statistics really change when the range grows');
  let maxWrong = 0;
  let scale = 0;
  for (const [k, v] of want) {
    if (!Number.isFinite(v)) continue;
    maxWrong = Math.max(maxWrong, Math.abs(v - wrong.get(k)!));
    scale = Math.max(scale, Math.abs(v));
  }
  assert.ok(maxWrong > 0.05 * scale, `refitting would change the predictions (max diff ${maxWrong}, largest prediction ${scale})`);

  const r = await new PredUpdater(rec, { providerUri, toDate: to }).update();
  assert.equal(r.refitted, undefined);
  const got = asPanel(rec.loadObject('pred'), 'pred');
  let compared = 0;
  for (let i = 0; i < got.dates.length; i++) {
    const k = `${got.dates[i]}|${got.instruments[i]}`;
    if (!newDays.has(got.dates[i]!)) continue;
    const w = want.get(k);
    assert.ok(w !== undefined, `row ${k} is expected`);
    const v = got.values[0]![i]!;
    if (Number.isNaN(w)) assert.ok(Number.isNaN(v), k);
    else assert.ok(Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${k}: ${v} vs as-trained ${w}`);
    compared++;
  }
  assert.equal(compared, want.size);
  assert.ok(compared >= newDays.size * 6, `every new day predicted (${compared} rows)`);
  const gotByKey = new Map(got.dates.map((d, i) => [`${d}|${got.instruments[i]}`, got.values[0]![i]!]));
  for (let i = 0; i < old.dates.length; i++) assert.ok(Object.is(gotByKey.get(`${old.dates[i]}|${old.instruments[i]}`), old.values[0]![i]), `old row ${i} kept`);

  // a recorder trained before the state was saved is refitted, and says so
  const legacy = await train();
  rmSync(legacy.artifactLocalPath('dataset_state.json'));
  const rl = await new PredUpdater(legacy, { providerUri, toDate: to }).update();
  assert.equal(rl.refitted, true);
  const lp = asPanel(legacy.loadObject('pred'), 'pred');
  const li = lp.dates.findIndex((d) => newDays.has(d));
  const lk = `${lp.dates[li]}|${lp.instruments[li]}`;
  assert.ok(Math.abs(lp.values[0]![li]! - wrong.get(lk)!) < 1e-9, 'the legacy path equals the refit');

  // a state that does not match the config is refused with a typed error, and the pred is unchanged
  const bad = await train();
  const before = readFileSync(bad.artifactLocalPath('pred.csv'), 'utf8');
  bad.saveObjects({ dataset_state: { format: 'qtask.dataset_state/1', processors: [{ list: 'infer', index: 0, className: 'MinMaxNorm', cols: ['ROC5'], stats: { min: [0], max: [1] } }] } });
  await assert.rejects(new PredUpdater(bad, { providerUri, toDate: to }).update(), (e: unknown) => e instanceof OnlineError && e.code === 'ONLINE_PRED' && /MinMaxNorm/.test(e.message) && !!e.hint);
  assert.equal(readFileSync(bad.artifactLocalPath('pred.csv'), 'utf8'), before);
});
