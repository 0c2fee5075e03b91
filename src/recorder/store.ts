import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RecorderError } from './errors.ts';
import { withLockFile, writeFileAtomic } from './fsAtomic.ts';
import { dumpMeta, parseMeta } from './yamlMeta.ts';
import { resolveMlrunsUri } from './uri.ts';
import {
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  META_FILE,
  OWNER_FILE,
  RESERVED_EXPERIMENT_FOLDERS,
  TRASH_FOLDER,
  readRunMeta,
  writeRunMeta,
} from './runMeta.ts';
import type { LifecycleStage, RunStatus } from './runMeta.ts';
import { END_REASON_TAG, RUN_NAME_TAG, Recorder, ensureRunFolders } from './recorder.ts';
import type { RecorderInfo } from './recorder.ts';
import type { LoggableValue } from './pyFormat.ts';

/** qlib's default experiment name for `R.start` without one. */
export const QLIB_DEFAULT_EXPERIMENT_NAME = 'Experiment';
const LOCK_FILE = '.qtask-experiments.lock';

export interface ExperimentStoreOptions {
  /** mlruns directory or `file:` URI. Default: `resolveMlrunsUri()` ($QTASK_MLRUNS, else ./mlruns). */
  uri?: string;
  /** A RUNNING run whose heartbeat is older than this is reported stale. Default 60 000 ms. */
  staleAfterMs?: number;
  /**
   * fsync every file before its rename, making writes durable across power loss, not only atomic
   * across process crashes. Costs ~10 ms per file on ordinary disks. Default false.
   */
  fsync?: boolean;
}

export interface ExperimentInfo {
  id: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number | null;
  lastUpdateTime: number | null;
}

/** An experiment by id or by name (id wins when both are given). */
export interface ExperimentRef {
  experimentId?: string;
  experimentName?: string;
}

export interface ExperimentListing {
  experiments: ExperimentInfo[];
  /** Experiment directories that could not be read; listing goes on without them. */
  problems: RecorderError[];
}

export interface RecorderListing {
  /** Newest first (start time descending), as qlib/MLflow list them. */
  recorders: Recorder[];
  /** `infos[i]` is `recorders[i].info()` as read during listing. */
  infos: RecorderInfo[];
  /** Run directories that could not be read (code RUN_CORRUPT); listing goes on without them. */
  problems: RecorderError[];
}

export interface ListRecordersOptions {
  /** Keep only these statuses. Default: all. */
  status?: RunStatus[];
  /** Include deleted runs. Default false (qlib lists ACTIVE_ONLY). */
  includeDeleted?: boolean;
}

export interface StartOptions extends ExperimentRef {
  /** Run name (`mlflow.runName`). Default: the run id (qlib used "mlflow_recorder" for every run, W18). */
  recorderName?: string;
  /** Create the experiment (by name) when missing. Default true, as qlib's `R.start`. */
  createExperiment?: boolean;
  /** Extra tags set at creation. */
  tags?: Record<string, LoggableValue>;
}

export interface GetRecorderOptions extends ExperimentRef {
  recorderId?: string;
  recorderName?: string;
}

export type RecorderFilter = (recorder: Recorder, info: RecorderInfo) => boolean;

function newExperimentId(): string {
  // MLflow's file store uses random positive int64 ids written in decimal.
  return (randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn).toString();
}

function assertRunId(id: string, path: string): void {
  if (typeof id !== 'string' || !/^[a-zA-Z0-9][\w-]{0,255}$/.test(id)) {
    throw new RecorderError('RUN_NOT_FOUND', `invalid run id ${JSON.stringify(id)}`, { path, hint: 'run ids are 32 hex characters, as listRecorders prints them' });
  }
}

/**
 * qlib's ExpManager over an MLflow file store (`mlruns/`). All state is in files, so any number of
 * processes can share one store: run ids are random, run directories are created with mkdir,
 * experiment creation is serialised by an O_EXCL lock file in the root.
 */
export class ExperimentStore {
  /** Absolute path of the mlruns directory. */
  readonly root: string;
  readonly staleAfterMs: number;
  readonly fsync: boolean;

