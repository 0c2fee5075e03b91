/**
 * Panel row labels are built on first read (assemble.ts `withLazyLabels`) but behave as plain
 * arrays: enumerable own properties seen by spread, Object.keys, JSON and structured clone, and
 * assignable. One thread and two give the same labels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { withSynthMarket } from './parallel-helpers.ts';

test('lazy row labels behave as plain arrays (spread, keys, JSON, structuredClone, assignment)', () => {
  withSynthMarket('qtask-labels-', { instruments: 140, start: '2020-01-01', end: '2020-03-31', seed: 31 }, (dir) => {
    const p = new LocalProvider(dir);
    const groups = [{ group: 'feature', fields: ['$close', 'Mean($close, 5)'], names: ['C', 'M'] }];
    const days = p.calendarDays();
    const spans = p.listInstruments('all');
    const one = assemblePanel(p, groups, spans, 0, days.length - 1, { threads: 1 });
    const two = assemblePanel(p, groups, spans, 0, days.length - 1, { threads: 2 });
    assert.ok(two.values[0]?.buffer instanceof SharedArrayBuffer, 'the parallel path ran');
    for (const panel of [one, two]) {
      assert.deepEqual(Object.keys(panel).sort(), ['columns', 'dates', 'groups', 'instruments', 'values']);
      assert.equal(panel.dates.length, panel.values[0]?.length);
      assert.equal(panel.instruments.length, panel.dates.length);
      // Rows by date, then instrument: dates never go back; within a date instruments ascend.
      for (let r = 1; r < panel.dates.length; r++) {
        const d = (panel.dates[r] as string).localeCompare(panel.dates[r - 1] as string);
        assert.ok(d > 0 || (d === 0 && (panel.instruments[r] as string) > (panel.instruments[r - 1] as string)), `row ${r}`);
      }
      assert.deepEqual({ ...panel }.dates, panel.dates);
      const json = JSON.parse(JSON.stringify({ dates: panel.dates, instruments: panel.instruments, all: { ...panel, values: [] } })) as { all: { dates: string[]; instruments: string[] } };
      assert.deepEqual(json.all.dates, panel.dates);
      assert.deepEqual(json.all.instruments, panel.instruments);
      const clone = structuredClone(panel);
      assert.deepEqual(clone.dates, panel.dates);
      assert.ok(Array.isArray(clone.instruments) && clone.instruments.length === panel.instruments.length);
    }
    assert.deepEqual(two.dates, one.dates);
    assert.deepEqual(two.instruments, one.instruments);
    const replaced = one.dates.map((d) => `${d}!`);
    one.dates = replaced;
    assert.equal(one.dates, replaced, 'assigning replaces the labels');
    assert.deepEqual(two.dates.slice(0, 3), [days[0], days[0], days[0]]);
  });
});
