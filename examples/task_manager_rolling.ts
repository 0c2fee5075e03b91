/**
 * qlib's examples/model_rolling/task_manager_rolling.py (`RollingTaskExample`) on qtask:
 *
 *   reset     remove the task pool and every recorder of the experiment
 *   generate  RollingGen over the data's calendar → print the tasks (qlib's task_generating)
 *   train     store the tasks in the pool (known ones are not re-added) and train them with
 *             `--workers` `qtask worker` processes (qlib's TrainerRM + extra `worker()` processes)
 *   collect   RecorderCollector keyed by (model class, test segment), filtered to `--model`, with
 *             RollingGroup → one merged prediction per model, written to WORK/rolling_pred.csv
 *   worker    run one worker in this process's foreground (qlib's `worker()`)
 *   main      reset, generate, train, collect (the default)
 *
 * Where things live: `--work-dir` (default: a new temp dir) holds the SQLite pool (tasks.db), the
 * mlruns and, without `--provider`, a synthetic market (`qtask data synth`) in WORK/data.
 * The template (LinearModel on Alpha158, SignalRecord + SigAnaRecord) is placed on the data's calendar:
 * train = the first `--train-days` trading days, valid = the next `--valid-days`, test = the rest.
 *
 *   node --import tsx examples/task_manager_rolling.ts main --provider ~/data/sp500 --workers 2
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { waitForPool } from '../src/cli/commands/wait.ts';
import { formatTable, statRows } from '../src/cli/output.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { QtaskError } from '../src/errors.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { taskGenerator } from '../src/generate/taskGen.ts';
import { getStore, panelToCsv } from '../src/recorder/index.ts';
import { openStore } from '../src/store/url.ts';
import { loadTaskDefsFile } from '../src/task/definition.ts';
import type { JsonObject, TaskDef } from '../src/task/types.ts';
import { collectRolling } from './lib/loop.ts';
import { chooseProvider } from './lib/provider.ts';
import { fmt, out, segmentsOf, stage, taskWindowsTable } from './lib/report.ts';
import { REPO, startTrainWorker, trainTaskFnSpec } from './lib/workers.ts';

interface Options {
  workDir?: string;
  provider?: string;
  store?: string;
  pool: string;
  experiment: string;
  template: string;
  step: string;
  rtype: 'expanding' | 'sliding';
  trainDays: number;
  validDays: number;
  instruments?: string;
  features: 'alpha158' | 'small';
  workers: number;
  model: string;
  json?: boolean;
}

/** Alpha158 without VWAP (imported Yahoo data has none) and with fewer rolling windows: ~50 features. */
const SMALL_FEATURES = { kbar: {}, price: { windows: [0], feature: ['OPEN', 'HIGH', 'LOW'] }, rolling: { windows: [5, 20, 60], include: ['ROC', 'MA', 'STD', 'MAX', 'LOW', 'RSV', 'CORR', 'CNTP', 'SUMP', 'VMA', 'VSTD'] } };

class Example {
  readonly workDir: string;
  readonly storeUrl: string;
  readonly mlruns: string;
  private providerDir: string | undefined;

  constructor(readonly o: Options) {
    this.workDir = resolve(o.workDir ?? mkdtempSync(join(tmpdir(), 'qtask-rolling-')));
    mkdirSync(this.workDir, { recursive: true });
    this.storeUrl = o.store ?? `sqlite:${join(this.workDir, 'tasks.db')}`;
    this.mlruns = join(this.workDir, 'mlruns');
  }

  provider(): string {
    if (this.providerDir) return this.providerDir;
    const synthDir = join(this.workDir, 'data');
    if (this.o.provider === undefined && existsSync(join(synthDir, 'calendars', 'day.txt'))) return (this.providerDir = synthDir);
    const p = chooseProvider(this.o.provider, this.workDir);
    if (p.synth) out(`   qtask data synth ${p.dir}: ${p.synth.instruments} instruments × ${p.synth.days} days`);
    return (this.providerDir = p.dir);
  }

  /** qlib's reset: the pool and the experiment's recorders go. */
  async reset(): Promise<void> {
    const store = await openStore(this.storeUrl);
    try {
      const removed = await store.remove(this.o.pool, {});
      out(`   removed ${removed} tasks from pool "${this.o.pool}"`);
    } finally {
      await store.close();
    }
    const exps = getStore({ uri: this.mlruns });
    if (exps.listExperiments().experiments.some((e) => e.name === this.o.experiment)) {
      const { recorders } = exps.listRecorders({ experimentName: this.o.experiment });
      for (const r of recorders) exps.deleteRecorder(r.id, { experimentName: this.o.experiment });
      out(`   deleted ${recorders.length} recorders of experiment "${this.o.experiment}"`);
    }
  }

