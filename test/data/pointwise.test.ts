/**
 * Pointwise columns computed in panel order (src/data/handler/pointwise.ts) equal the per-instrument
 * engine's cell for cell (`Object.is`: NaN payload aside, -0 differs from 0), on ragged data, on one
 * and two threads, for hand-picked edge cases and for random expressions; and the committed
 * WebAssembly module is the one its .wat source compiles to.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileKernels, moduleSource } from '../../scripts/build-wasm.ts';
import { assemblePanel } from '../../src/data/handler/assemble.ts';
import { alpha158FeatureConfig } from '../../src/data/handler/alpha158.ts';
import type { ColumnGroup } from '../../src/data/handler/loader.ts';
import { splitPointwise } from '../../src/data/handler/pointwise.ts';
import { LocalProvider } from '../../src/data/provider/index.ts';
import { decodeBin, encodeBin } from '../../src/data/provider/binFile.ts';
import { assertSameColumns, keepDays, withSynthMarket } from './parallel-helpers.ts';

const EDGE_EXPRS = [
  '$close',
  'Ref($close, 1)',
  'Ref($close, 5)/$close',
  'Ref($open, 60) - Ref($close, 59)',
  'Ref($close, 400)', // more days back than the data has
  '($close-$open)/($high-$low+1e-12)',
  '($high-Greater($open, $close))/$open',
  '(Less($open, $close)-$low)/($high-$low+1e-12)',
  '(2*$close-$high-$low)/$open',
  'Greater($close, 0.5) - Less(-0.0, $open)',
  'Abs($open - Ref($close, 1))',
  'Sign($close - Ref($close, 3))',
  'Log($volume)',
  'Log($volume + 1) * 0.1',
  '$close / ($open - $open)', // 0/0 and x/0
  '$vwap/$close', // vwap removed for some instruments below
  '$amount/$close', // a conventional field no instrument has: NaN
  '1 - $close', // literal first
  '-$close + 1e-40', // float32 rounding of a tiny literal
];

/** The panel of `groups` with pointwise columns on and off, on `threads` threads, compared cell for cell. */
function assertPointwiseEqual(dir: string, groups: ColumnGroup[], universe: string, start: number, threads: number): void {
  const p = new LocalProvider(dir);
  const spans = p.listInstruments(universe);
  const last = p.calendarDays().length - 1;
  const off = assemblePanel(p, groups, spans, start, last, { threads, pointwise: false });
  const on = assemblePanel(new LocalProvider(dir), groups, spans, start, last, { threads, pointwise: true });
  assert.deepEqual(on.dates, off.dates);
  assert.deepEqual(on.instruments, off.instruments);
  assert.deepEqual(on.columns, off.columns);
  assertSameColumns(off.values, on.values, `pointwise on vs off (threads ${threads}, start ${start})`);
}

/** Truncates every field of `sym` to calendar indices [from, to] and removes its `$vwap`. */
function ragged(dir: string): void {
  const p = new LocalProvider(dir);
  const days = p.calendarDays();
  const symbols = p.instruments('all');
  const last = days.length - 1;
  const keep = (sym: string, from: number, to: number): void => keepDays(dir, sym, from, to);
  keep(symbols[3] as string, 0, 40); // data ends early
  keep(symbols[40] as string, 100, last); // data starts late
  keep(symbols[41] as string, 2, last - 3);
  rmSync(join(dir, 'features', (symbols[60] as string).toLowerCase()), { recursive: true }); // no data
  for (const k of [7, 8, 9]) rmSync(join(dir, 'features', (symbols[k] as string).toLowerCase(), 'vwap.day.bin'));
  // $close of one instrument starts later than its other fields: the leaves' ranges differ.
  const cdir = join(dir, 'features', (symbols[12] as string).toLowerCase());
  const st = decodeBin(readFileSync(join(cdir, 'close.day.bin')), 'close.day.bin');
  writeFileSync(join(cdir, 'close.day.bin'), encodeBin(st.startIdx + 20, st.values, 20, st.values.length - 10));
  const lines = symbols.map((sym, i) => {
    if (i === 5) return `${sym}\t${days[50]}\t${days[120]}`;
    if (i === 9) return `${sym}\t${days[0]}\t${days[30]}\n${sym}\t${days[90]}\t${days[last]}`;
    return `${sym}\t${days[0]}\t${days[last]}`;
  });
  writeFileSync(join(dir, 'instruments', 'ragged.txt'), lines.join('\n') + '\n');
}

