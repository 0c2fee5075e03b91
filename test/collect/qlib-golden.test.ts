/**
 * AverageEnsemble against qlib 0.9.7's on random models with NaN values, missing rows, a date with one
 * instrument and a constant model-date (fixture made by fixtures/qlib_average_golden.py). On these
 * inputs qtask's documented policy and qlib's pandas maths agree, so every row must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AverageEnsemble, KeyedDict } from '../../src/collect/index.ts';
import type { Panel } from '../../src/data/types.ts';

type Row = [string, string, number | null];
const golden = JSON.parse(readFileSync(new URL('./fixtures/qlib_average_golden.json', import.meta.url), 'utf8')) as { inputs: Record<string, Row[]>; output: Row[] };

const toPanel = (rows: Row[]): Panel => ({
  dates: rows.map((r) => r[0]),
  instruments: rows.map((r) => r[1]),
  columns: ['score'],
  groups: ['score'],
  values: [Float64Array.from(rows.map((r) => (r[2] === null ? NaN : r[2])))],
});

test('AverageEnsemble equals qlib 0.9.7 row by row (NaNs, missing rows, one-instrument date, constant model-date)', () => {
  const out = new AverageEnsemble().ensemble(new KeyedDict<unknown>(Object.entries(golden.inputs).map(([k, rows]) => [k, toPanel(rows)] as const)));
  assert.equal(out.dates.length, golden.output.length);
  assert.ok(golden.output.some((r) => r[2] === null), 'fixture has NaN outputs');
  golden.output.forEach(([d, inst, want], i) => {
    assert.equal(out.dates[i], d);
    assert.equal(out.instruments[i], inst);
    const got = out.values[0]![i]!;
    if (want === null) assert.ok(Number.isNaN(got), `${d} ${inst}: want NaN, got ${got}`);
    else assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${d} ${inst}: ${got} vs ${want}`);
  });
});
