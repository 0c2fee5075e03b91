/**
 * Collect bench: 50 rolling recorders (482 instruments of ../shared/data/sp500_2015_2020, 30 trading
 * days of predictions each, windows starting every 20 days so neighbours overlap by 10 days), merged
 * with RecorderCollector + RollingGroup (RollingEnsemble) — qtask on its mlruns store against qlib
 * 0.9.7's RecorderCollector + RollingGroup on a copy of the same runs in qlib's own MLflow store
 * (pred.pkl + task pickles; see bench/collect_qlib.py). Both outputs are compared row by row.
 *
 * node --import tsx bench/collect.ts [--runs 50] [--repeats 3] [--qtask-only]
 * (--qtask-only times qtask alone, for before/after comparisons without the slow qlib side)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecorderCollector, RollingGroup } from '../src/collect/index.ts';
import type { KeyedDict } from '../src/collect/index.ts';
import type { Panel } from '../src/data/types.ts';
import { ExperimentStore } from '../src/recorder/store.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = resolve(REPO, '../shared/data/sp500_2015_2020');
const PY = join(homedir(), '.cache/qtask/venv-qlib/bin/python');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 50);
const REPEATS = arg('repeats', 3);
const STEP = 20;
const SPAN = 30;

const instruments = readdirSync(DATA).filter((f) => f.endsWith('.csv')).map((f) => f.slice(0, -4)).sort();
const calendar = readFileSync(join(DATA, 'AAPL.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.slice(0, 10));
if (100 + STEP * (RUNS - 1) + SPAN > calendar.length) throw new Error(`calendar too short for ${RUNS} windows`);

// Deterministic scores: a 32-bit LCG, so reruns store identical predictions.
let seed = 12345;
const rnd = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;

const work = mkdtempSync(join(tmpdir(), 'qtask-bench-collect-'));
const store = new ExperimentStore({ uri: join(work, 'mlruns') });
let t = performance.now();
for (let w = 0; w < RUNS; w++) {
  const first = 100 + STEP * w;
  const days = calendar.slice(first, first + SPAN);
  const n = days.length * instruments.length;
  const p: Panel = { dates: new Array<string>(n), instruments: new Array<string>(n), columns: ['score'], groups: ['score'], values: [new Float64Array(n)] };
  let r = 0;
  for (const d of days) for (const inst of instruments) {
    p.dates[r] = d;
    p.instruments[r] = inst;
    p.values[0]![r++] = Math.round(rnd() * 1e6) / 1e6;
  }
  const rec = store.start({ experimentName: 'bench_collect' });
  rec.saveObjects({ task: { model: { class: 'LinearModel', module_path: 'qtask' }, dataset: { class: 'DatasetH', kwargs: { segments: { test: [days[0]!, calendar[first + STEP - 1]!] } } } }, pred: p });
  rec.end('FINISHED');
}
const setupMs = performance.now() - t;
const expDir = join(store.root, store.getExperiment({ experimentName: 'bench_collect' }).id);

const ours: number[] = [];
const oursCpu: number[] = [];
let merged: Panel | undefined;
for (let i = 0; i < REPEATS; i++) {
  t = performance.now();
  const c0 = process.cpuUsage();
  const out = new RecorderCollector({ experiment: 'bench_collect', store, processList: new RollingGroup() }).run();
  ours.push(performance.now() - t);
  const c = process.cpuUsage(c0);
  oursCpu.push((c.user + c.system) / 1000);
  merged = (out.get('pred') as KeyedDict<unknown>).get(['LinearModel']) as Panel;
}
const m = merged!;
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
if (process.argv.includes('--qtask-only')) {
  console.log(`qtask collect (${RUNS} runs, ${m.dates.length} rows): median ${med(ours).toFixed(0)} ms wall, ${med(oursCpu).toFixed(0)} ms CPU  (CPU runs: ${oursCpu.map((x) => x.toFixed(0)).join(', ')}); load avg ${loadavg()[0]!.toFixed(2)}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const py = spawnSync(PY, [join(REPO, 'bench/collect_qlib.py'), expDir, work, String(REPEATS)], { encoding: 'utf8', env: { ...process.env, MLFLOW_ALLOW_FILE_STORE: 'true' }, maxBuffer: 1 << 26 });
if (py.status !== 0) throw new Error(`qlib side failed (${py.status}): ${py.stderr.slice(-2000)}`);
const q = JSON.parse(py.stdout.trim().split('\n').pop()!) as { setup_s: number; collect_s: number[]; collect_cpu_s: number[]; rows: number; runs: number; out_csv: string };

// Row-by-row comparison with qlib's merged frame (datetime, instrument, score).
const lines = readFileSync(q.out_csv, 'utf8').trim().split('\n').slice(1);
let mismatches = 0;
if (lines.length !== m.dates.length) mismatches = Math.abs(lines.length - m.dates.length) || 1;
else lines.forEach((l, i) => {
  const [d, inst, s] = l.split(',');
  if (d!.slice(0, 10) !== m.dates[i] || inst !== m.instruments[i] || Math.abs(Number(s) - m.values[0]![i]!) > 1e-12) mismatches++;
});

const oursMed = med(ours);
const qlibMed = med(q.collect_s.map((s) => s * 1000));
const oursCpuMed = med(oursCpu);
const qlibCpuMed = med(q.collect_cpu_s.map((s) => s * 1000));
console.log(`collect bench: ${RUNS} rolling recorders × ${instruments.length} instruments × ${SPAN} days (step ${STEP}, overlap ${SPAN - STEP}); merged ${m.dates.length} rows, ${new Set(m.dates).size} dates`);
console.log(`  qtask RecorderCollector+RollingGroup (pred.csv):      median ${oursMed.toFixed(0)} ms wall, ${oursCpuMed.toFixed(0)} ms CPU  (wall runs: ${ours.map((x) => x.toFixed(0)).join(', ')})`);
console.log(`  qlib 0.9.7 RecorderCollector+RollingGroup (pred.pkl): median ${qlibMed.toFixed(0)} ms wall, ${qlibCpuMed.toFixed(0)} ms CPU  (wall runs: ${q.collect_s.map((x) => (x * 1000).toFixed(0)).join(', ')})`);
console.log(`  speed-up ${(qlibMed / oursMed).toFixed(2)}x wall, ${(qlibCpuMed / oursCpuMed).toFixed(2)}x CPU; outputs ${mismatches === 0 ? 'identical row by row' : `DIFFER in ${mismatches} rows`}; setup: qtask ${(setupMs / 1000).toFixed(1)} s, qlib copy ${q.setup_s.toFixed(1)} s; load avg ${loadavg()[0]!.toFixed(2)}`);
rmSync(work, { recursive: true, force: true });
if (mismatches) process.exitCode = 1;
