/**
 * `keepDates(after, to)` before RollingGroup must not change the rolled result on (after, to]: each
 * window keeps its first date, which is what RollingEnsemble orders windows by. Property-tested on
 * random overlapping windows with gaps, NaNs and missing instruments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyedDict } from '../../src/collect/keyed.ts';
import { RollingEnsemble } from '../../src/collect/ensemble.ts';
import { keepDates } from '../../src/online/strategy.ts';
import type { Panel } from '../../src/data/types.ts';

const DAYS = Array.from({ length: 30 }, (_, i) => `2019-01-${String(i + 1).padStart(2, '0')}`);
const INSTS = ['A', 'B', 'C', 'D'];

const windowArb = fc.record({
  start: fc.integer({ min: 0, max: 25 }),
  len: fc.integer({ min: 1, max: 15 }),
  insts: fc.subarray(INSTS, { minLength: 1 }),
  gap: fc.option(fc.integer({ min: 0, max: 29 }), { nil: undefined }),
  nanEvery: fc.integer({ min: 0, max: 5 }),
});

interface Window {
  start: number;
  len: number;
  insts: string[];
  gap: number | undefined;
  nanEvery: number;
}

function panelOf(w: Window, seed: number): Panel {
  const p: Panel = { dates: [], instruments: [], columns: ['score'], groups: ['score'], values: [] };
  const vals: number[] = [];
  for (let d = w.start; d < Math.min(30, w.start + w.len); d++) {
    if (d === w.gap && d !== w.start) continue;
    for (const i of w.insts) {
      p.dates.push(DAYS[d]!);
      p.instruments.push(i);
      vals.push(w.nanEvery > 0 && vals.length % w.nanEvery === 0 ? NaN : seed * 100 + vals.length);
    }
  }
  p.values = [Float64Array.from(vals)];
  return p;
}

function rows(p: Panel, lo: string | null, hi: string): string[] {
  return p.dates.map((d, i) => `${d}|${p.instruments[i]}|${p.values[0]![i]}`).filter((r) => (lo === null || r.slice(0, 10) > lo) && r.slice(0, 10) <= hi);
}

test('keepDates then RollingEnsemble = RollingEnsemble on (after, to]', () => {
  fc.assert(
    fc.property(fc.array(windowArb, { minLength: 1, maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 29 }), { nil: null }), fc.integer({ min: 0, max: 29 }), (ws, a, b) => {
      const after = a === null ? null : DAYS[a]!;
      const to = DAYS[b]!;
      const d = new KeyedDict<unknown>(ws.map((w, k) => [['m', k], panelOf(w, k)] as const));
      const whole = new RollingEnsemble().ensemble(d);
      const trimmed = new RollingEnsemble().ensemble(keepDates(after, to)(d) as KeyedDict<unknown>);
      assert.deepEqual(rows(trimmed, after, to), rows(whole, after, to));
    }),
    { numRuns: 400 },
  );
});
