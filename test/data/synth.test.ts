/**
 * Synthetic market: byte-identical for a seed, different for another, readable by LocalProvider,
 * bars consistent (low ≤ open/close/vwap ≤ high), and a learnable signal: the cross-sectional
 * correlation of 5-day reversal with the next-day return (and with Alpha158's label) is clearly > 0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { synthMarket, SYNTH_FIELDS } from '../../src/data/synth/index.ts';
import { ImportError } from '../../src/data/import/index.ts';
import { treeDigest } from '../support/treeDigest.ts';

const ROOT = mkdtempSync(join(tmpdir(), 'qtask-synth-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Mean and t-statistic of the daily cross-sectional correlation of `signal(i, t)` with `target(i, t)`. */
function dailyIc(p: LocalProvider, signal: (c: Float64Array, v: Float64Array, t: number) => number, target: (c: Float64Array, t: number) => number): { mean: number; t: number } {
  const T = p.calendar.length;
  const symbols = p.instruments('all');
  const close = symbols.map((s) => p.load(s, 'close', 0, T - 1));
  const volume = symbols.map((s) => p.load(s, 'volume', 0, T - 1));
  const ics: number[] = [];
  for (let t = 25; t < T - 2; t++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < symbols.length; i++) {
      const x = signal(close[i], volume[i], t);
      const y = target(close[i], t);
      if (Number.isFinite(x) && Number.isFinite(y)) {
        xs.push(x);
        ys.push(y);
      }
    }
    if (xs.length >= 10) ics.push(pearson(xs, ys));
  }
  const mean = ics.reduce((a, b) => a + b, 0) / ics.length;
  const sd = Math.sqrt(ics.reduce((a, b) => a + (b - mean) ** 2, 0) / (ics.length - 1));
  return { mean, t: (mean / sd) * Math.sqrt(ics.length) };
}

