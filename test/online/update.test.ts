/** PredUpdater / LabelUpdater extend a model's artifacts to a later day: appended once, old rows kept, re-run is a no-op. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../../src/generate/calendar.ts';
import { LabelUpdater, PredUpdater, lastValidDate } from '../../src/online/index.ts';
import { asPanel } from '../../src/online/panels.ts';
import { manager, newSetup, smallProvider, tmpRoot } from './helpers.ts';

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