  constructor(opts: ExperimentStoreOptions = {}) {
    this.root = resolveMlrunsUri(opts.uri === undefined ? {} : { uri: opts.uri });
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
    this.fsync = opts.fsync ?? false;
    if (existsSync(this.root) && !statSync(this.root).isDirectory()) {
      throw new RecorderError('MLRUNS_URI', `${this.root} is not a directory`, { path: this.root, hint: 'point the store at a directory (it is created when missing)' });
    }
    mkdirSync(join(this.root, TRASH_FOLDER), { recursive: true });
    if (!existsSync(join(this.root, DEFAULT_EXPERIMENT_ID, META_FILE)) && !existsSync(join(this.root, TRASH_FOLDER, DEFAULT_EXPERIMENT_ID))) {
      this.locked(() => {
        if (!existsSync(join(this.root, DEFAULT_EXPERIMENT_ID, META_FILE))) this.writeNewExperiment(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME);
      });
    }
  }

  private recorderOptions(): { staleAfterMs: number; fsync: boolean } {
    return { staleAfterMs: this.staleAfterMs, fsync: this.fsync };
  }

  private locked<T>(fn: () => T): T {
    return withLockFile(join(this.root, LOCK_FILE), fn);
  }

  private writeNewExperiment(id: string, name: string): ExperimentInfo {
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: id === DEFAULT_EXPERIMENT_ID });
    const now = Date.now();
    const info: ExperimentInfo = {
      id,
      name,
      artifactLocation: pathToFileURL(dir).href,
      lifecycleStage: 'active',
      creationTime: now,
      lastUpdateTime: now,
    };
    this.writeExperimentMeta(dir, info);
    return info;
  }

  private writeExperimentMeta(dir: string, e: ExperimentInfo): void {
    writeFileAtomic(
      join(dir, META_FILE),
      dumpMeta({
        artifact_location: e.artifactLocation,
        creation_time: e.creationTime,
        experiment_id: e.id,
        last_update_time: e.lastUpdateTime,
        lifecycle_stage: e.lifecycleStage,
        name: e.name,
      }),
      dir,
      this.fsync,
    );
  }

  private readExperiment(dir: string, id: string): ExperimentInfo {
    const bad = (why: string, cause?: unknown): RecorderError =>
      new RecorderError('EXPERIMENT_CORRUPT', `experiment directory ${dir} is corrupt: ${why}`, {
        path: dir,
        hint: 'inspect or remove the directory; other experiments are unaffected',
        ...(cause === undefined ? {} : { cause }),
      });
    let d: Record<string, unknown>;
    try {
      d = parseMeta(readFileSync(join(dir, META_FILE), 'utf8'));
    } catch (e) {
      throw bad((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'meta.yaml is missing' : `meta.yaml is unreadable (${(e as Error).message.split('\n')[0]})`, e);
    }
    if (String(d.experiment_id) !== id) throw bad(`experiment_id ${JSON.stringify(d.experiment_id)} does not match the directory name`);
    if (typeof d.name !== 'string' && typeof d.name !== 'number') throw bad('name is missing');
    const stage = d.lifecycle_stage ?? 'active';
    if (stage !== 'active' && stage !== 'deleted') throw bad(`unknown lifecycle_stage ${JSON.stringify(stage)}`);
    const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
    return {
      id,
      name: String(d.name),
      artifactLocation: String(d.artifact_location ?? ''),
      lifecycleStage: stage,
      creationTime: int(d.creation_time),
      lastUpdateTime: int(d.last_update_time),
    };
  }

  private experimentDirs(includeDeleted: boolean): { id: string; dir: string }[] {
    const out: { id: string; dir: string }[] = [];
    const scan = (parent: string): void => {
      let entries;
      try {
        entries = readdirSync(parent, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'models') continue;
        out.push({ id: e.name, dir: join(parent, e.name) });
      }
    };
    scan(this.root);
    if (includeDeleted) scan(join(this.root, TRASH_FOLDER));
    return out;
  }

  /** qlib's `list_experiments`: readable experiments (active only by default) and the problems met. */
  listExperiments(opts: { includeDeleted?: boolean } = {}): ExperimentListing {
    const experiments: ExperimentInfo[] = [];
    const problems: RecorderError[] = [];
    for (const { id, dir } of this.experimentDirs(opts.includeDeleted ?? false)) {
      try {
        experiments.push(this.readExperiment(dir, id));
      } catch (e) {
        if (e instanceof RecorderError) problems.push(e);
        else throw e;
      }
    }
    experiments.sort((a, b) => (b.creationTime ?? 0) - (a.creationTime ?? 0) || a.id.localeCompare(b.id));
    return { experiments, problems };
  }

  private findByName(name: string, includeDeleted: boolean): ExperimentInfo | undefined {
    const all = this.listExperiments({ includeDeleted }).experiments.filter((e) => e.name === name);
    return all.find((e) => e.lifecycleStage === 'active') ?? all[0];
  }

  /**
   * An experiment by id or name. Never creates one unless `create: true` (qlib's list_recorders/
   * collectors created mistyped experiments silently, W40).
   */
  getExperiment(ref: ExperimentRef, opts: { create?: boolean } = {}): ExperimentInfo {
    if (ref.experimentId !== undefined) {
      const id = String(ref.experimentId);
      if (!/^[\w-]{1,64}$/.test(id)) throw this.notFound(`id ${JSON.stringify(id)}`);
      for (const dir of [join(this.root, id), join(this.root, TRASH_FOLDER, id)]) {
        if (existsSync(dir)) return this.readExperiment(dir, id);
      }
      throw this.notFound(`id ${id}`);
    }
    const name = ref.experimentName;
    if (typeof name !== 'string' || name === '') {
      throw new RecorderError('EXPERIMENT_NOT_FOUND', 'no experiment given', { path: 'experimentName', hint: 'pass experimentName or experimentId' });
    }
    const found = this.findByName(name, true);
    if (found && (found.lifecycleStage === 'active' || !opts.create)) return found;
    if (!opts.create) throw this.notFound(`name ${JSON.stringify(name)}`);
    return this.createExperiment(name, { existOk: true });
  }

  private notFound(what: string): RecorderError {
    const names = this.listExperiments().experiments.map((e) => e.name);
    return new RecorderError('EXPERIMENT_NOT_FOUND', `no experiment with ${what} in ${this.root}`, {
      path: 'experiment',
      hint: names.length ? `experiments: ${names.slice(0, 15).map((n) => JSON.stringify(n)).join(', ')}${names.length > 15 ? ', …' : ''}; pass create: true to make a new one` : 'the store has no experiments; pass create: true to make one',
    });
  }

  /** Creates an experiment; `EXPERIMENT_EXISTS` if the name is taken (also by a deleted one), unless `existOk` for an active one. */
  createExperiment(name: string, opts: { existOk?: boolean } = {}): ExperimentInfo {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new RecorderError('EXPERIMENT_NAME', `invalid experiment name ${JSON.stringify(name)}`, { path: 'experimentName', hint: 'use a non-empty name' });
    }
    return this.locked(() => {
      const existing = this.findByName(name, true);
      if (existing) {
        if (existing.lifecycleStage === 'active' && opts.existOk) return existing;
        throw new RecorderError('EXPERIMENT_EXISTS', `experiment ${JSON.stringify(name)} already exists${existing.lifecycleStage === 'deleted' ? ' (deleted)' : ''} with id ${existing.id}`, {
          path: 'experimentName',
          hint: existing.lifecycleStage === 'deleted' ? `restore it (mlflow experiments restore --experiment-id ${existing.id}) or remove ${join(this.root, TRASH_FOLDER, existing.id)}` : 'use getExperiment, or another name',
        });
      }
      for (;;) {
        const id = newExperimentId();
        if (existsSync(join(this.root, TRASH_FOLDER, id))) continue;
        try {
          return this.writeNewExperiment(id, name);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
    });
  }

  /** MLflow's delete_experiment: its runs and itself become `deleted` and it moves to `.trash/`. The Default experiment cannot be deleted. */
  deleteExperiment(ref: ExperimentRef): void {
    const exp = this.getExperiment(ref);
    if (exp.id === DEFAULT_EXPERIMENT_ID) {
      throw new RecorderError('EXPERIMENT_DEFAULT', 'the Default experiment (id 0) cannot be deleted', { path: 'experimentId', hint: 'MLflow reserves it' });
    }
    if (exp.lifecycleStage === 'deleted') return;
    this.locked(() => {
      const now = Date.now();
      const { recorders } = this.listRecorders({ experimentId: exp.id });
      for (const r of recorders) this.deleteRecorder(r.id, { experimentId: exp.id }, now);
      const dir = join(this.root, exp.id);
      this.writeExperimentMeta(dir, { ...exp, lifecycleStage: 'deleted', lastUpdateTime: now });
      renameSync(dir, join(this.root, TRASH_FOLDER, exp.id));
    });
  }

  private experimentDir(exp: ExperimentInfo): string {
    return exp.lifecycleStage === 'deleted' ? join(this.root, TRASH_FOLDER, exp.id) : join(this.root, exp.id);
  }

  /**
   * Starts a run: the owner/heartbeat file is written first, then its meta.yaml (status RUNNING), the
   * folders and the tags. Until `end()`, the run is ended FAILED if the process exits or is interrupted.
   */
  start(opts: StartOptions = {}): Recorder {
    const exp =
      opts.experimentId !== undefined
        ? this.getExperiment({ experimentId: opts.experimentId })
        : this.getExperiment({ experimentName: opts.experimentName ?? QLIB_DEFAULT_EXPERIMENT_NAME }, { create: opts.createExperiment ?? true });
    if (exp.lifecycleStage !== 'active') {
      throw new RecorderError('EXPERIMENT_DELETED', `experiment ${JSON.stringify(exp.name)} (${exp.id}) is deleted`, { path: 'experiment', hint: 'restore it or use another experiment' });
    }
    const expDir = this.experimentDir(exp);
    let id: string;
    let runDir: string;
    for (;;) {
      id = randomBytes(16).toString('hex');
      runDir = join(expDir, id);
      try {
        mkdirSync(runDir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const name = opts.recorderName ?? id;
    let user = '';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (containers): MLflow writes an empty user then too
    }
    // The owner file goes before the meta: a reader that sees RUNNING can always tell whether the
    // owner is alive, even when the process is killed right after the meta is written.
    writeFileSync(join(runDir, OWNER_FILE), `${process.pid}@${hostname()}\n`);
    writeRunMeta(runDir, {
      runId: id,
      runName: name,
      experimentId: exp.id,
      status: 'RUNNING',
      startTime: Date.now(),
      endTime: null,
      lifecycleStage: 'active',
      artifactUri: pathToFileURL(join(runDir, 'artifacts')).href,
      userId: user,
      deletedTime: null,
    }, this.fsync);
    ensureRunFolders(runDir);
    const rec = new Recorder(runDir, id, exp.id, this.recorderOptions());
    rec.markOpen();
    rec.setTags({
      [RUN_NAME_TAG]: name,
      'mlflow.user': user,
      'mlflow.source.name': process.argv[1] ?? '',
      'mlflow.source.type': 'LOCAL',
      ...(opts.tags ?? {}),
    });
    return rec;
  }

  /**
   * qlib's `list_recorders(experiment, rec_filter_func)`: runs of one experiment, newest first.
   * Unreadable run directories are reported in `problems`, never thrown. Never creates the experiment.
   */
  listRecorders(experiment: ExperimentRef | string, filterFn?: RecorderFilter, opts: ListRecordersOptions = {}): RecorderListing {
    const exp = this.getExperiment(typeof experiment === 'string' ? { experimentName: experiment } : experiment);
    const expDir = this.experimentDir(exp);
    const rows: { rec: Recorder; info: RecorderInfo }[] = [];
    const problems: RecorderError[] = [];
    for (const e of readdirSync(expDir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.') || RESERVED_EXPERIMENT_FOLDERS.has(e.name)) continue;
      const rec = new Recorder(join(expDir, e.name), e.name, exp.id, this.recorderOptions());
      let info: RecorderInfo;
      try {
        info = rec.info();
      } catch (err) {
        if (err instanceof RecorderError) {
          problems.push(err);
          continue;
        }
        throw err;
      }
      if (!opts.includeDeleted && info.lifecycleStage === 'deleted') continue;
      if (opts.status && !opts.status.includes(info.status)) continue;
      if (filterFn && !filterFn(rec, info)) continue;
      rows.push({ rec, info });
    }
    rows.sort((a, b) => b.info.startTime - a.info.startTime || a.info.id.localeCompare(b.info.id));
    return { recorders: rows.map((r) => r.rec), infos: rows.map((r) => r.info), problems };
  }

  /**
   * qlib's `get_recorder`: by id (optionally within an experiment) or by name within an experiment.
   * A corrupt run throws `RUN_CORRUPT`; a name shared by several runs throws `RUN_NAME_AMBIGUOUS`
   * listing their ids (qlib silently returned the newest).
   */
  getRecorder(opts: GetRecorderOptions): Recorder {
    if (opts.recorderId !== undefined) {
      assertRunId(opts.recorderId, 'recorderId');
      const exps =
        opts.experimentId !== undefined || opts.experimentName !== undefined
          ? [this.getExperiment(opts)]
          : this.listExperiments({ includeDeleted: true }).experiments;
      for (const exp of exps) {
        const runDir = join(this.experimentDir(exp), opts.recorderId);
        if (!existsSync(runDir)) continue;
        readRunMeta(runDir, opts.recorderId, exp.id);
        return new Recorder(runDir, opts.recorderId, exp.id, this.recorderOptions());
      }
      throw new RecorderError('RUN_NOT_FOUND', `no run with id ${opts.recorderId}`, { path: 'recorderId', hint: 'list runs with listRecorders(experiment)' });
    }
    if (opts.recorderName === undefined) {
      throw new RecorderError('RUN_NOT_FOUND', 'getRecorder needs recorderId or recorderName', { path: 'recorderId', hint: 'pass { recorderId } or { recorderName, experimentName }' });
    }
    const name = opts.recorderName;
    const listing = this.listRecorders(opts, (_r, info) => info.name === name);
    if (listing.recorders.length === 1) return listing.recorders[0]!;
    if (listing.recorders.length > 1) {
      throw new RecorderError('RUN_NAME_AMBIGUOUS', `${listing.recorders.length} runs are named ${JSON.stringify(name)}: ${listing.infos.map((i) => i.id).join(', ')}`, {
        path: 'recorderName',
        hint: 'get the run by recorderId instead',
      });
    }
    throw new RecorderError('RUN_NOT_FOUND', `no run named ${JSON.stringify(name)}`, {
      path: 'recorderName',
      hint: listing.problems.length ? `${listing.problems.length} run director${listing.problems.length === 1 ? 'y is' : 'ies are'} unreadable and were not searched (see listRecorders().problems)` : 'list runs with listRecorders(experiment)',
    });
  }

  /** qlib's `delete_recorder`: marks the run deleted (MLflow's soft delete; `mlflow gc` removes files). */
  deleteRecorder(recorderId: string, experiment?: ExperimentRef, now = Date.now()): void {
    const rec = this.getRecorder({ recorderId, ...(experiment ?? {}) });
    const m = readRunMeta(rec.runDir, rec.id, rec.experimentId);
    writeRunMeta(rec.runDir, { ...m, lifecycleStage: 'deleted', deletedTime: now }, this.fsync);
  }

  /**
   * Ends FAILED every RUNNING run whose owner is gone (see `RecorderInfo.stale`), tagging
   * `qtask.end_reason`. Returns the ids it ended.
   */
  markStaleRunsFailed(experiment?: ExperimentRef): string[] {
    const exps = experiment ? [this.getExperiment(experiment)] : this.listExperiments().experiments;
    const ended: string[] = [];
    for (const exp of exps) {
      const { recorders, infos } = this.listRecorders({ experimentId: exp.id });
      recorders.forEach((rec, i) => {
        if (!infos[i]!.stale) return;
        rec.setTags({ [END_REASON_TAG]: 'stale: owner process gone' });
        rec.end('FAILED');
        ended.push(rec.id);
      });
    }
    return ended;
  }
}