describe('synth', () => {
  let seconds = 0;
  before(() => {
    const t0 = performance.now();
    synthMarket({ targetDir: join(ROOT, 'a') });
    seconds = (performance.now() - t0) / 1000;
    synthMarket({ targetDir: join(ROOT, 'b') });
    synthMarket({ targetDir: join(ROOT, 'c'), seed: 43 });
  });

  test('same seed → byte-identical directories; another seed → different bytes', () => {
    assert.equal(treeDigest(join(ROOT, 'a')), treeDigest(join(ROOT, 'b')));
    assert.notEqual(treeDigest(join(ROOT, 'a')), treeDigest(join(ROOT, 'c')));
    const a = readFileSync(join(ROOT, 'a', 'features', 's0001', 'close.day.bin'));
    const c = readFileSync(join(ROOT, 'c', 'features', 's0001', 'close.day.bin'));
    assert.notDeepEqual(a, c);
  });

  test('defaults: 50 instruments, weekday calendar 2018-01-01..2020-12-31, all fields; fast', () => {
    const p = new LocalProvider(join(ROOT, 'a'));
    assert.equal(p.calendar.first, '2018-01-01');
    assert.equal(p.calendar.last, '2020-12-31');
    assert.equal(p.calendar.length, 783 + 1);
    for (const d of p.calendarDays()) assert.ok(![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay()), d);
    assert.equal(p.instruments('all').length, 50);
    assert.deepEqual(p.allFields(), [...SYNTH_FIELDS].sort());
    // Budget 1 s on an idle machine; generous here for a loaded 2-core CI box.
    assert.ok(seconds < 8, `synth took ${seconds.toFixed(2)} s`);
  });

  test('bars are consistent and spans match the data', () => {
    const p = new LocalProvider(join(ROOT, 'a'));
    let bars = 0;
    for (const span of p.listInstruments('all')) {
      const s = p.calendar.indexOf(span.start);
      const e = p.calendar.indexOf(span.end);
      const [o, h, l, c, v, w, f, ch] = SYNTH_FIELDS.map((field) => p.load(span.instrument, field, s, e));
      assert.ok(!Number.isNaN(c[0]) && !Number.isNaN(c[c.length - 1]), `${span.instrument} has bars at both span ends`);
      assert.ok(Number.isNaN(p.load(span.instrument, 'close', s - 1, s - 1)[0]));
      let prev = NaN;
      for (let k = 0; k < c.length; k++) {
        assert.ok(f[k] > 0, 'factor is always set');
        if (Number.isNaN(c[k])) continue;
        bars++;
        assert.ok(l[k] <= Math.min(o[k], c[k], w[k]) && h[k] >= Math.max(o[k], c[k], w[k]), `${span.instrument} bar ${k}`);
        assert.ok(v[k] > 0);
        if (!Number.isNaN(prev)) assert.ok(Math.abs(ch[k] - (c[k] / prev - 1)) < 1e-5, 'change = close/prev close - 1');
        prev = c[k];
      }
    }
    assert.ok(bars > 30_000);
  });

  test('a signal exists: 5-day reversal predicts the next-day return and Alpha158’s label', () => {
    const p = new LocalProvider(join(ROOT, 'a'));
    const reversal = (c: Float64Array, _v: Float64Array, t: number): number => -(c[t] / c[t - 5] - 1);
    const nextDay = dailyIc(p, reversal, (c, t) => c[t + 1] / c[t] - 1);
    const label = dailyIc(p, reversal, (c, t) => c[t + 2] / c[t + 1] - 1);
    assert.ok(nextDay.mean > 0.04 && nextDay.t > 4, `reversal vs next-day return: IC ${nextDay.mean.toFixed(4)}, t ${nextDay.t.toFixed(1)}`);
    assert.ok(label.mean > 0.03 && label.t > 3, `reversal vs LABEL0: IC ${label.mean.toFixed(4)}, t ${label.t.toFixed(1)}`);
    // Volume above its 20-day mean predicts higher returns (the latent factor shows in volume).
    const volumeShock = (_c: Float64Array, v: Float64Array, t: number): number => {
      let m = 0;
      for (let k = t - 20; k < t; k++) m += Math.log(v[k]) / 20;
      return Math.log(v[t]) - m;
    };
    const vol = dailyIc(p, volumeShock, (c, t) => c[t + 1] / c[t] - 1);
    assert.ok(vol.mean > 0.01 && vol.t > 2, `volume shock vs next-day return: IC ${vol.mean.toFixed(4)}, t ${vol.t.toFixed(1)}`);
    // A placebo (the future return of another day) has no such structure.
    const placebo = dailyIc(p, (c, _v, t) => c[t - 10] / c[t - 11] - 1, (c, t) => c[t + 1] / c[t] - 1);
    assert.ok(Math.abs(placebo.mean) < nextDay.mean / 2, `placebo IC ${placebo.mean.toFixed(4)}`);
  });

  test('options and typed errors; the CLI writes the same bytes', () => {
    const small = join(ROOT, 'small');
    const s = synthMarket({ targetDir: small, instruments: 3, start: '2020-01-01', end: '2020-01-31', seed: 7 });
    assert.equal(s.instruments, 3);
    assert.equal(s.days, 23);
    assert.throws(() => synthMarket({ targetDir: small, instruments: 3 }), (e: ImportError) => e.code === 'IMPORT_TARGET_EXISTS');
    assert.throws(() => synthMarket({ targetDir: join(ROOT, 'x'), instruments: 0 }), (e: ImportError) => e.code === 'IMPORT_BAD_OPTION');
    assert.throws(() => synthMarket({ targetDir: join(ROOT, 'x'), start: '2020-02-30' }), (e: Error & { code?: string }) => e.code === 'CALENDAR_INVALID_DAY');
    const cli = join(ROOT, 'cli');
    const r = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'synth', cli, '--instruments', '3', '--start', '2020-01-01', '--end', '2020-01-31', '--seed', '7'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(treeDigest(cli), treeDigest(small));
    const bad = spawnSync(process.execPath, ['bin/qtask.js', 'data', 'synth', join(ROOT, 'y'), '--seed', 'abc'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /IMPORT_BAD_OPTION: --seed must be a non-negative integer/);
  });
});
