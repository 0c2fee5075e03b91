/**
 * The `qtask online` YAML file:
 *
 * ```yaml
 * provider_uri: ./data            # required; relative paths are relative to this file
 * mlruns: ./mlruns                # default: ./mlruns next to this file
 * state_dir: ./online_state       # default: ./online_state next to this file
 * begin_time: 2019-01-02          # default: the calendar's last day
 * trainer: TrainerR               # TrainerR (default), DelayTrainerR, TrainerRM or DelayTrainerRM
 * task_pool: online_lin           # *RM only; default: each strategy's experiment name (qlib)
 * task_store: sqlite:./pool.db    # *RM only; default sqlite:<state_dir>/task_pool.db
 * skip_run_task: false            # *RM only; true: only enqueue, worker processes train
 * strategies:
 *   - name: linear                # required, unique; also the experiment name unless experiment_name is set
 *     template: ./task.yaml       # a file (one task or a list) or an inline task
 *     rolling_step: 60            # default 40 (trading days, or 1M / 1Q …)
 *     rtype: sliding              # default expanding
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Calendar } from '../generate/calendar.ts';
import { RollingGen } from '../generate/rollingGen.ts';
import { loadTaskDefsFile } from '../task/load.ts';
import type { TaskDef } from '../task/types.ts';
import { OnlineError } from './errors.ts';
import { OnlineManager } from './manager.ts';
import { RollingStrategy } from './strategy.ts';
import { PoolTrainer } from './poolTrainer.ts';
import { LocalTrainer } from './trainer.ts';
import type { OnlineTrainer } from './trainer.ts';

export interface OnlineConfig {
  providerUri: string;
  mlruns: string;
  stateDir: string;
  beginTime?: string;
  trainer: TrainerName;
  /** Pool name for the *RM trainers; undefined: each strategy's experiment name. */
  taskPool?: string;
  /** Task store URL for the *RM trainers. */
  taskStore: string;
  skipRunTask: boolean;
  strategies: { name: string; templates: TaskDef[]; step: number | string; rtype: 'expanding' | 'sliding'; experimentName?: string }[];
}

export type TrainerName = 'TrainerR' | 'DelayTrainerR' | 'TrainerRM' | 'DelayTrainerRM';
const TRAINERS: readonly TrainerName[] = ['TrainerR', 'DelayTrainerR', 'TrainerRM', 'DelayTrainerRM'];
const KNOWN = new Set(['provider_uri', 'mlruns', 'state_dir', 'begin_time', 'trainer', 'strategies', 'task_pool', 'task_store', 'skip_run_task']);
const KNOWN_STRATEGY = new Set(['name', 'template', 'rolling_step', 'rtype', 'experiment_name']);

function fail(path: string, message: string, hint: string): never {
  throw new OnlineError('ONLINE_CONFIG', message, { path, hint });
}

