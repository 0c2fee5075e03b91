/**
 * qlib's collectors (qlib/workflow/task/collect.py): `collect()` gathers `{artifactKey: {key: value}}`,
 * then each processor of `processList` is applied, in order, to each artifact's value.
 */
import { getStore } from '../recorder/R.ts';
import { RecorderError } from '../recorder/errors.ts';
import type { Recorder, RecorderInfo } from '../recorder/recorder.ts';
import type { RunStatus } from '../recorder/runMeta.ts';
import type { ExperimentRef, ExperimentStore } from '../recorder/store.ts';
import { QtaskError } from '../errors.ts';
import { CollectError } from './errors.ts';
import { loadArtifact } from './fastCsv.ts';
import { KeyedDict, assertKey, keyId } from './keyed.ts';
import type { Key } from './keyed.ts';

/** A `processList` entry: a function, or an object with `process` (a Group). */
export type Processor = ((value: unknown) => unknown) | { process(value: unknown): unknown };

function applyProcessor(p: Processor, value: unknown, path: string): unknown {
  if (typeof p === 'function') return p(value);
  if (p !== null && typeof p === 'object' && typeof p.process === 'function') return p.process(value);
  throw new CollectError('COLLECT_PROCESSOR', `processList entry ${path} is neither a function nor has process()`, { path, hint: 'pass functions or Group instances' });
}

export interface CollectorOptions {
  /** Applied in order to each artifact's collected value. Default []. A single processor is wrapped in a list. */
  processList?: Processor | Processor[];
}

export abstract class Collector {
  readonly processList: Processor[];

  constructor(opts: CollectorOptions = {}) {
    const p = opts.processList ?? [];
    this.processList = Array.isArray(p) ? [...p] : [p];
  }

  /** Raw results: `{artifactKey: value}`. */
  abstract collect(): KeyedDict<unknown>;

  /** qlib's `Collector.process_collect`: every processor, in order, on each artifact's value. Keys are kept. */
  static processCollect(collected: KeyedDict<unknown>, processList: Processor[] = []): KeyedDict<unknown> {
    const out = new KeyedDict<unknown>();
    for (const [artifact, raw] of collected) {
      let value = raw;
      processList.forEach((p, i) => {
        value = applyProcessor(p, value, `processList[${i}]`);
      });
      out.set(artifact, value);
    }
    return out;
  }

  /** qlib's `collector()`: `processCollect(collect(), processList)`. */
  run(): KeyedDict<unknown> {
    return Collector.processCollect(this.collect(), this.processList);
  }
}

export interface MergeCollectorOptions extends CollectorOptions {
  /** `(collectorName, key) => newKey`. Default: the tuple `[collectorName, key]`, as qlib. */
  mergeFunc?: (collectorName: string, key: Key) => Key;
}

/** qlib's MergeCollector: runs each collector (collect + its own processList) and merges the results under `[name, key]`. */
export class MergeCollector extends Collector {
  readonly collectors: Record<string, Collector>;
  private readonly mergeFunc: ((collectorName: string, key: Key) => Key) | undefined;

  constructor(collectors: Record<string, Collector>, opts: MergeCollectorOptions = {}) {
    super(opts);
    this.collectors = collectors;
    this.mergeFunc = opts.mergeFunc;
  }

  collect(): KeyedDict<unknown> {
    const out = new KeyedDict<unknown>();
    for (const [name, c] of Object.entries(this.collectors)) {
      for (const [key, value] of c.run()) {
        const merged = this.mergeFunc ? this.mergeFunc(name, key) : [name, key];
        assertKey(merged, `mergeFunc(${JSON.stringify(name)}, ${keyId(key)})`);
        out.set(merged, value);
      }
    }
    return out;
  }
}

export type RecKeyFunc = (recorder: Recorder, info: RecorderInfo) => Key;
export type RecFilterFunc = (recorder: Recorder, info: RecorderInfo) => boolean;

/** `artifactsPath` key whose value is the Recorder itself (qlib's `ART_KEY_RAW`). */
export const ART_KEY_RAW = '__raw';

/**
 * The default key: `[model class, test segment]` from the recorder's `task` artifact, as the key of
 * qlib's rolling example (qlib's own default was the recorder id). RollingGroup then groups by model
 * class and RollingEnsemble merges the test windows.
 */
export function defaultRecKey(recorder: Recorder): Key {
  let task: unknown;
  try {
    task = recorder.loadObject('task');
  } catch (e) {
    throw new CollectError('REC_KEY', `recorder ${recorder.id} has no readable task artifact for the default key`, {
      path: `recorder ${recorder.id}`,
      hint: 'train through taskTrain (it saves the task), or pass recKeyFunc, e.g. (r) => r.id',
      cause: e,
    });
  }
  const t = task as { model?: { class?: unknown }; dataset?: { kwargs?: { segments?: { test?: unknown } } } } | null;
  const cls = t?.model?.class;
  const test = t?.dataset?.kwargs?.segments?.test;
  if (typeof cls !== 'string' || test === undefined) {
    throw new CollectError('REC_KEY', `recorder ${recorder.id}: its task has no ${typeof cls !== 'string' ? 'model.class' : 'dataset.kwargs.segments.test'}`, {
      path: `recorder ${recorder.id}`,
      hint: 'pass recKeyFunc for tasks that are not rolling model tasks',
    });
  }
  const key = [cls, test as Key];
  assertKey(key, `recorder ${recorder.id} key`);
  return key;
}

