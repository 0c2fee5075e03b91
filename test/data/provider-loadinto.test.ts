/**
 * `LocalProvider.loadInto` (what the expression engine reads fields with): equals `load` on every
 * window, writes every element of the caller's array (stale contents never survive), and a bad
 * start index is a typed error that leaves the array untouched.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DataError, LocalProvider, encodeBin } from '../../src/data/provider/index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 8 days; AAA close stored on days 2..5 (10.25, NaN, 1/3 as float32, 12). */
function makeProvider(): string {
  const root = mkdtempSync(join(tmpdir(), 'qtask-loadinto-'));
  dirs.push(root);
  mkdirSync(join(root, 'calendars'));
  writeFileSync(join(root, 'calendars', 'day.txt'), Array.from({ length: 8 }, (_, i) => `2020-02-0${i + 1}`).join('\n') + '\n');
  mkdirSync(join(root, 'instruments'));
  writeFileSync(join(root, 'instruments', 'all.txt'), 'AAA\t2020-02-01\t2020-02-08\n');
  mkdirSync(join(root, 'features', 'aaa'), { recursive: true });
  writeFileSync(join(root, 'features', 'aaa', 'close.day.bin'), encodeBin(2, [10.25, NaN, 1 / 3, 12]));
  return root;
}

const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

test('loadInto equals load on windows before, across and after the stored span, overwriting stale values', () => {
  const p = new LocalProvider(makeProvider());
  assert.equal(p.float32Values, true);
  for (let a = -2; a <= 9; a++) {
    for (let b = a - 1; b <= 10; b++) {
      const expected = p.load('AAA', 'close', a, b);
      const out = new Float64Array(b - a + 1).fill(-7); // stale contents, as a recycled scratch array has
      p.loadInto(out, 'AAA', 'close', a);
      assert.ok(same(out, expected), `window [${a}, ${b}]: ${[...out]} vs ${[...expected]}`);
    }
  }
  const out = new Float64Array(4).fill(-7);
  p.loadInto(out, 'AAA', 'close', 2);
  assert.deepEqual([...out], [10.25, NaN, Math.fround(1 / 3), 12]);
  // A field the instrument lacks (conventional, so no error): all NaN.
  const vwap = new Float64Array(3).fill(-7);
  p.loadInto(vwap, 'AAA', 'vwap', 0);
  assert.deepEqual([...vwap], [NaN, NaN, NaN]);
});

test('loadInto with a non-integer start is a typed error and writes nothing', () => {
  const p = new LocalProvider(makeProvider());
  const out = new Float64Array(3).fill(-7);
  assert.throws(
    () => p.loadInto(out, 'AAA', 'close', 1.5),
    (e: unknown) => e instanceof DataError && e.code === 'BAD_DATE_RANGE' && e.path === 'AAA.$close' && typeof e.hint === 'string',
  );
  assert.deepEqual([...out], [-7, -7, -7]);
});