  /** The template placed on the data's calendar, with the instrument and feature choices. */
  template(cal: readonly string[]): TaskDef {
    const [t] = loadTaskDefsFile(resolve(REPO, this.o.template));
    const task = structuredClone(t!) as JsonObject;
    const { trainDays, validDays } = this.o;
    if (cal.length < trainDays + validDays + 2) {
      throw new QtaskError('EXAMPLE_CALENDAR', `the data has ${cal.length} trading days, fewer than --train-days + --valid-days + 2`, { path: '--train-days', hint: 'use smaller --train-days/--valid-days or more data' });
    }
    const seg = segmentsOf(task) as unknown as Record<string, [string, string]>;
    seg.train = [cal[0]!, cal[trainDays - 1]!];
    seg.valid = [cal[trainDays]!, cal[trainDays + validDays - 1]!];
    seg.test = [cal[trainDays + validDays]!, cal[cal.length - 1]!];
    const hk = (((task.dataset as JsonObject).kwargs as JsonObject).handler as JsonObject).kwargs as JsonObject;
    hk.start_time = cal[0]!;
    hk.end_time = cal[cal.length - 1]!;
    hk.fit_start_time = seg.train[0];
    hk.fit_end_time = seg.train[1];
    if (this.o.instruments !== undefined) hk.instruments = this.o.instruments.split(',').map((s) => s.trim()).filter(Boolean);
    if (this.o.features === 'small') hk.feature_config = SMALL_FEATURES;
    return task;
  }

  /** qlib's task_generating. */
  generate(): TaskDef[] {
    const cal = new LocalProvider(this.provider()).calendarDays();
    const step = /^\d+$/.test(this.o.step) ? Number(this.o.step) : this.o.step;
    const gen = new RollingGen({ calendar: Calendar.fromDays(cal), step, rtype: this.o.rtype });
    const tasks = taskGenerator(this.template(cal), gen);
    out(`   RollingGen(step=${JSON.stringify(step)}, rtype=${this.o.rtype}) → ${tasks.length} tasks`);
    out(taskWindowsTable(tasks));
    return tasks;
  }

  /** qlib's task_training with TrainerRM and `--workers` extra worker processes. */
  async train(tasks: TaskDef[]): Promise<{ byWorker: Record<string, number>; exitCodes: (number | null)[] }> {
    const store = await openStore(this.storeUrl);
    try {
      const { created } = await store.createTasks(this.o.pool, tasks);
      out(`   pool "${this.o.pool}" in ${this.storeUrl}: ${tasks.length} tasks, ${created} new`);
      const taskFn = await trainTaskFnSpec();
      out(`   ${this.o.workers} × qtask worker --task-fn ${taskFn} → experiment "${this.o.experiment}"`);
      const provider = this.provider();
      const workers = Array.from({ length: this.o.workers }, (_, i) =>
        startTrainWorker(`rolling-w${i + 1}`, { storeUrl: this.storeUrl, pool: this.o.pool, taskFn, provider, experiment: this.o.experiment, mlruns: this.mlruns }),
      );
      const counts = await waitForPool(store, this.o.pool, { pollMs: 250 });
      const finished = await Promise.all(workers);
      out(formatTable(['status', 'tasks'], statRows(counts)).replace(/^/gm, '   '));
      const byWorker: Record<string, number> = {};
      for (const t of await store.find(this.o.pool, { status: 'done' })) byWorker[t.worker ?? '?'] = (byWorker[t.worker ?? '?'] ?? 0) + 1;
      out(`   done by: ${Object.entries(byWorker).map(([w, n]) => `${w} ${n}`).join(', ')}`);
      const bad = finished.filter((w) => w.code !== 0);
      if (bad.length || (counts.failed ?? 0) > 0) {
        for (const w of finished) for (const l of w.lines.slice(-5)) out(`   [${w.name}] ${l}`);
        throw new QtaskError('EXAMPLE_TRAIN', `${counts.failed ?? 0} tasks failed; worker exit codes ${finished.map((w) => w.code).join(', ')}`, { path: this.o.pool, hint: 'see the worker lines above; qtask --store … --pool … query \'{"status": "failed"}\'' });
      }
      return { byWorker, exitCodes: finished.map((w) => w.code) };
    } finally {
      await store.close();
    }
  }

  /** qlib's task_collecting: RollingGroup per model, only `--model`. */
  collect(): { file: string; summary: JsonObject } {
    const c = collectRolling({
      experiment: this.o.experiment,
      mlruns: this.mlruns,
      recFilterFunc: (rec) => ((rec.loadObject('task') as JsonObject).model as JsonObject).class === this.o.model,
    });
    out(formatTable(['window (test)', 'rows', 'IC', 'Rank IC'], c.windows.map((w) => [`${w.test[0]}..${w.test[1] ?? '(open)'}`, w.rows, fmt(w.ic.IC), fmt(w.ic['Rank IC'])])).replace(/^/gm, '   '));
    const file = join(this.workDir, 'rolling_pred.csv');
    writeFileSync(file, panelToCsv(c.merged));
    out(`   {pred: {${JSON.stringify(c.key)}: ${c.merged.dates.length} rows, ${c.dates} dates ${c.firstDate} … ${c.lastDate}}}  IC ${fmt(c.ic.IC)}, Rank IC ${fmt(c.ic['Rank IC'])} → ${file}`);
    const summary: JsonObject = {
      key: c.key as JsonObject[keyof JsonObject],
      rows: c.merged.dates.length,
      dates: c.dates,
      firstDate: c.firstDate,
      lastDate: c.lastDate,
      IC: c.ic.IC,
      RankIC: c.ic['Rank IC'],
      windows: c.windows.map((w) => ({ test: w.test, rows: w.rows, IC: w.ic.IC })),
    };
    return { file, summary };
  }
}