export interface RecorderCollectorOptions extends CollectorOptions {
  /**
   * Experiment name, `{experimentId}`/`{experimentName}`, or a function returning the recorders.
   * A name or ref must exist: it is never created (W40); a missing one is `EXPERIMENT_NOT_FOUND`.
   */
  experiment: string | ExperimentRef | (() => Recorder[]);
  /** The experiment store, or its mlruns path. Default: `getStore()` ($QTASK_MLRUNS, else ./mlruns). */
  store?: ExperimentStore | string;
  /** Key of each recorder's results. Default: `defaultRecKey` (model class + test segment). */
  recKeyFunc?: RecKeyFunc;
  /** Keeps a recorder when true. Default: all. */
  recFilterFunc?: RecFilterFunc;
  /** `{artifactKey: artifact name}` loaded with `loadObject`. Default `{pred: 'pred'}` (pred.csv). */
  artifactsPath?: Record<string, string>;
  /** Which artifact keys to collect. Default: every key of `artifactsPath`. */
  artifactsKey?: string | string[];
  /** Skip a recorder that lacks an artifact instead of failing. Default true. */
  onlyExist?: boolean;
  /** Recorder statuses collected. Default `['FINISHED']`. */
  status?: RunStatus[];
  /**
   * Reads one artifact (e.g. through a cache). Must throw the recorder's ARTIFACT_NOT_FOUND error for
   * a missing one. Default: `loadObject` with the fast pred.csv reader.
   */
  loadArtifact?: (recorder: Recorder, name: string) => unknown;
}

export interface CollectOverrides {
  artifactsKey?: string | string[];
  recFilterFunc?: RecFilterFunc;
  onlyExist?: boolean;
}

/** What the last `collect()` saw, for reports. */
export interface CollectStats {
  /** Recorders listed, by status, before filtering. */
  byStatus: Partial<Record<RunStatus, number>>;
  /** Recorders that passed the status and filter. */
  selected: number;
  /** `(recorder, artifact)` pairs skipped because the artifact was missing (`onlyExist`). */
  missing: { recorderId: string; artifact: string }[];
  /** Unreadable run directories met while listing. */
  problems: RecorderError[];
}

/**
 * qlib's RecorderCollector: `{artifactKey: {recKey: loadObject(path)}}` over the FINISHED recorders of
 * an experiment. Differences from qlib, all on purpose:
 * - a missing experiment is `EXPERIMENT_NOT_FOUND` (qlib created it, W40);
 * - no recorder left after the status and filter is `NO_RECORDERS` (qlib returned `{}`), and no
 *   requested artifact in any of them is `NO_ARTIFACTS`;
 * - two recorders with one key is `DUPLICATE_REC_KEY` naming both ids (qlib kept the oldest, W40).
 */
export class RecorderCollector extends Collector {
  readonly artifactsPath: Record<string, string>;
  readonly artifactsKey: string[];
  readonly onlyExist: boolean;
  readonly status: RunStatus[];
  private readonly experiment: RecorderCollectorOptions['experiment'];
  private readonly storeOpt: ExperimentStore | string | undefined;
  private readonly recKeyFunc: RecKeyFunc;
  private readonly recFilterFunc: RecFilterFunc | undefined;
  private readonly load: (recorder: Recorder, name: string) => unknown;
  lastStats: CollectStats | undefined;

  constructor(opts: RecorderCollectorOptions) {
    super(opts);
    this.experiment = opts.experiment;
    this.storeOpt = opts.store;
    this.recKeyFunc = opts.recKeyFunc ?? defaultRecKey;
    this.recFilterFunc = opts.recFilterFunc;
    this.load = opts.loadArtifact ?? loadArtifact;
    this.artifactsPath = opts.artifactsPath ?? { pred: 'pred' };
    const keys = opts.artifactsKey ?? Object.keys(this.artifactsPath);
    this.artifactsKey = Array.isArray(keys) ? [...keys] : [keys];
    this.onlyExist = opts.onlyExist ?? true;
    this.status = opts.status ?? ['FINISHED'];
    this.checkArtifactKeys(this.artifactsKey, 'artifactsKey');
  }

  private checkArtifactKeys(keys: string[], path: string): void {
    if (keys.length === 0) throw new CollectError('VALIDATION', 'no artifact keys to collect', { path, hint: `use keys of artifactsPath: ${Object.keys(this.artifactsPath).join(', ')}` });
    for (const k of keys) {
      if (k !== ART_KEY_RAW && this.artifactsPath[k] === undefined) {
        throw new CollectError('VALIDATION', `artifact key ${JSON.stringify(k)} is not in artifactsPath`, { path, hint: `artifactsPath keys: ${Object.keys(this.artifactsPath).join(', ') || '(none)'}` });
      }
    }
  }

