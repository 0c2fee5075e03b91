/**
 * qlib's examples/online_srv/rolling_online_management.py (`RollingOnlineExample`) on qtask:
 *
 *   first_run     reset, then first-train the "LinearModel" strategy (all its windows go online)
 *   routine       load the manager's saved state (a new process each time, as qlib's pickle) and run
 *                 the daily routine for `--date` (default: the data's last day): train the next
 *                 window when due, switch the online set, extend predictions and signals
 *   add_strategy  first-train a second strategy ("LinearRidge"); later routines average both
 *   status        the saved state: online models per strategy, signal range
 *   worker        qlib's `trainer.worker()` for each strategy: train (or, for a delay trainer, fit) what
 *                 is left in the strategies' task pools; run it in other processes to help a routine
 *   main          first_run at `--begin`, routines at a few dates up to the last day, add_strategy,
 *                 one more routine (the default)
 *
 * `--trainer` is qlib's default DelayTrainerRM: tasks go into a task pool per strategy (SQLite,
 * WORK/task_pool.db), are logged first and fitted at the routine's end. TrainerR/DelayTrainerR train
 * in this process without a pool. The state (JSON) lives in WORK/state, the recorders in WORK/mlruns;
 * without `--provider` a synthetic market (`qtask data synth`) is generated into WORK/data.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatTable } from '../src/cli/output.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { LocalTrainer, OnlineManager, PoolTrainer, RollingStrategy } from '../src/online/index.ts';
import type { OnlineTrainer, RoutineResult } from '../src/online/index.ts';
import { TaskManager } from '../src/store/taskManager.ts';
import { openStore } from '../src/store/url.ts';
import { DelayTrainerRM, TrainerRM } from '../src/workflow/trainer.ts';
import { onlineTemplate } from './lib/onlineTemplate.ts';
import { chooseProvider } from './lib/provider.ts';
import { out, stage } from './lib/report.ts';

interface Opts {
  provider?: string;
  workDir?: string;
  step: number;
  begin?: string;
  date?: string;
  json?: boolean;
  trainer: TrainerName;
}

const TRAINERS = ['TrainerR', 'DelayTrainerR', 'TrainerRM', 'DelayTrainerRM'] as const;
type TrainerName = (typeof TRAINERS)[number];

const STRATEGIES = { LinearModel: { estimator: 'ols' }, LinearRidge: { estimator: 'ridge', alpha: 1 } } as const;

class Example {
  readonly work: string;
  readonly mlruns: string;
  readonly stateDir: string;
  readonly provider: string;

  constructor(readonly o: Opts) {
    this.work = resolve(o.workDir ?? mkdtempSync(join(tmpdir(), 'qtask-online-')));
    mkdirSync(this.work, { recursive: true });
    this.mlruns = join(this.work, 'mlruns');
    this.stateDir = join(this.work, 'state');
    const synth = join(this.work, 'data');
    this.provider = o.provider === undefined && existsSync(join(synth, 'calendars', 'day.txt')) ? synth : chooseProvider(o.provider, this.work).dir;
  }

  calendar(): readonly string[] {
    return new LocalProvider(this.provider).calendarDays();
  }

  /** The first test day: `--begin`, else 126 trading days before the end of the data. */
  beginIndex(): number {
    const cal = this.calendar();
    if (this.o.begin === undefined) return Math.max(0, cal.length - 126);
    const i = cal.findIndex((d) => d >= this.o.begin!);
    if (i < 0) throw new InvalidArgumentError(`--begin ${this.o.begin} is after the data's last day ${cal[cal.length - 1]}`);
    return i;
  }

  strategies(names: (keyof typeof STRATEGIES)[]): RollingStrategy[] {
    const cal = this.calendar();
    const begin = this.beginIndex();
    return names.map(
      (name) =>
        new RollingStrategy({
          name,
          template: onlineTemplate(cal, begin, 252, 63, { ...STRATEGIES[name] }),
          rollingGen: new RollingGen({ calendar: () => Calendar.fromFile(join(this.provider, 'calendars', 'day.txt')), step: this.o.step, rtype: RollingGen.ROLL_SD }),
          mlruns: this.mlruns,
        }),
    );
  }

  get poolUrl(): string {
    return `sqlite:${join(this.work, 'task_pool.db')}`;
  }

  trainer(): OnlineTrainer {
    const delay = this.o.trainer.startsWith('Delay');
    if (this.o.trainer.endsWith('RM')) return new PoolTrainer({ store: this.poolUrl, providerUri: this.provider, mlruns: this.mlruns, delay });
    return new LocalTrainer({ providerUri: this.provider, mlruns: this.mlruns, delay, onTrained: (ref) => out(`   trained recorder ${ref.recorderId} (${ref.experimentName})`) });
  }

  /** qlib's `worker()`: each strategy's pool trainer drains its pool (waiting tasks, or part_done ones for a delay trainer). */
  async worker(): Promise<void> {
    if (!this.o.trainer.endsWith('RM')) throw new InvalidArgumentError(`--trainer ${this.o.trainer} has no task pool; workers need TrainerRM or DelayTrainerRM`);
    const store = await openStore(this.poolUrl);
    try {
      for (const name of this.load().state.strategies) {
        const opts = { experimentName: name, store, taskPool: name, provider: this.provider, mlruns: this.mlruns };
        const tm = new TaskManager(store, name, { log: () => {} });
        const before = await tm.taskStat();
        await (this.o.trainer === 'DelayTrainerRM' ? new DelayTrainerRM(opts) : new TrainerRM(opts)).worker();
        out(`   pool ${name}: ${JSON.stringify(before)} → ${JSON.stringify(await tm.taskStat())}`);
      }
    } finally {
      await store.close();
    }
  }

  /** The strategies named in the saved state (add_strategy may have added one). */
  load(): OnlineManager {
    const saved = existsSync(join(this.stateDir, 'state.json'));
    if (!saved) throw new InvalidArgumentError(`no saved manager in ${this.stateDir}: run first_run first (with the same --work-dir)`);
    const names = (OnlineManager.load(this.stateDir, this.strategies(['LinearModel', 'LinearRidge']), this.trainer(), this.provider).state.strategies ?? []) as (keyof typeof STRATEGIES)[];
    return OnlineManager.load(this.stateDir, this.strategies(names), this.trainer(), this.provider);
  }

  async firstRun(): Promise<void> {
    rmSync(this.stateDir, { recursive: true, force: true });
    rmSync(this.mlruns, { recursive: true, force: true });
    // qlib's reset also removes the strategies' task pools
    rmSync(join(this.work, 'task_pool.db'), { force: true });
    const m = new OnlineManager({ strategies: this.strategies(['LinearModel']), trainer: this.trainer(), providerUri: this.provider, stateDir: this.stateDir, beginTime: this.calendar()[this.beginIndex()]! });
    await m.firstTrain();
    this.printStatus(m);
  }

  async routine(date?: string): Promise<RoutineResult> {
    const m = this.load();
    const r = await m.routine(date);
    out(`   routine ${r.time}: ${r.ran ? `new models ${JSON.stringify(r.trained)}, ${r.signalRows} signal rows added` : 'already done (nothing changes)'}`);
    this.printStatus(m);
    return r;
  }

  async addStrategy(): Promise<void> {
    this.load();
    // Loading with a strategy the state does not name appends it; addStrategy first-trains it.
    const all = OnlineManager.load(this.stateDir, this.strategies(['LinearModel', 'LinearRidge']), this.trainer(), this.provider);
    await all.addStrategy(['LinearRidge']);
    this.printStatus(all);
  }

  printStatus(m: OnlineManager): ReturnType<OnlineManager['status']> {
    const s = m.status();
    out(formatTable(['strategy', 'online models', 'version', 'models'], s.strategies.map((x) => [x.name, x.online.length, x.onlineVersion, x.models])).replace(/^/gm, '   '));
    out(`   signals: ${s.signals.rows} rows up to ${s.signals.end ?? '(none)'}; last routine ${s.lastRoutine ?? '(none)'}`);
    return s;
  }
}

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--step must be a positive integer');
  return n;
};

