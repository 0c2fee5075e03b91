import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tinyProvider } from './handler-helpers.ts';

const dir = tinyProvider();
after(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(import.meta.dirname, '../../bin/qtask.js');

/** qlib computes in float32 (numpy float32 arrays) and prints here with 9 significant digits. */
const f32 = (x: number): number => Number(Math.fround(x).toPrecision(9));
const ret = (a: number, b: number): number => f32(Math.fround(a / b) - 1);

function qtask(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('qtask data features prints one CSV row per (date, instrument) with the chosen columns', () => {
  const r = qtask('data', 'features', dir, '--handler', 'Alpha158', '--instruments', 'AAA,CCC', '--end', '2020-01-03', '--columns', 'KMID,ROC5,LABEL0');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    [
      'datetime,instrument,KMID,ROC5,LABEL0',
      `2020-01-02,AAA,${f32(1 / 9)},,${ret(12, 11)}`,
      `2020-01-02,CCC,${f32(1 / 4)},,${ret(3, 4)}`,
      `2020-01-03,AAA,${f32(1 / 10)},,${ret(13, 12)}`,
      `2020-01-03,CCC,${f32(1 / 3)},,${ret(2, 3)}`,
      '',
    ].join('\n'),
  );
});

test('qtask data features --format json, all 159 columns, learn view drops NaN labels', () => {
  const r = qtask('data', 'features', dir, '--format', 'json', '--data-key', 'learn', '--instruments', 'AAA');
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out) as Array<Record<string, unknown>>;
  assert.equal(rows.length, 6); // the last two days have no LABEL0
  assert.equal(Object.keys(rows[0]!).length, 2 + 159);
  assert.equal(rows[0]!['datetime'], '2020-01-02');
  assert.equal(rows[0]!['VWAP0'], null);
});

test('qtask data features: bad options are one-line typed errors, exit 2, no output', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--handler', 'Alpha101'], /FEATURES_OPTION: --handler: unknown handler/],
    [['--columns', 'KMID,NOPE'], /FEATURES_OPTION: --columns: unknown column NOPE/],
    [['--data-key', 'cooked'], /FEATURES_OPTION: --data-key/],
    [['--format', 'xml'], /FEATURES_OPTION: --format/],
    [['--start', '2020-13-01'], /HANDLER_CONFIG: --start: "2020-13-01" is not a date/],
  ];
  for (const [args, re] of cases) {
    const r = qtask('data', 'features', dir, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.out, '');
  }
  const missing = qtask('data', 'features', join(dir, 'nope'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /PROVIDER_NOT_FOUND/);
});
