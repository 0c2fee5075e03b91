/**
 * `npm run bench:online`: one year of daily `OnlineManager.simulate` with one RollingStrategy on the
 * 482-stock S&P 500 data (imported once with `--adjust --duplicates first`), against qlib 0.9.7's
 * `OnlineManager.simulate` + `RollingStrategy` + `TrainerR` on the same imported directory, in the
 * same run (bench/online_qlib.py). Both sides get the same JSON template (examples/lib's online
 * template: LinearModel ols on a ~50-feature Alpha158 config, RobustZScoreNorm+Fillna / DropnaLabel+
 * CSRankNorm, SignalRecord), the same RollingGen (sliding, same step) and the same begin/end days,
 * so both train the same windows on the same days. The merged signals are compared at the end.
 *
 * Each side runs in its own process; its report splits the simulate call into first train, retrains,
 * signal preparation and the rest of the routines.
 *
 *   node --import tsx bench/online.ts [--year 2019] [--days N] [--step 63] [--train-days 252]
 *        [--valid-days 63] [--provider DIR] [--skip-qlib] [--keep]
 *
 * `--provider` reuses an imported directory (default: import ../shared/data/sp500_2015_2020 into a
 * temp dir). `--days` simulates only the first N trading days of the year (smoke runs).
 * Python: $QTASK_QLIB_PYTHON or ~/.cache/qtask/venv-qlib/bin/python (scripts/golden/setup_venv.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importCsv } from '../src/data/import/index.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { LocalTrainer, OnlineManager, RollingStrategy } from '../src/online/index.ts';
import type { OnlineTrainer, RecorderRef } from '../src/online/index.ts';
import type { TaskDef } from '../src/task/types.ts';
import { onlineTemplate } from '../examples/lib/onlineTemplate.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = process.env['QTASK_QLIB_PYTHON'] ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python');
const STRATEGY = 'bench_online';

const { values: opt } = parseArgs({
  options: {
    side: { type: 'string' },
    work: { type: 'string' },
    year: { type: 'string', default: '2019' },
    days: { type: 'string' },
    step: { type: 'string', default: '63' },
    'train-days': { type: 'string', default: '252' },
    'valid-days': { type: 'string', default: '63' },
    provider: { type: 'string' },
    'skip-qlib': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
}

/** What both sides are given (written to <work>/setup.json). */
interface Setup {
  provider: string;
  begin: string;
  end: string;
  days: number;
  step: number;
  template: TaskDef;
  strategy: string;
}

/** What each side reports (one JSON line on stdout). */
interface SideReport {
  side: 'qtask' | 'qlib';
  /** Process start to the simulate call (qlib: import + qlib.init). */
  startupS: number;
  simulateS: number;
  /** CPU time of the simulate call, all threads (qlib: plus reaped child processes). */
  simulateCpuS: number;
  firstTrainS: number;
  retrainS: number[];
  retrainDays: string[];
  signalS: number;
  routines: number;
  signalRows: number;
  signalDates: number;
  firstSignal: string | null;
  lastSignal: string | null;
  /** Rows of a (date, instrument) already in the signal (qlib W32). */
  duplicateRows: number;
  signalsCsv: string;
  maxRssMb: number;
}

// ---------------------------------------------------------------- qtask side (child process)

/** Times every `train` call that has tasks; the first one is firstTrain's. */
class TimedTrainer implements OnlineTrainer {
  readonly calls: { ms: number; tasks: number }[] = [];
  constructor(private readonly inner: OnlineTrainer) {}
  isDelay(): boolean {
    return this.inner.isDelay();
  }
  async train(tasks: TaskDef[], experimentName: string): Promise<RecorderRef[]> {
    if (tasks.length === 0) return this.inner.train(tasks, experimentName);
    const t0 = performance.now();
    const refs = await this.inner.train(tasks, experimentName);
    this.calls.push({ ms: performance.now() - t0, tasks: tasks.length });
    return refs;
  }
  endTrain(refs: RecorderRef[], experimentName: string): Promise<RecorderRef[]> {
    return this.inner.endTrain(refs, experimentName);
  }
}