export function loadOnlineConfig(file: string): OnlineConfig {
  if (!existsSync(file)) throw new OnlineError('ONLINE_CONFIG', `config file ${file} does not exist`, { path: file, hint: 'pass --config online.yaml (see docs/online.md)' });
  const base = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) ? p : join(base, p));
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new OnlineError('ONLINE_CONFIG', `${file} is not valid YAML`, { path: file, hint: String((e as Error).message).split('\n')[0] ?? '', cause: e });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail(file, 'the config is not a mapping', 'see docs/online.md');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!KNOWN.has(k)) fail(k, `unknown key ${k}`, `keys: ${[...KNOWN].join(', ')}`);
  if (typeof d['provider_uri'] !== 'string') fail('provider_uri', 'provider_uri is required', 'the directory of an imported data set (qtask data import)');
  const trainer = (d['trainer'] ?? 'TrainerR') as TrainerName;
  if (!TRAINERS.includes(trainer)) fail('trainer', `unknown trainer ${JSON.stringify(trainer)}`, `use ${TRAINERS.join(', ')}`);
  const pooled = trainer.endsWith('RM');
  for (const k of ['task_pool', 'task_store', 'skip_run_task']) {
    if (d[k] !== undefined && !pooled) fail(k, `${k} is only for the task-pool trainers`, 'set trainer: TrainerRM or DelayTrainerRM, or remove it');
  }
  const taskPool = d['task_pool'];
  if (taskPool !== undefined && (typeof taskPool !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(taskPool))) fail('task_pool', 'task_pool must be a pool name', 'letters, digits, _ . -; or leave it out to use each strategy\'s experiment name');
  const taskStore = d['task_store'];
  if (taskStore !== undefined && (typeof taskStore !== 'string' || taskStore === '')) fail('task_store', 'task_store must be a store URL', 'e.g. sqlite:./pool.db or mongodb://host/db');
  const skipRunTask = d['skip_run_task'] ?? false;
  if (typeof skipRunTask !== 'boolean') fail('skip_run_task', 'skip_run_task must be true or false', 'true: only enqueue; worker processes train');
  const beginTime = d['begin_time'] instanceof Date ? d['begin_time'].toISOString().slice(0, 10) : d['begin_time'];
  if (beginTime !== undefined && typeof beginTime !== 'string') fail('begin_time', 'begin_time must be a date', 'YYYY-MM-DD');
  if (!Array.isArray(d['strategies']) || d['strategies'].length === 0) fail('strategies', 'strategies must be a non-empty list', 'e.g. - {name: linear, template: task.yaml, rolling_step: 60}');
  const names = new Set<string>();
  const strategies = (d['strategies'] as unknown[]).map((raw, i) => {
    const p = `strategies[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(p, 'a strategy is a mapping', 'name, template, rolling_step, rtype');
    const s = raw as Record<string, unknown>;
    for (const k of Object.keys(s)) if (!KNOWN_STRATEGY.has(k)) fail(`${p}.${k}`, `unknown key ${k}`, `keys: ${[...KNOWN_STRATEGY].join(', ')}`);
    const name = s['name'];
    if (typeof name !== 'string' || name === '' || /[\\/]/.test(name)) fail(`${p}.name`, 'a strategy needs a name', 'a non-empty name without slashes');
    if (names.has(name)) fail(`${p}.name`, `two strategies are named ${JSON.stringify(name)}`, 'names must be unique');
    names.add(name);
    const t = s['template'];
    let templates: TaskDef[];
    if (typeof t === 'string') templates = loadTaskDefsFile(rel(t));
    else if (t !== null && typeof t === 'object') templates = Array.isArray(t) ? (t as TaskDef[]) : [t as TaskDef];
    else fail(`${p}.template`, 'template is required', 'a task file path or an inline task');
    const step = s['rolling_step'] ?? 40;
    if (typeof step !== 'number' && typeof step !== 'string') fail(`${p}.rolling_step`, 'rolling_step must be a number of trading days or a unit like 1M', 'e.g. 60');
    const rtype = s['rtype'] ?? 'expanding';
    if (rtype !== 'expanding' && rtype !== 'sliding') fail(`${p}.rtype`, `unknown rtype ${JSON.stringify(rtype)}`, 'expanding or sliding');
    const experimentName = s['experiment_name'];
    if (experimentName !== undefined && typeof experimentName !== 'string') fail(`${p}.experiment_name`, 'experiment_name must be a string', 'or leave it out');
    return { name, templates, step, rtype: rtype as 'expanding' | 'sliding', ...(experimentName === undefined ? {} : { experimentName }) };
  });
  if (typeof taskPool === 'string' && strategies.length > 1) {
    // a qtask:taskTrain worker trains into ONE experiment (QTASK_EXPERIMENT), so one pool per strategy
    fail('task_pool', `one task_pool for ${strategies.length} strategies`, 'leave task_pool out: each strategy then has its own pool named after its experiment');
  }
  const stateDir = rel(typeof d['state_dir'] === 'string' ? d['state_dir'] : 'online_state');
  return {
    providerUri: rel(d['provider_uri'] as string),
    mlruns: rel(typeof d['mlruns'] === 'string' ? d['mlruns'] : 'mlruns'),
    stateDir,
    ...(beginTime === undefined ? {} : { beginTime }),
    trainer,
    ...(typeof taskPool === 'string' ? { taskPool } : {}),
    taskStore: typeof taskStore === 'string' ? storeUrl(taskStore, rel) : defaultTaskStore(stateDir),
    skipRunTask,
    strategies,
  };
}

export function buildStrategies(cfg: OnlineConfig): RollingStrategy[] {
  const calFile = join(cfg.providerUri, 'calendars', 'day.txt');
  return cfg.strategies.map(
    (s) =>
      new RollingStrategy({
        name: s.name,
        template: s.templates,
        rollingGen: new RollingGen({ calendar: () => Calendar.fromFile(calFile), step: s.step, rtype: s.rtype }),
        mlruns: cfg.mlruns,
        ...(s.experimentName === undefined ? {} : { experimentName: s.experimentName }),
      }),
  );
}

function defaultTaskStore(stateDir: string): string {
  return `sqlite:${join(stateDir, 'task_pool.db')}`;
}

/** A relative `sqlite:` path is relative to the config file, like the other paths. */
function storeUrl(url: string, rel: (p: string) => string): string {
  const m = /^sqlite:(?!\/\/)(.+)$/.exec(url);
  return m ? `sqlite:${rel(m[1]!)}` : url;
}

export function buildTrainer(cfg: OnlineConfig): OnlineTrainer {
  const delay = cfg.trainer.startsWith('Delay');
  if (cfg.trainer.endsWith('RM')) {
    return new PoolTrainer({
      store: cfg.taskStore,
      providerUri: cfg.providerUri,
      mlruns: cfg.mlruns,
      delay,
      skipRunTask: cfg.skipRunTask,
      createStoreDir: cfg.taskStore === defaultTaskStore(cfg.stateDir),
      ...(cfg.taskPool === undefined ? {} : { taskPool: cfg.taskPool }),
    });
  }
  return new LocalTrainer({ providerUri: cfg.providerUri, mlruns: cfg.mlruns, delay });
}

/** The saved manager, or a new one when the state directory has none (`create`). */
export function openManager(cfg: OnlineConfig, create: boolean): OnlineManager {
  if (existsSync(join(cfg.stateDir, 'state.json'))) return OnlineManager.load(cfg.stateDir, buildStrategies(cfg), buildTrainer(cfg), cfg.providerUri);
  if (!create) throw new OnlineError('ONLINE_STATE', `no online state in ${cfg.stateDir}`, { path: 'state_dir', hint: 'run `qtask online init --config …` first' });
  return new OnlineManager({ strategies: buildStrategies(cfg), trainer: buildTrainer(cfg), providerUri: cfg.providerUri, stateDir: cfg.stateDir, ...(cfg.beginTime === undefined ? {} : { beginTime: cfg.beginTime }) });
}
