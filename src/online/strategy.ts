/**
 * qlib's `RollingStrategy` (workflow/online/strategy.py): one experiment of rolling models whose
 * newest window is online. `prepareTasks(curTime)` rolls the latest online task forward with
 * `genFollowingTasks` up to `curTime` (inclusive, as qlib: a model is trained on its first test day).
 */
import type { RollingGen } from '../generate/rollingGen.ts';
import { taskGenerator } from '../generate/taskGen.ts';
import { getModel, getSegment } from '../task/definition.ts';
import { taskHash } from '../task/canonical.ts';
import type { TaskDef } from '../task/types.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { OnlineError } from './errors.ts';
import { OnlineToolR } from './onlineTool.ts';
import { RecorderCollector } from '../collect/collector.ts';
import type { Processor, RecFilterFunc, RecKeyFunc } from '../collect/collector.ts';
import { RollingGroup } from '../collect/group.ts';
import type { Key } from '../collect/keyed.ts';

export interface RollingStrategyOptions {
  /** Strategy name (qlib's name_id); also the experiment name unless `experimentName` is given. Required. */
  name: string;
  /** One template or several. Required. */
  template: TaskDef | TaskDef[];
  rollingGen: RollingGen;
  /** Experiment of this strategy's recorders. Default: `name`. */
  experimentName?: string;
  /** mlruns directory. Default: the recorder default. */
  mlruns?: string;
  /** Where the online-set document lives. Default: set by the OnlineManager (its state directory). */
  onlineDir?: string;
  /** Data directory, for prediction updates. Default: set by the OnlineManager. */
  providerUri?: string;
}

export interface StrategyCollectorOptions {
  /** Only these recorders. Default: every FINISHED recorder of the experiment (qlib). */
  recorderIds?: readonly string[];
  /** Default `[new RollingGroup()]`. */
  processList?: Processor | Processor[];
  /** Default: `RollingStrategy.recKey` (model class, model kwargs, test segment). */
  recKeyFunc?: RecKeyFunc;
  /** Default: none. */
  recFilterFunc?: RecFilterFunc;
  /** Default: `pred`. */
  artifactsKey?: string | string[];
}

export class RollingStrategy {
  readonly name: string;
  readonly experimentName: string;
  readonly templates: TaskDef[];
  readonly rollingGen: RollingGen;
  readonly mlruns: string | undefined;
  private toolInstance: OnlineToolR | undefined;
  private providerUri: string | undefined;
  private readonly keyCache = new Map<string, Key>();

  constructor(options: RollingStrategyOptions) {
    if (typeof options.name !== 'string' || options.name === '' || /[\\/]/.test(options.name)) {
      throw new OnlineError('ONLINE_CONFIG', `bad strategy name ${JSON.stringify(options.name)}`, { path: 'name', hint: 'a non-empty name without slashes' });
    }
    const templates = Array.isArray(options.template) ? options.template : [options.template];
    if (templates.length === 0) throw new OnlineError('ONLINE_CONFIG', `strategy ${options.name} has no template`, { path: `strategies.${options.name}.template`, hint: 'give at least one task template' });
    if (!options.rollingGen || typeof options.rollingGen.genFollowingTasks !== 'function') {
      throw new OnlineError('ONLINE_CONFIG', `strategy ${options.name} needs a RollingGen`, { path: `strategies.${options.name}.rollingGen`, hint: 'new RollingGen({calendar, step})' });
    }
    this.name = options.name;
    this.experimentName = options.experimentName ?? options.name;
    this.templates = templates;
    this.rollingGen = options.rollingGen;
    this.mlruns = options.mlruns;
    this.providerUri = options.providerUri;
    if (options.onlineDir !== undefined) this.bind(options.onlineDir, options.providerUri);
  }

  /** Attaches the online-set directory (and data directory); the manager calls this. */
  bind(onlineDir: string, providerUri?: string): this {
    if (providerUri !== undefined) this.providerUri = providerUri;
    if (!this.toolInstance || this.toolInstance.file.indexOf(onlineDir) !== 0) {
      this.toolInstance = new OnlineToolR({ experimentName: this.experimentName, dir: onlineDir, ...(this.mlruns === undefined ? {} : { mlruns: this.mlruns }), ...(this.providerUri === undefined ? {} : { providerUri: this.providerUri }) });
    }
    return this;
  }