async function runQtaskSide(work: string): Promise<void> {
  const setup = JSON.parse(readFileSync(join(work, 'setup.json'), 'utf8')) as Setup;
  const dir = join(work, 'qtask');
  const mlruns = join(dir, 'mlruns');
  const startupS = performance.now() / 1000;
  const strategy = new RollingStrategy({
    name: setup.strategy,
    template: setup.template,
    rollingGen: new RollingGen({ calendar: () => Calendar.fromFile(join(setup.provider, 'calendars', 'day.txt')), step: setup.step, rtype: RollingGen.ROLL_SD }),
    mlruns,
  });
  const trainer = new TimedTrainer(new LocalTrainer({ providerUri: setup.provider, mlruns }));
  const manager = new OnlineManager({ strategies: [strategy], trainer, providerUri: setup.provider, stateDir: join(dir, 'state'), beginTime: setup.begin });
  // extendSignals is the manager's signal preparation (collect + AverageEnsemble + append); timed from outside.
  const hook = manager as unknown as { extendSignals: (to: string, cal: readonly string[]) => unknown };
  const extend = hook.extendSignals.bind(manager);
  let signalMs = 0;
  hook.extendSignals = (to, cal) => {
    const t0 = performance.now();
    try {
      return extend(to, cal);
    } finally {
      signalMs += performance.now() - t0;
    }
  };
  const retrainDays: string[] = [];
  let routines = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const signal = await manager.simulate({
    end: setup.end,
    onDay: (r) => {
      routines++;
      if (Object.values(r.trained).some((ids) => ids.length > 0)) retrainDays.push(r.time);
    },
  });
  const simulateS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const seen = new Set<string>();
  let duplicateRows = 0;
  for (let i = 0; i < signal.dates.length; i++) {
    const k = `${signal.dates[i]}|${signal.instruments[i]}`;
    if (seen.has(k)) duplicateRows++;
    seen.add(k);
  }
  const dates = [...new Set(signal.dates)].sort();
  const report: SideReport = {
    side: 'qtask',
    startupS,
    simulateS,
    simulateCpuS: (cpu.user + cpu.system) / 1e6,
    firstTrainS: (trainer.calls[0]?.ms ?? 0) / 1000,
    retrainS: trainer.calls.slice(1).map((c) => c.ms / 1000),
    retrainDays,
    signalS: signalMs / 1000,
    routines,
    signalRows: signal.dates.length,
    signalDates: dates.length,
    firstSignal: dates[0] ?? null,
    lastSignal: dates[dates.length - 1] ?? null,
    duplicateRows,
    signalsCsv: manager.signalsPath,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---------------------------------------------------------------- driver

function runSide(cmd: string, args: string[], env: NodeJS.ProcessEnv): { report: SideReport; wallS: number } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'], timeout: Number(process.env['QTASK_BENCH_QLIB_TIMEOUT_MS'] ?? 3_600_000) });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr ?? '').slice(-4000)}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return { report: JSON.parse(line) as SideReport, wallS };
}

/** date|instrument → score of a signals CSV (datetime,instrument,score; first row of a repeated key kept). */
function readSignalCsv(file: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const [d, inst, s] = l.split(',');
    const k = `${d!.slice(0, 10)}|${inst}`;
    if (!out.has(k)) out.set(k, Number(s));
  }
  return out;
}

function compareSignals(a: Map<string, number>, b: Map<string, number>): { common: number; onlyQtask: number; onlyQlib: number; maxAbsDiff: number; corr: number } {
  let common = 0;
  let onlyQtask = 0;
  let maxAbsDiff = 0;
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y === undefined) {
      onlyQtask++;
      continue;
    }
    common++;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - y));
    sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
  }
  const onlyQlib = [...b.keys()].filter((k) => !a.has(k)).length;
  const n = common;
  const corr = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
  return { common, onlyQtask, onlyQlib, maxAbsDiff, corr };
}

