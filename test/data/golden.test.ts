/**
 * Alpha158 vs qlib itself. The expected values in test/fixtures/golden/alpha158_sp500.json were
 * produced by qlib 0.9.7's own Alpha158 handler (scripts/golden/alpha158_golden.py) on
 * ../shared/data/sp500_2015_2020 imported with `qtask data import-csv --adjust --duplicates first`.
 * Here the same CSVs are imported through the real import API, Alpha158 + LABEL0 is computed for
 * every (date, instrument), and the sampled cells are compared.
 *
 * Tolerance: |ours − qlib| ≤ 1e-5 · max(1, |qlib|). Both sides end in float32 (qlib casts every
 * expression to float32; the fixture stores 9 significant digits, an exact float32 round trip), so
 * agreement is normally ~1e-8 relative; 1e-5 leaves room for float64 summation-order differences in
 * rolling statistics without letting a wrong window or NaN rule through. NaN must match NaN, ±inf
 * must match exactly, and cells qlib has no row for must have no row here either.
 *
 * The expression engine reproduces numpy's float32 `log` bit for bit (ff51e04), so the CORR/CORD
 * columns need no wider tolerance (before that, a 1-ulp log difference on JPM moved CORR5 by 1e-5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { createAlpha158 } from '../../src/data/handler/index.ts';
import { importedSp500 } from '../support/sp500Fixture.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/golden/alpha158_sp500.json');
const RTOL = 1e-5;

interface Golden {
  columns: string[];
  start: string;
  end: string;
  instruments: string[];
  cells: Array<{ date: string; instrument: string; values: Array<number | string | null> }>;
  absent: Array<[string, string]>;
}

function decode(v: number | string | null): number {
  if (v === null) return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v as number;
}

test('Alpha158 + LABEL0 on the imported S&P 500 data matches qlib 0.9.7 on every sampled cell', { timeout: 15 * 60_000 }, () => {
  const golden = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Golden;
  const { dir, summary } = importedSp500();
  assert.equal(summary.instruments, 482);
  const provider = new LocalProvider(dir);
  assert.equal(provider.calendarDays()[0], golden.start);
  assert.equal(provider.calendarDays().at(-1), golden.end);

  const handler = createAlpha158(provider, { instruments: 'all', start_time: golden.start, end_time: golden.end });
  const raw = handler.fetch(null, { dataKey: 'raw' });

  // all 158 features + the label, in qlib's order, for every (date, instrument) with data
  assert.deepEqual(raw.columns, golden.columns);
  assert.equal(raw.columns.length, 159);
  assert.deepEqual(raw.groups, [...Array(158).fill('feature'), 'label']);
  let expectedRows = 0;
  const days = provider.calendarDays();
  for (const s of provider.listInstruments('all')) expectedRows += days.indexOf(s.end) - days.indexOf(s.start) + 1;
  assert.equal(raw.dates.length, expectedRows);
  assert.equal(new Set(raw.instruments).size, 482);
  for (let r = 1; r < raw.dates.length; r++) {
    const order = (raw.dates[r - 1] as string).localeCompare(raw.dates[r] as string) || (raw.instruments[r - 1] as string).localeCompare(raw.instruments[r] as string);
    if (order >= 0) assert.fail(`rows ${r - 1}/${r} not ordered by (date, instrument)`);
  }
  raw.columns.forEach((name, c) => {
    const v = raw.values[c] as Float64Array;
    let valid = 0;
    for (let r = 0; r < v.length; r++) if (!Number.isNaN(v[r])) valid++;
    // VWAP0 = $vwap/$close: Yahoo data has no vwap, so qlib (and qtask) give NaN everywhere.
    if (name === 'VWAP0') assert.equal(valid, 0, 'VWAP0 must be all NaN without a vwap field');
    else assert.ok(valid > raw.dates.length * 0.9, `${name}: only ${valid} of ${raw.dates.length} values`);
  });

  const rowOf = new Map<string, number>();
  raw.dates.forEach((d, r) => rowOf.set(`${d}|${raw.instruments[r]}`, r));
  const mismatches: string[] = [];
  let compared = 0;
  for (const cell of golden.cells) {
    const r = rowOf.get(`${cell.date}|${cell.instrument}`);
    if (r === undefined) {
      mismatches.push(`${cell.date} ${cell.instrument}: row missing`);
      continue;
    }
    cell.values.forEach((enc, c) => {
      const want = decode(enc);
      const got = (raw.values[c] as Float64Array)[r] as number;
      compared++;
      const tol = RTOL * Math.max(1, Math.abs(want));
      const ok = Number.isNaN(want) ? Number.isNaN(got) : !Number.isFinite(want) ? got === want : Math.abs(got - want) <= tol;
      if (!ok) mismatches.push(`${cell.date} ${cell.instrument} ${golden.columns[c]}: qlib ${want}, qtask ${got}`);
    });
  }
  for (const [d, inst] of golden.absent) if (rowOf.has(`${d}|${inst}`)) mismatches.push(`${d} ${inst}: qlib has no row, qtask has one`);
  assert.equal(compared, golden.cells.length * 159);
  assert.ok(golden.cells.length >= 600 && golden.absent.length > 0);
  assert.deepEqual(mismatches.slice(0, 40), [], `${mismatches.length} mismatches of ${compared} values`);
});
