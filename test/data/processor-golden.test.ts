/**
 * Processors vs qlib 0.9.7's own processor classes (fixture from scripts/golden/processors_golden.py):
 * a 5-day panel with NaN, ±inf, ties, a one-stock day, a constant column and NaN labels. qlib works
 * on float32 frames, qtask in float64, so values are compared at 1e-5·max(1, |x|); NaN/±inf exactly,
 * and the surviving rows (DropnaLabel/DropnaProcessor) must be the same rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Panel } from '../../src/data/types.ts';
import { buildProcessor } from '../../src/data/processor/index.ts';

type Enc = number | string | null;
interface Frame { dates: string[]; instruments: string[]; columns: string[]; groups: string[]; values: Enc[][] }
const fx = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/golden/processors_qlib.json'), 'utf8')) as {
  input: Frame;
  cases: Record<string, { class: string; kwargs: Record<string, unknown>; output: Frame }>;
};
const dec = (v: Enc): number => (v === null ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number));
const toPanel = (f: Frame): Panel => ({ ...f, values: f.values.map((c) => Float64Array.from(c.map(dec))) });

for (const [name, c] of Object.entries(fx.cases)) {
  test(`${name} matches qlib 0.9.7`, () => {
    const input = toPanel(fx.input);
    const before = input.values.map((v) => v.slice());
    const proc = buildProcessor({ class: c.class, kwargs: c.kwargs }, name);
    proc.fit(input);
    const out = proc.transform(input);
    const want = toPanel(c.output);
    assert.deepEqual(out.dates, want.dates);
    assert.deepEqual(out.instruments, want.instruments);
    assert.deepEqual(out.columns, want.columns);
    assert.deepEqual(out.groups, want.groups);
    want.values.forEach((wcol, k) => {
      wcol.forEach((w, r) => {
        const g = (out.values[k] as Float64Array)[r] as number;
        const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= 1e-5 * Math.max(1, Math.abs(w));
        assert.ok(ok, `${out.columns[k]} row ${r} (${out.dates[r]} ${out.instruments[r]}): qlib ${w}, qtask ${g}`);
      });
    });
    // the input panel is never written into
    input.values.forEach((v, k) => assert.deepEqual(v, before[k]));
  });
}
