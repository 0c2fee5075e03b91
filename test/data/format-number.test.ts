/**
 * `qtask data features` prints numbers with `formatNumber`, which works on `toPrecision`'s string
 * instead of parsing and printing it again; it must print exactly what
 * `String(Number(x.toPrecision(p)))` prints, for every value and precision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatNumber } from '../../src/data/handler/cli.ts';

const reference = (x: number, p: number): string => (Number.isNaN(x) ? '' : !Number.isFinite(x) ? (x > 0 ? 'inf' : '-inf') : String(Number(x.toPrecision(p))));

test('formatNumber equals String(Number(x.toPrecision(p))) on edge values, every precision', () => {
  const edges = [0, -0, 1, -1, 0.1, 1e-6, 9.99999999e-7, 1e-7, 1.5e-7, -2.5e-12, 123456789, 999999999, 999999999.5, 1e9, 1.23456789e9, 4.5e15, 1e20, 9.99999999e20, 1e21, 1.5e21, -3.4e38, 1e300, 5e-324, 0.0123122036, 100, 1200.5, NaN, Infinity, -Infinity];
  for (let p = 1; p <= 17; p++) for (const x of edges) assert.equal(formatNumber(x, p), reference(x, p), `x=${x} p=${p}`);
});

test('formatNumber equals the reference on random doubles and float32s across magnitudes', () => {
  const anyMagnitude = fc.tuple(fc.double({ min: 1, max: 10, noNaN: true }), fc.integer({ min: -40, max: 40 }), fc.boolean()).map(([m, e, neg]) => (neg ? -1 : 1) * m * 10 ** e);
  fc.assert(
    fc.property(fc.oneof(anyMagnitude, anyMagnitude.map(Math.fround), fc.double()), fc.integer({ min: 1, max: 17 }), (x, p) => formatNumber(x, p) === reference(x, p)),
    { numRuns: 100_000 },
  );
});
