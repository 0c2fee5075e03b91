/** A tiny qlib-format provider written by hand, so handler results can be checked by hand. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBin } from '../../src/data/provider/index.ts';

export const DAYS = ['2020-01-02', '2020-01-03', '2020-01-06', '2020-01-07', '2020-01-08', '2020-01-09', '2020-01-10', '2020-01-13'];

/**
 * AAA: all 8 days, close 10..17. BBB: from day 2 (2020-01-06), with day 4 missing (NaN), close 20,
 * 22, NaN, 26, 28, 30. CCC: days 0..4 only, close 5, 4, 3, 2, 1.
 * open = close − 1, high = close + 1, low = close − 2, volume = 100·(1+day).
 */
export function tinyProvider(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-handler-'));
  mkdirSync(join(dir, 'calendars'));
  mkdirSync(join(dir, 'instruments'));
  writeFileSync(join(dir, 'calendars', 'day.txt'), DAYS.join('\n') + '\n');
  const stocks: Record<string, { start: number; close: number[] }> = {
    AAA: { start: 0, close: [10, 11, 12, 13, 14, 15, 16, 17] },
    BBB: { start: 2, close: [20, 22, NaN, 26, 28, 30] },
    CCC: { start: 0, close: [5, 4, 3, 2, 1] },
  };
  const lines: string[] = [];
  for (const [sym, { start, close }] of Object.entries(stocks)) {
    lines.push(`${sym}\t${DAYS[start]}\t${DAYS[start + close.length - 1]}`);
    const fdir = join(dir, 'features', sym.toLowerCase());
    mkdirSync(fdir, { recursive: true });
    const fields: Record<string, number[]> = {
      close,
      open: close.map((c) => c - 1),
      high: close.map((c) => c + 1),
      low: close.map((c) => c - 2),
      volume: close.map((c, i) => (Number.isNaN(c) ? NaN : 100 * (1 + start + i))),
    };
    for (const [f, v] of Object.entries(fields)) writeFileSync(join(fdir, `${f}.day.bin`), encodeBin(start, v));
  }
  writeFileSync(join(dir, 'instruments', 'all.txt'), lines.join('\n') + '\n');
  // a market file with two spans for AAA
  writeFileSync(join(dir, 'instruments', 'mkt.txt'), `AAA\t2020-01-02\t2020-01-03\nAAA\t2020-01-09\t2020-01-13\nCCC\t2020-01-02\t2020-01-13\n`);
  return dir;
}

export function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) throw new Error(`[${i}] expected ${e}, got ${a} (actual ${Array.from(actual).join(', ')})`);
  }
}