const program = new Command('rolling_online_management').description("qlib's rolling_online_management example: first train, then daily routines").showHelpAfterError();
const common = (c: Command) =>
  c
    .option('--provider <dir>', 'qlib data directory (default: qtask data synth into WORK/data)')
    .option('--work-dir <dir>', 'state, mlruns and synthetic data (default: a new temp dir; pass one to run the steps separately)')
    .option('--step <n>', 'trading days per rolling window', positive, 40)
    .option('--begin <day>', 'first online day (default: 126 trading days before the end of the data)')
    .option('--trainer <name>', `${TRAINERS.join(', ')}`, (v: string) => {
      if (!(TRAINERS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--trainer must be one of ${TRAINERS.join(', ')}`);
      return v;
    }, 'DelayTrainerRM')
    .option('--json', 'print the final status as JSON');

const act = (body: (ex: Example) => Promise<unknown>) => async (o: Opts) => {
  const ex = new Example(o);
  out(`work dir ${ex.work}`);
  await body(ex);
  if (o.json) out(JSON.stringify(ex.load().status()));
};

common(program.command('first_run')).action(act((ex) => stage('first_run', () => ex.firstRun())));
common(program.command('routine').option('--date <day>', 'routine day (default: the last calendar day)')).action(act((ex) => stage('routine', () => ex.routine(ex.o.date))));
common(program.command('add_strategy')).action(act((ex) => stage('add_strategy', () => ex.addStrategy())));
common(program.command('status')).action(act(async (ex) => ex.printStatus(ex.load())));
common(program.command('worker')).action(act((ex) => stage('worker', () => ex.worker())));
common(program.command('main', { isDefault: true })).action(
  act(async (ex) => {
    await stage('first_run', () => ex.firstRun());
    const cal = ex.calendar();
    const b = ex.beginIndex();
    // A few "days" of qlib's daily cron: each routine runs in a manager reloaded from its saved state.
    for (const i of [b + 20, b + 60, cal.length - 1]) await stage(`routine ${cal[i]}`, () => ex.routine(cal[i]));
    await stage('routine again (same day)', () => ex.routine(cal[cal.length - 1]));
    await stage('add_strategy LinearRidge', () => ex.addStrategy());
  }),
);

await program.parseAsync(process.argv);
