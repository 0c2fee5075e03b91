import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthMarket } from '../../src/data/synth/synth.ts';
import { tinyProvider } from './handler-helpers.ts';

const dir = tinyProvider();
after(() => rmSync(dir, { recursive: true, force: true }));
const BIN = join(import.meta.dirname, '../../bin/qtask.js');

/** qlib computes in float32 (numpy float32 arrays) and prints here with 9 significant digits. */
const f32 = (x: number): number => Number(Math.fround(x).toPrecision(9));
const ret = (a: number, b: number): number => f32(Math.fround(a / b) - 1);

function qtask(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
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
    // with --columns too: the error names the option, not the handler config built from it
    [['--start', '2020-01-06', '--end', '2020-01-02', '--columns', 'KMID'], /FEATURES_OPTION: --start: --start 2020-01-06 is after --end 2020-01-02/],
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

test('qtask data features --instruments: a listed symbol without data has no rows and a note on stderr says so', () => {
  const r = qtask('data', 'features', dir, '--instruments', 'AAA,ZZZ', '--end', '2020-01-03', '--columns', 'KMID');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').map((l) => l.split(',')[1]), ['instrument', 'AAA', 'AAA']);
  assert.match(r.err, /^qtask: note: no data for ZZZ in .* it has no rows\n$/);
  const quiet = qtask('data', 'features', dir, '--instruments', 'AAA', '--end', '2020-01-03', '--columns', 'KMID');
  assert.equal(quiet.err, '');
});

/** A synthetic market big enough that the features output (> 1 MB) fills a pipe. */
let bigMarket: string | undefined;
function market(): string {
  if (!bigMarket) {
    bigMarket = mkdtempSync(join(tmpdir(), 'qtask-cli-pipe-'));
    synthMarket({ instruments: 60, start: '2020-01-01', end: '2020-12-31', seed: 4, targetDir: bigMarket });
  }
  return bigMarket;
}
after(() => {
  if (bigMarket) rmSync(bigMarket, { recursive: true, force: true });
});
const PIPE_ARGS = ['--columns', 'KMID,KLEN,ROC5,ROC20,MA5,MA10,STD5,LABEL0'];

/** Runs the CLI with its stdout on a pipe read by `consume`; resolves with the exit code, stdout and stderr. */
function qtaskPiped(args: string[], consume: (child: ChildProcess, chunks: Buffer[]) => void): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const err: Buffer[] = [];
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(chunks).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
    consume(child, chunks);
  });
}

test('qtask data features into a pipe whose reader is slow: every row, exit 0 (a full pipe used to end it with EAGAIN and a stack trace)', async () => {
  const args = ['data', 'features', market(), ...PIPE_ARGS];
  const slow = await qtaskPiped(args, (child, chunks) => {
    // Read nothing for a while: the pipe fills and the writer meets EAGAIN and partial writes.
    child.stdout?.pause();
    setTimeout(() => {
      child.stdout?.on('data', (b: Buffer) => chunks.push(b));
      child.stdout?.resume();
    }, 1500);
  });
  assert.equal(slow.err, '');
  assert.equal(slow.code, 0);
  const eager = qtask(...args);
  assert.equal(eager.code, 0, eager.err);
  assert.ok(eager.out.length > 1_000_000, `output big enough to fill a pipe (${eager.out.length} bytes)`);
  assert.equal(slow.out, eager.out);
});

test('qtask data features | head: the reader closing the pipe ends the command quietly with exit 0', async () => {
  const r = await qtaskPiped(['data', 'features', market(), ...PIPE_ARGS], (child, chunks) => {
    child.stdout?.once('data', (b: Buffer) => {
      chunks.push(b);
      child.stdout?.destroy(); // as head does once it has its lines
    });
  });
  assert.equal(r.err, '');
  assert.equal(r.code, 0);
  assert.match(r.out, /^datetime,instrument,KMID,KLEN,ROC5,ROC20,MA5,MA10,STD5,LABEL0\n/);
});