  get tool(): OnlineToolR {
    if (!this.toolInstance) throw new OnlineError('ONLINE_CONFIG', `strategy ${this.name} has no online directory`, { path: 'onlineDir', hint: 'pass onlineDir, or add the strategy to an OnlineManager' });
    return this.toolInstance;
  }

  /** qlib's `first_tasks`: every window of every template up to the template's test end. */
  firstTasks(): TaskDef[] {
    return taskGenerator(this.templates, this.rollingGen);
  }

  /**
   * qlib's `prepare_tasks`: the tasks following the latest online task(s) whose test start is at or
   * before `curTime`. No online models gives `[]` (qlib warns).
   */
  prepareTasks(curTime: string): TaskDef[] {
    const latest = this.listLatest(this.tool.onlineModels());
    const out: TaskDef[] = [];
    const seen = new Set<string>();
    for (const task of latest) {
      for (const t of this.rollingGen.genFollowingTasks(task, curTime)) {
        const h = taskHash(t);
        if (!seen.has(h)) {
          seen.add(h);
          out.push(t);
        }
      }
    }
    return out;
  }

  /**
   * qlib's `prepare_online_models`: no new models keeps the online set; new models replace it
   * (one atomic write). Returns the online recorder ids.
   */
  prepareOnlineModels(recorderIds: string[]): string[] {
    if (recorderIds.length === 0) return this.tool.readSet().recorderIds;
    this.tool.resetOnline(recorderIds);
    return recorderIds;
  }

  /**
   * The tasks of the recorders with the latest test segment (start, then end; an open end is
   * latest). qlib's `_list_latest` without its TypeError on mixed null ends (W38); one task load each.
   */
  listLatest(recs: Recorder[]): TaskDef[] {
    const tasks = recs.map((r) => r.loadObject('task') as TaskDef);
    const segOf = (t: TaskDef) => getSegment(t, this.rollingGen.testKey) ?? [null, null];
    const cmp = (a: readonly (string | null)[], b: readonly (string | null)[]): number => {
      const s = (a[0] ?? '').localeCompare(b[0] ?? '');
      if (s !== 0) return s;
      if (a[1] === b[1]) return 0;
      if (a[1] === null) return 1;
      if (b[1] === null) return -1;
      return (a[1] as string).localeCompare(b[1] as string);
    };
    let best: readonly (string | null)[] | null = null;
    for (const t of tasks) if (best === null || cmp(segOf(t), best) > 0) best = segOf(t);
    return tasks.filter((t) => best !== null && cmp(segOf(t), best) === 0);
  }

  /**
   * The key of a recorder's predictions: `[model class, model kwargs (JSON), test segment]`. RollingGroup
   * groups by everything but the test segment, so two templates with one model class but different
   * kwargs stay apart (qlib keys by class only and they collide, W38). Memoised: a `task` never changes.
   */
  readonly recKey: RecKeyFunc = (rec: Recorder): Key => {
    const hit = this.keyCache.get(rec.id);
    if (hit !== undefined) return hit;
    const task = rec.loadObject('task') as TaskDef;
    const model = getModel(task) ?? {};
    const cls = typeof model['class'] === 'string' ? model['class'] : null;
    const test = getSegment(task, this.rollingGen.testKey) ?? null;
    const key: Key = [cls, JSON.stringify(model['kwargs'] ?? null), test === null ? null : [test[0] ?? null, test[1] ?? null]];
    this.keyCache.set(rec.id, key);
    return key;
  };

  /**
   * qlib's `get_collector`: a RecorderCollector over this strategy's experiment with
   * `processList = [RollingGroup()]` (RollingEnsemble per model group) and `recKey` as the key.
   * `recorderIds` restricts it to those recorders (the manager passes the ever-online ones, W31);
   * without it every FINISHED recorder of the experiment is collected, as in qlib.
   */
  getCollector(options: StrategyCollectorOptions = {}): RecorderCollector {
    const ids = options.recorderIds;
    return new RecorderCollector({
      experiment: ids === undefined ? this.experimentName : () => ids.map((id) => this.tool.recorder(id)),
      ...(this.mlruns === undefined ? {} : { store: this.mlruns }),
      processList: options.processList ?? [new RollingGroup()],
      recKeyFunc: options.recKeyFunc ?? this.recKey,
      ...(options.recFilterFunc === undefined ? {} : { recFilterFunc: options.recFilterFunc }),
      ...(options.artifactsKey === undefined ? {} : { artifactsKey: options.artifactsKey }),
    });
  }
}