  private store(): ExperimentStore {
    if (this.storeOpt === undefined) return getStore();
    return typeof this.storeOpt === 'string' ? getStore({ uri: this.storeOpt }) : this.storeOpt;
  }

  /** The experiment's name (qlib's `get_exp_name`); undefined for a recorder function. */
  getExpName(): string | undefined {
    if (typeof this.experiment === 'function') return undefined;
    return typeof this.experiment === 'string' ? this.experiment : this.store().getExperiment(this.experiment).name;
  }

  private listAll(): { recorders: Recorder[]; infos: RecorderInfo[]; problems: RecorderError[] } {
    if (typeof this.experiment === 'function') {
      const recorders = this.experiment();
      return { recorders, infos: recorders.map((r) => r.info()), problems: [] };
    }
    const ref = typeof this.experiment === 'string' ? { experimentName: this.experiment } : this.experiment;
    return this.store().listRecorders(ref);
  }

  collect(overrides: CollectOverrides = {}): KeyedDict<unknown> {
    const artifactKeys = overrides.artifactsKey === undefined ? this.artifactsKey : Array.isArray(overrides.artifactsKey) ? overrides.artifactsKey : [overrides.artifactsKey];
    this.checkArtifactKeys(artifactKeys, 'artifactsKey');
    const filter = overrides.recFilterFunc ?? this.recFilterFunc;
    const onlyExist = overrides.onlyExist ?? this.onlyExist;
    const { recorders, infos, problems } = this.listAll();
    const byStatus: Partial<Record<RunStatus, number>> = {};
    for (const i of infos) byStatus[i.status] = (byStatus[i.status] ?? 0) + 1;
    const selected: { rec: Recorder; info: RecorderInfo }[] = [];
    recorders.forEach((rec, i) => {
      const info = infos[i]!;
      if (!this.status.includes(info.status)) return;
      if (filter && !filter(rec, info)) return;
      selected.push({ rec, info });
    });
    const stats: CollectStats = { byStatus, selected: selected.length, missing: [], problems };
    this.lastStats = stats;
    const where = typeof this.experiment === 'function' ? 'the recorders given' : `experiment ${JSON.stringify(this.getExpName())}`;
    if (selected.length === 0) {
      const seen = Object.entries(byStatus).map(([s, n]) => `${n} ${s}`).join(', ');
      throw new CollectError('NO_RECORDERS', `${where} has no ${this.status.join('/')} recorder${filter ? ' that passes the filter' : ''}${seen ? ` (runs: ${seen})` : ' (it has no runs)'}`, {
        path: 'experiment',
        hint: seen ? 'check the status option and the filter' : 'train tasks into this experiment first (taskTrain / qtask worker)',
      });
    }
    const keyed = selected.map(({ rec, info }) => {
      let key: Key;
      try {
        key = this.recKeyFunc(rec, info);
      } catch (e) {
        if (e instanceof QtaskError) throw e;
        throw new CollectError('REC_KEY', `recKeyFunc failed on recorder ${rec.id}: ${(e as Error).message}`, { path: `recorder ${rec.id}`, hint: 'fix recKeyFunc', cause: e });
      }
      assertKey(key, `recKeyFunc(recorder ${rec.id})`);
      return { rec, key };
    });
    const byKey = new Map<string, string[]>();
    for (const { rec, key } of keyed) {
      const id = keyId(key);
      byKey.set(id, [...(byKey.get(id) ?? []), rec.id]);
    }
    const dups = [...byKey].filter(([, ids]) => ids.length > 1);
    if (dups.length) {
      throw new CollectError('DUPLICATE_REC_KEY', `${where}: ${dups.map(([k, ids]) => `key ${k} is shared by recorders ${ids.join(', ')}`).join('; ')}`, {
        path: 'recKeyFunc',
        hint: 'delete the stale runs, narrow recFilterFunc (e.g. to the latest run per key), or include the recorder id in the key',
      });
    }
    const out = new KeyedDict<unknown>();
    for (const { rec, key } of keyed) {
      for (const art of artifactKeys) {
        let value: unknown;
        if (art === ART_KEY_RAW) value = rec;
        else {
          try {
            value = this.load(rec, this.artifactsPath[art]!);
          } catch (e) {
            if (onlyExist && e instanceof RecorderError && e.code === 'ARTIFACT_NOT_FOUND') {
              stats.missing.push({ recorderId: rec.id, artifact: art });
              continue;
            }
            throw e;
          }
        }
        (out.setDefault(art, () => new KeyedDict<unknown>()) as KeyedDict<unknown>).set(key, value);
      }
    }
    if (out.size === 0) {
      throw new CollectError('NO_ARTIFACTS', `none of the ${selected.length} recorders of ${where} has ${artifactKeys.map((k) => JSON.stringify(this.artifactsPath[k] ?? k)).join(' or ')}`, {
        path: 'artifactsPath',
        hint: 'check artifactsPath (e.g. {pred: "pred"} for pred.csv) against `listArtifacts()` of a recorder',
      });
    }
    return out;
  }
}
