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
import { statSync } from 'node:fs';
import { RecorderCollector } from '../collect/collector.ts';
import { loadArtifact } from '../collect/fastCsv.ts';
import { KeyedDict, isKeyedDict } from '../collect/keyed.ts';
import { filterRows } from '../data/processor/panel.ts';
import { isPanel } from '../recorder/artifacts.ts';
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
  /**
   * Keep only the predictions dated in (after, to] (see `keepDates`) before the processList, so a
   * routine ensembles only the days it appends. Default: every date.
   */
  dates?: { after: string | null; to: string };
}

/**
 * A processList entry: each prediction keeps its rows dated in (after, to] and the rows of its first
 * date. RollingEnsemble orders windows by first date and, per date, takes the latest-starting window
 * with rows on it, so the rolled result on (after, to] is exactly the untrimmed one.
 */
export function keepDates(after: string | null, to: string): (value: unknown) => unknown {
  return (value: unknown) => {
    if (!isKeyedDict(value)) return value;
    return new KeyedDict(
      value.entries().map(([k, p]) => {
        if (!isPanel(p) || p.dates.length === 0) return [k, p] as const;
        let first = p.dates[0]!;
        for (const d of p.dates) if (d < first) first = d;
        const keep = new Uint8Array(p.dates.length);
        p.dates.forEach((d, r) => (keep[r] = d === first || ((after === null || d > after) && d <= to) ? 1 : 0));
        return [k, filterRows(p, keep)] as const;
      }),
    );
  };
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
  private readonly artifactCache = new Map<string, { stamp: string; value: unknown }>();

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
   * The collector's artifact reader, cached per file (inode, mtime and size): a routine re-collects
   * the same finished predictions every day, and only the ones a PredUpdater rewrote change.
   */
  readonly loadArtifact = (rec: Recorder, name: string): unknown => {
    let st;
    try {
      st = statSync(rec.artifactLocalPath(`${name}.csv`));
    } catch {
      return loadArtifact(rec, name); // not a CSV artifact (or missing: the reader raises ARTIFACT_NOT_FOUND)
    }
    const id = `${rec.id}/${name}`;
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    const hit = this.artifactCache.get(id);
    if (hit && hit.stamp === stamp) return hit.value;
    const value = loadArtifact(rec, name);
    this.artifactCache.set(id, { stamp, value });
    return value;
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
      processList: [...(options.dates ? [keepDates(options.dates.after, options.dates.to)] : []), ...[options.processList ?? [new RollingGroup()]].flat()],
      loadArtifact: this.loadArtifact,
      recKeyFunc: options.recKeyFunc ?? this.recKey,
      ...(options.recFilterFunc === undefined ? {} : { recFilterFunc: options.recFilterFunc }),
      ...(options.artifactsKey === undefined ? {} : { artifactsKey: options.artifactsKey }),
    });
  }
}
