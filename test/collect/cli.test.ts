/** `qtask collect` as a real child process over a real mlruns store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { runCli } from '../cli/helpers.ts';
import { addRun, panel, tempStore } from './helpers.ts';

function setup() {
  const store = tempStore();
  // M1: two windows overlapping on 01-03 (the later window owns it); M2: one window.
  addRun(store, 'exp', 'M1', ['2020-01-02', '2020-01-03'], panel({ '2020-01-02': { A: 1, B: 2 }, '2020-01-03': { A: 9, B: 9 } }));
  addRun(store, 'exp', 'M1', ['2020-01-03', '2020-01-04'], panel({ '2020-01-03': { A: 3, B: 4 }, '2020-01-04': { A: 5, B: 6 } }));
  addRun(store, 'exp', 'M2', ['2020-01-02', '2020-01-04'], panel({ '2020-01-02': { A: 2, B: 1 }, '2020-01-03': { A: 1, B: 2 }, '2020-01-04': { A: 1, B: 2 } }));
  return store;
}

test('qtask collect: rolling per model to stdout, filter on params, average across models, file output', async () => {
  const store = setup();
  const r = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'key,datetime,instrument,score',
    '"[""M1""]",2020-01-02,A,1.0', '"[""M1""]",2020-01-02,B,2.0', '"[""M1""]",2020-01-03,A,3.0', '"[""M1""]",2020-01-03,B,4.0', '"[""M1""]",2020-01-04,A,5.0', '"[""M1""]",2020-01-04,B,6.0',
    '"[""M2""]",2020-01-02,A,2.0', '"[""M2""]",2020-01-02,B,1.0', '"[""M2""]",2020-01-03,A,1.0', '"[""M2""]",2020-01-03,B,2.0', '"[""M2""]",2020-01-04,A,1.0', '"[""M2""]",2020-01-04,B,2.0',
    '',
  ].join('\n'));
  assert.match(r.stderr, /collected 3 recorder/);

  const f = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--filter', '{"params.model.class": "M2"}', '--group', 'none']);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stdout.split('\n')[0], 'datetime,instrument,score');
  assert.equal(f.stdout.trim().split('\n').length, 7);

  const raw = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--ensemble', 'none']);
  assert.equal(raw.code, 0, raw.stderr);
  const rawLines = raw.stdout.trim().split('\n');
  assert.equal(rawLines[0], 'key,datetime,instrument,score');
  assert.equal(rawLines.length, 1 + 4 + 4 + 6, 'every recorder\'s rows, overlap not resolved');
  assert.ok(rawLines.includes('"[""M1"",[""2020-01-02"",""2020-01-03""]]",2020-01-03,A,9.0'), 'keys are [model, test segment]');

  // Two instruments per date: z = ±1/√2 per model; M1 and M2 agree in sign except on 01-02.
  const out = join(store.root, '..', 'avg.csv');
  const a = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--ensemble', 'average', '--output', out]);
  assert.equal(a.code, 0, a.stderr);
  const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const s = Math.SQRT1_2;
  const want = [['2020-01-02', 'A', 0], ['2020-01-02', 'B', 0], ['2020-01-03', 'A', -s], ['2020-01-03', 'B', s], ['2020-01-04', 'A', -s], ['2020-01-04', 'B', s]] as const;
  assert.equal(rows.length, want.length);
  rows.forEach((row, i) => {
    assert.deepEqual(row.slice(0, 2), want[i]!.slice(0, 2));
    assert.ok(Math.abs(Number(row[2]) - want[i]![2]) < 1e-12, `${row.join(',')}`);
  });
});

test('qtask collect --output x.parquet: read back by an independent reader (polars), same rows as the CSV', async () => {
  const store = setup();
  const dir = join(store.root, '..');
  for (const args of [[], ['--ensemble', 'average'], ['--ensemble', 'none']]) {
    const csvPath = join(dir, 'out.csv');
    const pqPath = join(dir, 'out.parquet');
    const c = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, ...args, '--output', csvPath]);
    const p = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, ...args, '--output', pqPath]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /row\(s\) in/);
    const csvRows = readFileSync(csvPath, 'utf8').trim().split('\n');
    const header = csvRows[0]!.split(',');
    const df = pl.readParquet(pqPath);
    assert.deepEqual(df.columns, header, `${args.join(' ')}: same columns`);
    assert.equal(df.height, csvRows.length - 1);
    assert.match(String(df.getColumn('datetime').dtype), /Datetime\(ms/, 'a timestamp pandas reads as datetime64');
    const rows = df.toRecords();
    csvRows.slice(1).forEach((line, i) => {
      const want = line.match(/("(?:[^"]|"")*"|[^,]+)/g)!.map((f) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f));
      const got = rows[i]!;
      const offset = header[0] === 'key' ? 1 : 0;
      if (offset) assert.equal(got['key'], want[0]);
      assert.equal((got['datetime'] as unknown as Date).toISOString().slice(0, 10), want[offset]);
      assert.equal(got['instrument'], want[offset + 1]);
      assert.ok(Math.abs((got['score'] as number) - Number(want[offset + 2])) < 1e-12, `${args.join(' ')} row ${i}: ${got['score']} vs ${want[offset + 2]}`);
    });
  }
});

test('qtask collect: bad input gives one typed line and writes nothing', async () => {
  const store = setup();
  const missing = await runCli(['collect', '--experiment', 'nope', '--mlruns', store.root]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /EXPERIMENT_NOT_FOUND/);
  assert.ok(!store.listExperiments().experiments.some((e) => e.name === 'nope'), 'not created');
  store.createExperiment('bare');
  const bare = await runCli(['collect', '--experiment', 'bare', '--mlruns', store.root]);
  assert.match(bare.stderr, /NO_RECORDERS.*has no runs/);
  const xlsx = join(store.root, '..', 'x.xlsx');
  const badExt = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--output', xlsx]);
  assert.match(badExt.stderr, /COLLECT_OUTPUT: --output.*\.parquet/);
  assert.ok(!existsSync(xlsx));
  const badFilter = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--filter', '{"params.x": {"$bogus": 1}}']);
  assert.match(badFilter.stderr, /QUERY_OPERATOR|QUERY_SHAPE/);
  const notJson = await runCli(['collect', '--experiment', 'exp', '--mlruns', store.root, '--filter', '{x']);
  assert.match(notJson.stderr, /VALIDATION: --filter/);
  for (const r of [missing, bare, badExt, badFilter, notJson]) {
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
  }
});
