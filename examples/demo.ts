/**
 * `npm run demo`: qlib's whole research loop on the embedded defaults — no server, no data needed.
 *
 *   1. data:     `qtask data synth` — a synthetic 50-stock market (weekdays 2018 … 2020) in a temp dir;
 *   2. generate: RollingGen (quarterly test windows, sliding train) over the template
 *                examples/templates/rolling_alpha158_synth.yaml (LinearModel on Alpha158,
 *                SignalRecord + SigAnaRecord);
 *   3. store:    the tasks go into a SQLite task pool;
 *   4. train:    two `qtask worker` processes train them (qlib's task_train: one recorder each);
 *   5. collect:  RecorderCollector + RollingGroup (RollingEnsemble) merge the windows into one signal;
 *   6. backtest: TopkDropout on the merged signal, excess return over the equal-weight market;
 *   7. report.
 *
 * Output goes to a fresh temp directory (printed), or to the directory given as the first argument.
 * `--json` additionally prints the report as one JSON line (the tests read it).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { waitForPool } from '../src/cli/commands/wait.ts';
import { formatTable, statRows } from '../src/cli/output.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { taskGenerator } from '../src/generate/taskGen.ts';
import { openStore } from '../src/store/url.ts';
import { loadTaskDefsFile } from '../src/task/definition.ts';
import { chooseProvider } from './lib/provider.ts';
import { collectRolling, backtestSignal } from './lib/loop.ts';
import { REPO, startTrainWorker, trainTaskFnSpec } from './lib/workers.ts';
import { segmentsOf, stage, out, fmt, pct, taskWindowsTable } from './lib/report.ts';

const POOL = 'rolling_demo';
const EXPERIMENT = 'rolling_demo';
const WORKERS = 2;

async function main(): Promise<void> {
  const started = Date.now();
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const dirArg = args.find((a) => !a.startsWith('--'));
  const outDir = dirArg ? resolve(dirArg) : mkdtempSync(join(tmpdir(), 'qtask-demo-'));
  mkdirSync(outDir, { recursive: true });
  const storeUrl = `sqlite:${join(outDir, 'tasks.db')}`;
  const mlruns = join(outDir, 'mlruns');
  out(`qtask demo — qlib's research loop on synthetic data; output in ${outDir}\n`);

  // 1. Data.
  const data = stage('1. data', () => chooseProvider(undefined, outDir));
  const provider = new LocalProvider(data.dir);
  out(`   qtask data synth ${relative(process.cwd(), data.dir) || data.dir}: ${data.synth!.instruments} instruments × ${data.synth!.days} days (${data.synth!.firstDay} … ${data.synth!.lastDay})`);

  // 2. Generate.
  const templatePath = join(REPO, 'examples/templates/rolling_alpha158_synth.yaml');
  const tasks = stage('2. generate', () => {
    const gen = new RollingGen({ calendar: Calendar.fromDays(provider.calendarDays()), step: '1Q', rtype: RollingGen.ROLL_SD });
    return taskGenerator(loadTaskDefsFile(templatePath), gen);
  });
  out(`   RollingGen(step="1Q", rtype=sliding) turned ${relative(REPO, templatePath)} into ${tasks.length} tasks:`);
  out(taskWindowsTable(tasks));

  const store = await openStore(storeUrl);
  try {
    // 3. Store.
    const created = await stage('3. store', () => store.createTasks(POOL, tasks));
    out(`   ${storeUrl}, pool "${POOL}": ${tasks.length} tasks, ${created.created} new`);

    // 4. Train with worker processes.
    const taskFn = await trainTaskFnSpec();
    out(`\n4. train: ${WORKERS} worker processes: qtask worker --task-fn ${taskFn} (experiment "${EXPERIMENT}")`);
    const t4 = Date.now();
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      startTrainWorker(`demo-w${i + 1}`, { storeUrl, pool: POOL, taskFn, provider: data.dir, experiment: EXPERIMENT, mlruns }),
    );
    const counts = await waitForPool(store, POOL, { pollMs: 250, timeoutMs: 300_000 });
    const finished = await Promise.all(workers);
    const done = await store.find(POOL, { status: 'done' });
    const byWorker = new Map<string, number>();
    for (const t of done) byWorker.set(t.worker ?? '?', (byWorker.get(t.worker ?? '?') ?? 0) + 1);
    out(formatTable(['status', 'tasks'], statRows(counts)).replace(/^/gm, '   '));
    out(`   ${[...byWorker].map(([w, n]) => `${w}: ${n} tasks`).join(', ')}; exit codes ${finished.map((w) => w.code).join(', ')} (${((Date.now() - t4) / 1000).toFixed(1)} s)`);
    if (finished.some((w) => w.code !== 0) || (counts.done ?? 0) !== tasks.length) {
      for (const w of finished) for (const l of w.lines.slice(-5)) out(`   [${w.name}] ${l}`);
      throw new Error(`training failed: ${counts.done ?? 0} of ${tasks.length} tasks done`);
    }

    // 5. Collect and ensemble.
    const collected = stage('5. collect', () => collectRolling({ experiment: EXPERIMENT, mlruns }));
    out(`   RecorderCollector(experiment "${EXPERIMENT}", processList=[RollingGroup()]) over ${collected.windows.length} recorders`);
    out(
      formatTable(
        ['window (test)', 'rows', 'IC', 'Rank IC'],
        collected.windows.map((w) => [`${w.test[0]}..${w.test[1] ?? '(open)'}`, w.rows, fmt(w.ic.IC), fmt(w.ic['Rank IC'])]),
      ).replace(/^/gm, '   '),
    );
    const m = collected.merged;
    const distinctRows = new Set(m.dates.map((d, i) => `${d}|${m.instruments[i]}`)).size;
    const windowDates = new Set(collected.windows.flatMap((w) => w.pred.dates)).size;
    if (distinctRows !== m.dates.length || windowDates !== collected.dates) throw new Error('the merged signal repeats or misses rows');
    out(`   merged signal ${collected.key}: ${m.dates.length} rows, ${collected.dates} dates (${collected.firstDate} … ${collected.lastDate}) = every date of the windows, no (date, instrument) twice`);

    // 6. Backtest.
    const bt = stage('6. backtest', () => backtestSignal(provider, collected.merged, { topk: 10, n_drop: 2 }));
    out(`   TopkDropout(topk=10, n_drop=2) ${bt.start} … ${bt.end}, benchmark: equal-weight mean of ${bt.benchmarkSize} instruments`);

    // 7. Report.
    const report = {
      tasks: tasks.length,
      windows: collected.windows.map((w) => ({ test: w.test, IC: w.ic.IC, RankIC: w.ic['Rank IC'] })),
      IC: collected.ic.IC,
      ICIR: collected.ic.ICIR,
      RankIC: collected.ic['Rank IC'],
      RankICIR: collected.ic['Rank ICIR'],
      annualizedExcessReturn: bt.withCost.annualized_return,
      annualizedExcessReturnWithoutCost: bt.withoutCost.annualized_return,
      informationRatio: bt.withCost.information_ratio,
      maxDrawdown: bt.withCost.max_drawdown,
      seconds: (Date.now() - started) / 1000,
    };
    out('\n7. report');
    out(
      formatTable(
        ['metric', 'value'],
        [
          ['tasks trained', String(report.tasks)],
          ['merged signal IC', fmt(report.IC)],
          ['merged signal ICIR', fmt(report.ICIR)],
          ['merged signal Rank IC', fmt(report.RankIC)],
          ['merged signal Rank ICIR', fmt(report.RankICIR)],
          ['annualized excess return (with cost)', pct(report.annualizedExcessReturn)],
          ['annualized excess return (no cost)', pct(report.annualizedExcessReturnWithoutCost)],
          ['information ratio (with cost)', fmt(report.informationRatio)],
          ['max drawdown (with cost)', pct(report.maxDrawdown)],
          ['wall time', `${report.seconds.toFixed(1)} s`],
        ],
      ).replace(/^/gm, '   '),
    );
    out(`\nLook around:  node bin/qtask.js --store ${storeUrl} --pool ${POOL} query '{"status": "done"}' --limit 1 --json`);
    out(`              ls ${mlruns}`);
    if (json) out(JSON.stringify({ report }));
  } finally {
    await store.close();
  }
}

await main();
