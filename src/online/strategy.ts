/**
 * qlib's `RollingStrategy` (workflow/online/strategy.py): one experiment of rolling models whose
 * newest window is online. `prepareTasks(curTime)` rolls the latest online task forward with
 * `genFollowingTasks` up to `curTime` (inclusive, as qlib: a model is trained on its first test day).
 */
import { statSync } from 'node:fs';
import type { RollingGen } from '../generate/rollingGen.ts';
import { taskGenerator } from '../generate/taskGen.ts';
import { getModel, getSegment } from '../task/definition.ts';
import { taskHash } from '../task/canonical.ts';
import type { TaskDef } from '../task/types.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { OnlineError } from './errors.ts';
import { OnlineToolR } from './onlineTool.ts';
import { asPanel, byDate } from './panels.ts';

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

/** Per ensemble group (model class + model kwargs): date → instrument → score. */
export type RolledScores = Map<string, Map<string, Map<string, number>>>;

interface LoadedPred {
  stamp: string;
  group: string;
  firstDate: string;
  scores: Map<string, Map<string, number>>;
}

export class RollingStrategy {
  readonly name: string;
  readonly experimentName: string;
  readonly templates: TaskDef[];
  readonly rollingGen: RollingGen;
  readonly mlruns: string | undefined;
  private toolInstance: OnlineToolR | undefined;
  private providerUri: string | undefined;
  private readonly predCache = new Map<string, LoadedPred>();

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
   * qlib's `get_collector()()` with RollingGroup → RollingEnsemble, over ONLY the given recorders of
   * this strategy: per group, for each (date, instrument) the window that starts latest wins.
   * Groups are model class + model kwargs (qlib keys by class only and two templates collide, W38).
   */
  collect(recorderIds: readonly string[]): RolledScores {
    const loaded = recorderIds.map((id) => this.loadPred(id)).filter((p): p is LoadedPred => p !== null);
    // stable sort by first date: on ties the later-listed recorder wins, as pandas keep="last"
    loaded.sort((a, b) => a.firstDate.localeCompare(b.firstDate));
    const out: RolledScores = new Map();
    for (const p of loaded) {
      let g = out.get(p.group);
      if (!g) out.set(p.group, (g = new Map()));
      for (const [d, m] of p.scores) {
        let row = g.get(d);
        if (!row) g.set(d, (row = new Map()));
        for (const [i, v] of m) row.set(i, v);
      }
    }
    return out;
  }

  private loadPred(id: string): LoadedPred | null {
    const rec = this.tool.recorder(id);
    let stamp: string;
    try {
      const st = statSync(rec.artifactLocalPath('pred.csv'));
      stamp = `${st.mtimeMs}:${st.size}`;
    } catch {
      return null; // no predictions yet (a delay trainer's begun model)
    }
    const hit = this.predCache.get(id);
    if (hit && hit.stamp === stamp) return hit;
    const pred = asPanel(rec.loadObject('pred'), `${id}/pred`);
    const task = rec.loadObject('task') as TaskDef;
    const model = getModel(task) ?? {};
    const group = JSON.stringify([model['class'] ?? null, model['kwargs'] ?? null]);
    let firstDate = '';
    for (const d of pred.dates) if (firstDate === '' || d < firstDate) firstDate = d;
    const loaded: LoadedPred = { stamp, group, firstDate, scores: byDate(pred) };
    this.predCache.set(id, loaded);
    return loaded;
  }
}
