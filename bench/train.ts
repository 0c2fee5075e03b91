/**
 * `npm run bench:train`: `qtask run` of the linear Alpha158 workflow (examples/workflows, qlib's file
 * with data paths and dates changed) on the 482-stock S&P 500 data, against qlib's `qrun` of the same
 * YAML on the same imported data, in the same run. The benchmark is set to a stock that exists
 * (AAPL) for both, since qlib refuses a missing benchmark. qtask's time is split by stage; qlib's is
 * end to end (process wall time). Python: $QTASK_QLIB_PYTHON or ~/.cache/qtask/venv-qlib/bin/python.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCsv } from '../src/data/import/index.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = process.env['QTASK_QLIB_PYTHON'] ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python');
const dir = mkdtempSync(join(tmpdir(), 'qtask-bench-train-'));
try {
  const provider = join(dir, 'sp500');
  importCsv({ srcDir: resolve(REPO, '../shared/data/sp500_2015_2020'), targetDir: provider, adjust: true, duplicates: 'first' });
  const yaml = join(dir, 'workflow.yaml');
  writeFileSync(yaml, readFileSync(join(REPO, 'examples/workflows/workflow_config_linear_Alpha158.yaml'), 'utf8').replace('"./data/sp500"', JSON.stringify(provider)).replace('&benchmark SPY', '&benchmark AAPL'));
  const load0 = loadavg()[0]!;

  let t0 = performance.now();
  const ours = spawnSync(process.execPath, [join(REPO, 'bin/qtask.js'), 'run', yaml, '--mlruns', join(dir, 'mlruns-qtask'), '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  const qtaskMs = performance.now() - t0;
  if (ours.status !== 0) throw new Error(`qtask run failed: ${ours.stderr}`);
  const res = JSON.parse(ours.stdout) as { stages: Record<string, number>; metrics: Record<string, number> };

  t0 = performance.now();
  // MLflow 3 refuses file stores (qlib's default mlruns) without this opt-out.
  const qlib = spawnSync(join(dirname(PYTHON), 'qrun'), [yaml], { cwd: dir, env: { ...process.env, MLFLOW_ALLOW_FILE_STORE: 'true' }, encoding: 'utf8', maxBuffer: 256 << 20, timeout: Number(process.env['QTASK_BENCH_QLIB_TIMEOUT_MS'] ?? 3_600_000) });
  const qlibMs = performance.now() - t0;
  const qlibOk = qlib.status === 0;
  const s = res.stages;
  const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`qtask run: ${fmt(qtaskMs)} (data ${fmt(s['data'] ?? 0)}, fit ${fmt(s['fit'] ?? 0)}, predict ${fmt(s['predict'] ?? 0)}, records ${fmt(s['records'] ?? 0)}); IC ${res.metrics['IC']?.toFixed(4)}`);
  console.log(`qlib qrun: ${qlibOk ? fmt(qlibMs) : `FAILED (${qlib.status ?? qlib.signal}) after ${fmt(qlibMs)}: ${qlib.stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`}`);
  if (qlibOk) console.log(`speedup: ${(qlibMs / qtaskMs).toFixed(2)}x end to end`);
  console.log(`load average at start: ${load0.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