test('pointwise columns equal the per-instrument engine on ragged data, one thread and two, from day 0 and later', () => {
  withSynthMarket('qtask-pw-ragged-', { instruments: 140, start: '2020-01-01', end: '2020-12-31', seed: 21 }, (dir) => {
    ragged(dir);
    const c = alpha158FeatureConfig();
    const groups: ColumnGroup[] = [
      { group: 'feature', fields: [...EDGE_EXPRS, ...c.fields.slice(0, 20)], names: [...EDGE_EXPRS.map((_, k) => `E${k}`), ...c.names.slice(0, 20)] },
      { group: 'label', fields: ['Ref($close, -2)/Ref($close, -1) - 1'], names: ['LABEL0'] },
    ];
    // The edge cases are all taken by the pointwise path (else this test would prove nothing).
    const split = splitPointwise(groups.flatMap((g) => g.fields));
    assert.deepEqual(split.others.map((k) => groups.flatMap((g) => g.names)[k]), ['MA5', 'MA10', 'LABEL0']);
    for (const threads of [1, 2]) for (const start of [0, 25]) assertPointwiseEqual(dir, groups, 'ragged', start, threads);
  });
});

test('the ragged cases reach the panel: NaN before the stored data, after it ends, and where a field is missing', () => {
  withSynthMarket('qtask-pw-nan-', { instruments: 70, start: '2020-01-01', end: '2020-06-30', seed: 22 }, (dir) => {
    ragged(dir);
    const p = new LocalProvider(dir);
    const symbols = p.instruments('all');
    const last = p.calendarDays().length - 1;
    const groups: ColumnGroup[] = [{ group: 'feature', fields: ['Ref($close, 5)', '$vwap/$close', '$close'], names: ['R5', 'V', 'C'] }];
    const panel = assemblePanel(p, groups, p.listInstruments('ragged'), 0, last, { threads: 1, pointwise: true });
    const rowsOf = (sym: string): number[] => panel.instruments.flatMap((s, r) => (s === sym ? [r] : []));
    const [r5, v, close] = panel.values as [Float64Array, Float64Array, Float64Array];
    // symbols[40] starts on day 100: its first five rows have no value five days back.
    const late = rowsOf(symbols[40] as string);
    // (Synthetic bars have rare suspensions, NaN on a day: hence "most" below.)
    const most = (rows: number[], ok: (r: number) => boolean): boolean => rows.filter(ok).length >= 0.9 * rows.length;
    assert.ok(late.length > 20 && late.slice(0, 5).every((r) => Number.isNaN(r5[r])) && most(late.slice(5), (r) => !Number.isNaN(r5[r])));
    // symbols[7] has no $vwap: NaN on every row; its $close is there.
    const seven = rowsOf(symbols[7] as string);
    assert.ok(seven.every((r) => Number.isNaN(v[r])) && most(seven, (r) => !Number.isNaN(close[r])));
    // symbols[12]'s $close starts 20 days after its other fields: rows exist, close is NaN there.
    const twelve = rowsOf(symbols[12] as string);
    assert.ok(twelve.slice(0, 20).every((r) => Number.isNaN(close[r])) && most(twelve.slice(20), (r) => !Number.isNaN(close[r])));
  });
});

test('what is computed in panel order: fields, Ref($field, d >= 1) and NaN-propagating arithmetic only', () => {
  const taken = ['$close', 'Ref($close, 1)', 'Abs($close-$open)', 'Log($volume)', 'Sign($close)', 'Greater($high, 1)', '($close-$open)/($high-$low+1e-12)'];
  const notTaken = [
    '1', // no field: qlib gives it no rows
    'Ref($close, 0)', 'Ref($close, -1)', 'Ref($close - $open, 1)', // only a field, shifted back
    'Gt($close, $open)', 'Power($close, 2)', 'If($close > $open, 1, 0)', 'Not($close)', 'And($close, $open)', // not NaN-propagating
    'Mean($close, 5)', 'Delta($close, 1)', 'EMA($close, 5)', 'Mask($close, "SH600000")', // windowed or other instruments
    'Mean($close', // does not parse: its error is raised by the engine
  ];
  const split = splitPointwise([...taken, ...notTaken]);
  assert.deepEqual(split.pointwise.columns, taken.map((_, k) => k));
  assert.deepEqual(split.others, notTaken.map((_, k) => taken.length + k));
});