async function main(): Promise<void> {
  const year = opt.year!;
  const step = positiveInt('step', opt.step);
  const trainDays = positiveInt('train-days', opt['train-days']);
  const validDays = positiveInt('valid-days', opt['valid-days']);
  const work = mkdtempSync(join(tmpdir(), 'qtask-bench-online-'));
  const load0 = loadavg()[0]!;
  try {
    let provider = opt.provider === undefined ? undefined : resolve(opt.provider);
    let importS = 0;
    if (provider === undefined) {
      provider = join(work, 'sp500');
      const t0 = performance.now();
      importCsv({ srcDir: resolve(REPO, '../shared/data/sp500_2015_2020'), targetDir: provider, adjust: true, duplicates: 'first' });
      importS = (performance.now() - t0) / 1000;
    }
    const lp = new LocalProvider(provider);
    const cal = lp.calendarDays();
    const inYear = cal.map((d, i) => [d, i] as const).filter(([d]) => d.startsWith(`${year}-`));
    if (inYear.length === 0) throw new Error(`the data has no trading day in ${year}`);
    const days = opt.days === undefined ? inYear.length : Math.min(positiveInt('days', opt.days), inYear.length);
    const beginIdx = inYear[0]![1];
    const setup: Setup = {
      provider,
      begin: cal[beginIdx]!,
      end: cal[beginIdx + days - 1]!,
      days,
      step,
      template: onlineTemplate(cal, beginIdx, trainDays, validDays),
      strategy: STRATEGY,
    };
    writeFileSync(join(work, 'setup.json'), JSON.stringify(setup, null, 1));
    mkdirSync(join(work, 'qtask'), { recursive: true });
    const instruments = lp.instruments('all').length;
    console.log(`online simulate bench: ${setup.begin} … ${setup.end} (${days} trading days), ${instruments} instruments, step ${step}, train ${trainDays} / valid ${validDays} days; ${importS ? `import ${importS.toFixed(1)} s` : `provider ${provider}`}`);

    const ours = runSide(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--side', 'qtask', '--work', work], process.env);
    print(ours.report, ours.wallS);
    let theirs: { report: SideReport; wallS: number } | undefined;
    if (!opt['skip-qlib']) {
      if (!existsSync(PYTHON)) throw new Error(`no qlib Python at ${PYTHON}: run scripts/golden/setup_venv.sh, set QTASK_QLIB_PYTHON, or pass --skip-qlib`);
      theirs = runSide(PYTHON, [join(REPO, 'bench/online_qlib.py'), join(work, 'setup.json'), join(work, 'qlib')], { ...process.env, MLFLOW_ALLOW_FILE_STORE: 'true' });
      print(theirs.report, theirs.wallS);
      const cmp = compareSignals(readSignalCsv(ours.report.signalsCsv), readSignalCsv(theirs.report.signalsCsv));
      const sameSchedule = JSON.stringify(ours.report.retrainDays) === JSON.stringify(theirs.report.retrainDays);
      console.log(`retrain days: ${sameSchedule ? 'same on both sides' : `DIFFER: qtask ${ours.report.retrainDays.join(',')} vs qlib ${theirs.report.retrainDays.join(',')}`}`);
      console.log(`signals: ${cmp.common} common (date, instrument) rows, ${cmp.onlyQtask} only in qtask, ${cmp.onlyQlib} only in qlib; max |diff| ${cmp.maxAbsDiff.toExponential(2)}, correlation ${cmp.corr.toFixed(6)}`);
      console.log(`speed-up: simulate ${(theirs.report.simulateS / ours.report.simulateS).toFixed(2)}x wall, ${(theirs.report.simulateCpuS / ours.report.simulateCpuS).toFixed(2)}x CPU; process wall ${(theirs.wallS / ours.wallS).toFixed(2)}x`);
      if (!sameSchedule) process.exitCode = 1;
    }
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end; ${new Date().toISOString().slice(0, 16)}Z`);
  } finally {
    if (opt.keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function print(r: SideReport, wallS: number): void {
  const s = (x: number) => `${x.toFixed(1)} s`;
  const retrain = r.retrainS.reduce((a, b) => a + b, 0);
  const other = r.simulateS - r.firstTrainS - retrain - r.signalS;
  console.log(
    `${r.side.padEnd(5)}: process ${s(wallS)} (start-up ${s(r.startupS)}), simulate ${s(r.simulateS)} (CPU ${s(r.simulateCpuS)}) = first train ${s(r.firstTrainS)} + ${r.retrainS.length} retrains ${s(retrain)} + signal prep ${s(r.signalS)} + other routine work ${s(other)}; ` +
      `${r.routines} routines, signal ${r.signalRows} rows / ${r.signalDates} dates (${r.firstSignal} … ${r.lastSignal}), ${r.duplicateRows} duplicate rows; peak RSS ${r.maxRssMb.toFixed(0)} MB`,
  );
}

if (opt.side === 'qtask') await runQtaskSide(resolve(opt.work!));
else await main();