const intOpt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

function withOptions(cmd: Command): Command {
  return cmd
    .option('--work-dir <dir>', 'pool, mlruns and synthetic data go here (default: a new temp dir)')
    .option('--provider <dir>', 'qlib data directory (default: qtask data synth into WORK/data)')
    .option('--store <url>', 'task store (default: sqlite:WORK/tasks.db)')
    .option('--pool <name>', 'task pool', 'rolling_task')
    .option('--experiment <name>', 'experiment the recorders go to', 'rolling_exp')
    .option('--template <file>', 'task template (YAML)', 'examples/templates/rolling_alpha158_synth.yaml')
    .option('--step <n|unit>', 'RollingGen step: trading days or 1W/1M/1Q/1Y', '1Q')
    .option('--rtype <type>', 'expanding or sliding (qlib ROLL_SD)', 'sliding')
    .option('--train-days <n>', 'trading days in the first train window', intOpt('--train-days'), 252)
    .option('--valid-days <n>', 'trading days in the valid window', intOpt('--valid-days'), 63)
    .option('--instruments <list>', 'comma list of symbols for the handler (default: the template\'s, all)')
    .option('--features <set>', 'alpha158 (all 158) or small (~50, no VWAP)', 'alpha158')
    .option('--workers <n>', 'worker processes for train', intOpt('--workers'), 2)
    .option('--model <class>', 'model class collect keeps (qlib\'s my_filter)', 'LinearModel')
    .option('--json', 'print a JSON summary line at the end');
}

function parseOptions(raw: Record<string, unknown>): Options {
  const o = raw as unknown as Options;
  if (o.rtype !== 'expanding' && o.rtype !== 'sliding') throw new QtaskError('EXAMPLE_OPTION', `--rtype must be expanding or sliding, got ${JSON.stringify(o.rtype)}`, { path: '--rtype', hint: 'sliding is qlib\'s ROLL_SD' });
  if (o.features !== 'alpha158' && o.features !== 'small') throw new QtaskError('EXAMPLE_OPTION', `--features must be alpha158 or small, got ${JSON.stringify(o.features)}`, { path: '--features', hint: 'small drops VWAP (absent from imported Yahoo data)' });
  return o;
}

const program = new Command('task_manager_rolling').description("qlib's task_manager_rolling example: generate, store, train with workers, collect with RollingGroup");
program.showHelpAfterError();

const run = (name: string, body: (ex: Example) => Promise<JsonObject | void>) => async (opts: Record<string, unknown>) => {
  const ex = new Example(parseOptions(opts));
  out(`${name}: work dir ${ex.workDir}`);
  const summary = await body(ex);
  if (ex.o.json && summary) out(JSON.stringify(summary));
};

withOptions(program.command('reset').description('remove the pool and the experiment\'s recorders')).action(run('reset', async (ex) => void (await stage('reset', () => ex.reset()))));
withOptions(program.command('generate').description('print the rolling tasks')).action(run('generate', async (ex) => ({ tasks: stage('generate', () => ex.generate()).length })));
withOptions(program.command('train').description('store the tasks and train them with worker processes')).action(
  run('train', async (ex) => {
    const tasks = stage('generate', () => ex.generate());
    return { tasks: tasks.length, ...(await stage('train', () => ex.train(tasks))) };
  }),
);
withOptions(program.command('collect').description('merge the windows with RollingGroup')).action(run('collect', async (ex) => stage('collect', () => ex.collect()).summary));
withOptions(program.command('worker').description('one worker in the foreground')).action(
  run('worker', async (ex) => {
    const taskFn = await trainTaskFnSpec();
    const w = await startTrainWorker('rolling-worker', { storeUrl: ex.storeUrl, pool: ex.o.pool, taskFn, provider: ex.provider(), experiment: ex.o.experiment, mlruns: ex.mlruns, onLine: (_n, l) => out(l) });
    process.exitCode = w.code ?? 1;
  }),
);
withOptions(program.command('main', { isDefault: true }).description('reset, generate, train, collect')).action(
  run('main', async (ex) => {
    const started = Date.now();
    await stage('reset', () => ex.reset());
    const tasks = stage('generate', () => ex.generate());
    const trained = await stage('train', () => ex.train(tasks));
    const { file, summary } = stage('collect', () => ex.collect());
    return { workDir: ex.workDir, mlruns: ex.mlruns, experiment: ex.o.experiment, tasks: tasks.length, ...trained, merged: file, collect: summary, seconds: (Date.now() - started) / 1000 };
  }),
);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof QtaskError) {
    process.stderr.write(`error [${e.code}] ${e.message}${e.path ? ` (at ${e.path})` : ''}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`);
    process.exitCode = 2;
  } else throw e;
}
