/**
 * `npm run bench:data-import`: imports the 482 S&P 500 CSVs with `qtask data import-csv` and with
 * qlib's `dump_bin.py dump_all` algorithm (bench/dump_all_pandas.py, a re-creation: pyqlib's wheel
 * does not ship scripts/dump_bin.py and PyPI has no sdist) in the same run, checks that both wrote
 * the same bytes, and prints wall time and peak RSS (summed over the process tree) for each.
 *
 * Options: --runs N (default 1), --python PATH (default $QTASK_QLIB_PYTHON or
 * ~/.cache/qtask/venv-qlib/bin/python), --workers N for the pandas pool (default 16, dump_bin's default).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, homedir, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SRC = resolve('../shared/data/sp500_2015_2020');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

export interface ImportBenchOptions {
  /** Repetitions; the best run is reported. Default 1. */
  runs?: number;
  /** Python with pandas + pyqlib. Default $QTASK_QLIB_PYTHON or ~/.cache/qtask/venv-qlib/bin/python. */
  python?: string;
  /** Process-pool size of the pandas baseline. Default 16 (dump_bin.py's default). */
  workers?: string;
}

/** RSS (kB) of a process and all its descendants, from /proc. */
function treeRssKb(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+)/.exec(status);
      if (m) total += Number(m[1]);
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) stack.push(Number(k));
      }
    } catch {
      // The process exited between listing and reading.
    }
  }
  return total;
}

interface Measured {
  seconds: number;
  peakRssMb: number;
  stdout: string;
}

async function measure(cmd: string, args: string[]): Promise<Measured> {
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const timer = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treeRssKb(child.pid));
  }, 50);
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  return { seconds, peakRssMb: peak / 1024, stdout };
}

/** Byte comparison of two import outputs: calendar, all.txt and the five common fields. */
function compareOutputs(ours: string, theirs: string): string {
  const same = (a: string, b: string): boolean => readFileSync(a).equals(readFileSync(b));
  if (!same(join(ours, 'calendars/day.txt'), join(theirs, 'calendars/day.txt'))) return 'calendars differ';
  if (!same(join(ours, 'instruments/all.txt'), join(theirs, 'instruments/all.txt'))) return 'instruments/all.txt differs';
  let files = 0;
  for (const dir of readdirSync(join(theirs, 'features'))) {
    for (const field of ['open', 'high', 'low', 'close', 'volume']) {
      const a = join(ours, 'features', dir, `${field}.day.bin`);
      const b = join(theirs, 'features', dir, `${field}.day.bin`);
      if (!existsSync(a) || !same(a, b)) return `features/${dir}/${field}.day.bin differs`;
      files++;
    }
    if (!same(join(ours, 'features', dir, 'adj_close.day.bin'), join(theirs, 'features', dir, 'adj close.day.bin'))) return `${dir} adj close differs`;
    files++;
  }
  return `identical (calendar, all.txt, ${files} .bin files)`;
}

/** Runs the import benchmark and returns its report (markdown), e.g. for `bench/data.ts` to include. */
export async function runImportBench(options: ImportBenchOptions = {}): Promise<string> {
  const RUNS = options.runs ?? 1;
  const PYTHON = options.python ?? process.env.QTASK_QLIB_PYTHON ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python');
  const WORKERS = options.workers ?? '16';
  const work = mkdtempSync(join(tmpdir(), 'qtask-bench-import-'));
  const hasPython = existsSync(PYTHON);
  const rows: Array<{ name: string; runs: Measured[] }> = [
    { name: 'qtask import-csv (raw, 6 fields)', runs: [] },
    { name: 'qtask import-csv --adjust (7 fields)', runs: [] },
    { name: `dump_all re-creation, pandas, ${WORKERS} workers (6 fields)`, runs: [] },
  ];
  let check = 'not compared (python missing)';
  try {
    for (let r = 0; r < RUNS; r++) {
      const ours = join(work, `ours${r}`);
      const adj = join(work, `adj${r}`);
      const theirs = join(work, `qlib${r}`);
      const qtask = ['bin/qtask.js', 'data', 'import-csv', SRC];
      rows[0].runs.push(await measure(process.execPath, [...qtask, ours, '--duplicates', 'first', '--no-progress', '--json']));
      rows[1].runs.push(await measure(process.execPath, [...qtask, adj, '--adjust', '--duplicates', 'first', '--no-progress', '--json']));
      if (hasPython) {
        rows[2].runs.push(
          await measure(PYTHON, ['bench/dump_all_pandas.py', SRC, theirs, '--date-field', 'Date', '--exclude-fields', 'Name', '--max-workers', WORKERS]),
        );
        check = compareOutputs(ours, theirs);
      }
      for (const d of [ours, adj, theirs]) rmSync(d, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const best = (m: Measured[]): Measured => m.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const internal = (m: Measured): string => {
    try {
      return `${(JSON.parse(m.stdout) as { seconds: number }).seconds.toFixed(2)} s`;
    } catch {
      return `${Number(m.stdout.trim()).toFixed(2)} s`;
    }
  };
  const base = rows[2].runs.length ? best(rows[2].runs).seconds : NaN;
  const out: string[] = [];
  const log = (line: string): number => out.push(line);
  log(`# import of ${SRC} (482 CSV files, 592,358 rows)`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; best of ${RUNS} run(s)`);
  log('');
  log('| importer | wall (process) | in-process | peak RSS (tree) | vs dump_all |');
  log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    if (!row.runs.length) {
      log(`| ${row.name} | skipped (no python at ${PYTHON}) | | | |`);
      continue;
    }
    const b = best(row.runs);
    const ratio = Number.isFinite(base) ? `${(base / b.seconds).toFixed(1)}x` : '-';
    log(`| ${row.name} | ${b.seconds.toFixed(2)} s | ${internal(b)} | ${b.peakRssMb.toFixed(0)} MB | ${row === rows[2] ? '1.0x' : ratio} |`);
  }
  log('');
  log(`output check (raw import vs dump_all): ${check}`);
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  console.log(
    await runImportBench({
      runs: Number(arg('--runs', '1')),
      python: arg('--python', process.env.QTASK_QLIB_PYTHON ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python')),
      workers: arg('--workers', '16'),
    }),
  );
}