test('shared sub-expressions are computed once per chunk and slots are reused', () => {
  const c = alpha158FeatureConfig();
  const { pointwise } = splitPointwise(c.fields.slice(0, 9)); // KMID .. KSFT2
  // ($high-$low+1e-12) is shared by KMID2, KUP2, KLOW2 and KSFT2: one Add over one Sub.
  const kernels = pointwise.steps.filter((s) => s.kind === 'kernel').length;
  assert.ok(kernels <= 20, `${kernels} kernel steps`);
  // Leaves: open, close, high, low; constants: 1e-12 and 2 (float32-rounded); the rest reuse a few slots.
  assert.equal(pointwise.leaves.length, 4);
  assert.ok(pointwise.slots < pointwise.leaves.length + pointwise.constants.length + kernels, `${pointwise.slots} slots for ${kernels} steps`);
});

/** A random pointwise expression over the synthetic fields. */
const pointwiseExpr = fc.letrec<{ leaf: string; literal: string; node: string }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom('$open', '$high', '$low', '$close', '$volume', '$vwap'),
    fc.tuple(fc.constantFrom('$open', '$close', '$vwap'), fc.integer({ min: 1, max: 40 })).map(([f, d]) => `Ref(${f}, ${d})`),
  ),
  literal: fc.constantFrom('0', '1', '2', '-1', '0.5', '1e-12', '-0.0', '100'),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.tuple(fc.constantFrom('+', '-', '*', '/'), tie('node'), fc.oneof(tie('node'), tie('literal'))).map(([op, a, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom('+', '-', '*', '/'), tie('literal'), tie('node')).map(([op, a, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom('Greater', 'Less'), tie('node'), fc.oneof(tie('node'), tie('literal'))).map(([op, a, b]) => `${op}(${a}, ${b})`),
    fc.tuple(fc.constantFrom('Abs', 'Sign', 'Log'), tie('node')).map(([op, a]) => `${op}(${a})`),
  ),
})).node;

test('random pointwise expressions: panel order equals the per-instrument engine (fast-check)', () => {
  withSynthMarket('qtask-pw-random-', { instruments: 24, start: '2020-01-01', end: '2020-04-30', seed: 23 }, (dir) => {
    ragged24(dir);
    const p = new LocalProvider(dir);
    const spans = p.listInstruments('all');
    const last = p.calendarDays().length - 1;
    fc.assert(
      fc.property(fc.array(pointwiseExpr, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 30 }), (exprs, start) => {
        const groups: ColumnGroup[] = [{ group: 'feature', fields: exprs, names: exprs.map((_, k) => `X${k}`) }];
        assert.equal(splitPointwise(exprs).others.length, 0, 'every generated expression is pointwise');
        const off = assemblePanel(p, groups, spans, start, last, { threads: 1, pointwise: false });
        const on = assemblePanel(p, groups, spans, start, last, { threads: 1, pointwise: true });
        assert.deepEqual(on.instruments, off.instruments);
        assertSameColumns(off.values, on.values, exprs.join(' | '));
      }),
      { numRuns: 150, seed: 4242 },
    );
  });
});

/** Smaller raggedness for the 24-instrument market: late and early ends, one instrument without $vwap. */
function ragged24(dir: string): void {
  const p = new LocalProvider(dir);
  const symbols = p.instruments('all');
  const cut = (sym: string, field: string, from: number, count: number): void => {
    const file = join(dir, 'features', sym.toLowerCase(), `${field}.day.bin`);
    const st = decodeBin(readFileSync(file), file);
    writeFileSync(file, encodeBin(st.startIdx + from, st.values, from, from + count));
  };
  cut(symbols[2] as string, 'close', 15, 40);
  cut(symbols[3] as string, 'open', 0, 30);
  rmSync(join(dir, 'features', (symbols[4] as string).toLowerCase(), 'vwap.day.bin'));
}

test('the committed WebAssembly module is what pointwiseKernels.wat compiles to (npm run build:wasm)', async () => {
  const committed = readFileSync(join(import.meta.dirname, '../../src/data/handler/pointwiseKernels.wasm.ts'), 'utf8');
  assert.equal(committed, moduleSource(await compileKernels()));
});
