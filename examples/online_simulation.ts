/**
 * qlib's examples/online_srv/online_management_simulate.py on qtask: an OnlineManager with one
 * RollingStrategy (LinearModel on Alpha158, SignalRecord) simulates every trading day of the last
 * `--days` days of the data: first train, then a routine per day that trains the next window when
 * its test start is reached and extends the signal. Then it reports the signal's IC against the
 * windows' labels and backtests the signal with TopkDropout.
 *
 *   node --import tsx examples/online_simulation.ts [--provider DIR] [--work-dir DIR] [--days 252] [--step 63] [--trainer TrainerR]
 *
 * `--trainer TrainerRM` (qlib's other choice) trains through a SQLite task pool (WORK/task_pool.db),
 * where `qtask worker --task-fn qtask:taskTrain` processes can help; the Delay* trainers postpone the
 * fits to the end of the simulation.
 *
 * Without `--provider` a synthetic market (`qtask data synth`) is generated into WORK/data.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatTable } from '../src/cli/output.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { LocalTrainer, OnlineManager, PoolTrainer, RollingStrategy } from '../src/online/index.ts';
import type { OnlineTrainer } from '../src/online/index.ts';
import { backtestSignal, collectRolling, icOf } from './lib/loop.ts';
import { chooseProvider } from './lib/provider.ts';
import { onlineTemplate } from './lib/onlineTemplate.ts';
import { fmt, out, pct, stage } from './lib/report.ts';

const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

const TRAINERS = ['TrainerR', 'DelayTrainerR', 'TrainerRM', 'DelayTrainerRM'] as const;

const program = new Command('online_simulation')
  .description("qlib's online_management_simulate example: simulate an OnlineManager day by day, then IC and backtest of its signal")
  .option('--provider <dir>', 'qlib data directory (default: qtask data synth into WORK/data)')
  .option('--work-dir <dir>', 'mlruns, manager state and synthetic data (default: a new temp dir)')
  .option('--days <n>', 'trading days simulated, ending on the last day of the data', positive('--days'), 252)
  .option('--step <n>', 'trading days per rolling window (qlib example: 80)', positive('--step'), 63)
  .option('--train-days <n>', 'trading days of each train window', positive('--train-days'), 252)
  .option('--trainer <name>', `${TRAINERS.join(', ')}`, (v: string) => {
    if (!(TRAINERS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--trainer must be one of ${TRAINERS.join(', ')}`);
    return v;
  }, 'TrainerR')
  .option('--json', 'print a JSON summary line at the end')
  .showHelpAfterError();

program.action(async (o: { provider?: string; workDir?: string; days: number; step: number; trainDays: number; trainer: string; json?: boolean }) => {
  const started = Date.now();
  const work = resolve(o.workDir ?? mkdtempSync(join(tmpdir(), 'qtask-online-sim-')));
  mkdirSync(work, { recursive: true });
  out(`online simulation: work dir ${work}`);
  const data = stage('data', () => chooseProvider(o.provider, work));
  if (data.synth) out(`   qtask data synth: ${data.synth.instruments} instruments × ${data.synth.days} days`);
  const provider = new LocalProvider(data.dir);
  const cal = provider.calendarDays();
  const begin = Math.max(0, cal.length - o.days);
  const mlruns = join(work, 'mlruns');
  const name = 'LinearModel';
  const strategy = new RollingStrategy({
    name,
    template: onlineTemplate(cal, begin, o.trainDays, 63),
    rollingGen: new RollingGen({ calendar: () => Calendar.fromFile(join(data.dir, 'calendars', 'day.txt')), step: o.step, rtype: RollingGen.ROLL_SD }),
    mlruns,
  });
  const delay = o.trainer.startsWith('Delay');
  const trainer: OnlineTrainer = o.trainer.endsWith('RM')
    ? new PoolTrainer({ store: `sqlite:${join(work, 'task_pool.db')}`, providerUri: data.dir, mlruns, delay })
    : new LocalTrainer({ providerUri: data.dir, mlruns, delay });
  const manager = new OnlineManager({
    strategies: [strategy],
    trainer,
    providerUri: data.dir,
    stateDir: join(work, 'state'),
    beginTime: cal[begin]!,
  });
  const last = cal[cal.length - 1]!;
  const models = () => Object.values(manager.state.everOnline).flat().length;
  out(`\nsimulate ${cal[begin]} … ${last} (${cal.length - begin} trading days, a new window every ${o.step}) …`);
  const t0 = Date.now();
  let n = 0;
  const signal = await manager.simulate({
    end: last,
    onDay: (r) => {
      n++;
      const newModels = Object.values(r.trained).flat().length;
      if (newModels > 0 || n % 21 === 0 || r.time === last) out(`   ${r.time}: day ${n}, ${models()} models${newModels ? `, ${newModels} new online` : ''}, ${r.signalRows} signal rows added`);
    },
  });
  out(`   (simulate: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const collected = stage('collect', () => collectRolling({ experiment: name, mlruns }));
  out(formatTable(['window (test)', 'rows', 'IC'], collected.windows.map((w) => [`${w.test[0]}..${w.test[1] ?? '(open)'}`, w.rows, fmt(w.ic.IC)])).replace(/^/gm, '   '));
  const ic = icOf(signal, collected.mergedLabel);
  const signalDates = [...new Set(signal.dates)];
  const bt = stage('backtest', () => backtestSignal(provider, signal, { topk: 10, n_drop: 2 }));
  const summary = {
    days: cal.length - begin,
    signalDates: signalDates.length,
    firstSignal: signalDates[0],
    lastSignal: signalDates[signalDates.length - 1],
    models: models(),
    trainer: o.trainer,
    IC: ic.IC,
    RankIC: ic['Rank IC'],
    annualizedExcessReturn: bt.withCost.annualized_return,
    maxDrawdown: bt.withCost.max_drawdown,
    seconds: (Date.now() - started) / 1000,
  };
  out('\nreport');
  out(
    formatTable(
      ['metric', 'value'],
      [
        ['signal days', `${summary.signalDates} (${summary.firstSignal} … ${summary.lastSignal})`],
        ['models trained', `${summary.models} (${o.trainer})`],
        ['signal IC / Rank IC', `${fmt(summary.IC)} / ${fmt(summary.RankIC)}`],
        ['annualized excess return (with cost)', pct(summary.annualizedExcessReturn)],
        ['max drawdown (with cost)', pct(summary.maxDrawdown)],
        ['wall time', `${summary.seconds.toFixed(1)} s`],
      ],
    ).replace(/^/gm, '   '),
  );
  if (o.json) out(JSON.stringify(summary));
});

await program.parseAsync(process.argv);
