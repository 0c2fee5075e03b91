import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { RecorderError } from './errors.ts';
import { writeFileAtomic } from './fsAtomic.ts';
import { assertKey } from './keys.ts';
import { csvToObject, encodeArtifact } from './artifacts.ts';
import type { ArtifactValue, LoadedArtifact } from './artifacts.ts';
import { pythonFloatRepr, pythonStr } from './pyFormat.ts';
import type { LoggableValue } from './pyFormat.ts';
import { META_FILE, OWNER_FILE, isStale, readHeartbeat, readRunMeta, writeRunMeta } from './runMeta.ts';
import type { Heartbeat, LifecycleStage, RunMeta, RunStatus } from './runMeta.ts';
import { registerOpenRun, unregisterOpenRun } from './activeRuns.ts';
import type { OpenRun } from './activeRuns.ts';
import type { JsonValue } from '../task/types.ts';

export const RUN_NAME_TAG = 'mlflow.runName';
/** Tag set when qtask ends a run FAILED on its own (signal, process exit, stale run): why. */
export const END_REASON_TAG = 'qtask.end_reason';

/** qlib's `Recorder.info`, plus liveness. */
export interface RecorderInfo {
  id: string;
  name: string;
  experimentId: string;
  status: RunStatus;
  /** ms since the epoch. */
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
  userId: string;
  /** Owner process and last heartbeat, for runs qtask started. */
  heartbeat?: Heartbeat;
  /** RUNNING but its process is gone (dead on this host, or no heartbeat for `staleAfterMs`). */
  stale: boolean;
}

/** @internal */
export interface RecorderOptions {
  staleAfterMs: number;
  fsync: boolean;
}

export interface MetricPoint {
  timestamp: number;
  value: number;
  step: number;
}

export interface SaveObjectsOptions {
  /** Sub-directory under `artifacts/`. Default: the artifact root. */
  artifactPath?: string;
}

function walkFiles(dir: string, base = dir): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p, base));
    else if (e.isFile()) out.push(relative(base, p).split(sep).join('/'));
  }
  return out.sort();
}

/**
 * One MLflow run (qlib's Recorder). Every write is atomic (temp file in the run directory, then
 * rename). A Recorder can log to a run that has ended, as MLflow and qlib allow (trainers tag
 * finished runs), but not to a deleted one.
 */
export class Recorder implements OpenRun {
  readonly id: string;
  readonly experimentId: string;
  /** Absolute path of the run directory `<mlruns>/<experimentId>/<id>`. */
  readonly runDir: string;
  private readonly staleAfterMs: number;
  private readonly fsync: boolean;
  private openHere = false;

  /** @internal Use `ExperimentStore.start` / `getRecorder`. */
  constructor(runDir: string, id: string, experimentId: string, opts: RecorderOptions) {
    this.runDir = runDir;
    this.id = id;
    this.experimentId = experimentId;
    this.staleAfterMs = opts.staleAfterMs;
    this.fsync = opts.fsync;
  }

  private meta(): RunMeta {
    return readRunMeta(this.runDir, this.id, this.experimentId);
  }

  info(): RecorderInfo {
    const m = this.meta();
    const hb = readHeartbeat(this.runDir);
    return {
      id: m.runId,
      name: m.runName || (this.listTags()[RUN_NAME_TAG] ?? ''),
      experimentId: m.experimentId,
      status: m.status,
      startTime: m.startTime,
      endTime: m.endTime,
      lifecycleStage: m.lifecycleStage,
      artifactUri: m.artifactUri,
      userId: m.userId,
      ...(hb ? { heartbeat: hb } : {}),
      stale: isStale(m.status, hb, this.staleAfterMs),
    };
  }

  get name(): string {
    return this.info().name;
  }

  private writable(): void {
    // A line test instead of a YAML parse: this runs on every logging call.
    let text: string;
    try {
      text = readFileSync(join(this.runDir, META_FILE), 'utf8');
    } catch {
      this.meta();
      return;
    }
    if (/^lifecycle_stage:\s*'?deleted'?\s*$/m.test(text)) {
      throw new RecorderError('RUN_DELETED', `run ${this.id} is deleted; it cannot be changed`, {
        path: this.runDir,
        hint: 'start a new recorder, or restore the run with `mlflow runs restore`',
      });
    }
  }

  private writeEntry(folder: 'params' | 'tags' | 'metrics' | 'artifacts', key: string, data: string | Uint8Array): void {
    writeFileAtomic(join(this.runDir, folder, ...key.split('/')), data, this.runDir, this.fsync);
  }

  /** qlib's `log_params`. Values are stored as Python's `str()` would (see pyFormat); a param cannot change once logged (MLflow's rule). */
  logParams(params: Record<string, LoggableValue>): void {
    this.writable();
    const existing = this.listParams();
    for (const [key, value] of Object.entries(params)) {
      assertKey('param', key, `params.${key}`);
      const text = pythonStr(value);
      const old = existing[key];
      if (old !== undefined && old !== text) {
        throw new RecorderError('PARAM_CHANGED', `param ${key} was logged as ${JSON.stringify(old)}; it cannot change to ${JSON.stringify(text)}`, {
          path: `params.${key}`,
          hint: 'params are immutable in MLflow; log the new value under another key, or use a metric or tag',
        });
      }
    }
    for (const [key, value] of Object.entries(params)) this.writeEntry('params', key, pythonStr(value));
  }

  /**
   * qlib's `log_metrics`: appends `<timestamp_ms> <value> <step>` to `metrics/<key>` per metric.
   * @param step default 0, as MLflow.
   * @param timestamp ms since the epoch; default now.
   */
  logMetrics(metrics: Record<string, number>, step = 0, timestamp = Date.now()): void {
    this.writable();
    if (!Number.isSafeInteger(step)) {
      throw new RecorderError('METRIC_VALUE', `step ${step} is not an integer`, { path: 'step', hint: 'steps are integers (MLflow stores int64)' });
    }
    for (const [key, value] of Object.entries(metrics)) {
      assertKey('metric', key, `metrics.${key}`);
      if (typeof value !== 'number') {
        throw new RecorderError('METRIC_VALUE', `metric ${key} is ${typeof value}, not a number`, { path: `metrics.${key}`, hint: 'metrics are numbers; log text as a tag' });
      }
    }
    const ts = Math.round(timestamp);
    for (const [key, value] of Object.entries(metrics)) {
      const path = join(this.runDir, 'metrics', ...key.split('/'));
      let old = '';
      try {
        old = readFileSync(path, 'utf8');
      } catch {
        // first value of this metric
      }
      if (old !== '' && !old.endsWith('\n')) old += '\n';
      this.writeEntry('metrics', key, `${old}${ts} ${pythonFloatRepr(value)} ${step}\n`);
    }
  }

  /** qlib's `set_tags`; values stored as Python's `str()`. Setting `mlflow.runName` renames the run, as MLflow does. */
  setTags(tags: Record<string, LoggableValue>): void {
    this.writable();
    for (const key of Object.keys(tags)) assertKey('tag', key, `tags.${key}`);
    for (const [key, value] of Object.entries(tags)) this.writeEntry('tags', key, pythonStr(value));
    const newName = tags[RUN_NAME_TAG];
    if (newName !== undefined) writeRunMeta(this.runDir, { ...this.meta(), runName: pythonStr(newName) }, this.fsync);
  }

  deleteTags(...keys: string[]): void {
    this.writable();
    for (const key of keys) {
      assertKey('tag', key, `tags.${key}`);
      rmSync(join(this.runDir, 'tags', ...key.split('/')), { force: true });
    }
  }

  private readFolder(folder: 'params' | 'tags'): Record<string, string> {
    const dir = join(this.runDir, folder);
    const out: Record<string, string> = {};
    for (const key of walkFiles(dir)) out[key] = readFileSync(join(dir, ...key.split('/')), 'utf8');
    return out;
  }

  listTags(): Record<string, string> {
    return this.readFolder('tags');
  }

  listParams(): Record<string, string> {
    return this.readFolder('params');
  }

  /** Full history of one metric, in logging order (MLflow's `get_metric_history`); [] if never logged. */
  getMetricHistory(key: string): MetricPoint[] {
    assertKey('metric', key, `metrics.${key}`);
    let text: string;
    try {
      text = readFileSync(join(this.runDir, 'metrics', ...key.split('/')), 'utf8');
    } catch {
      return [];
    }
    const out: MetricPoint[] = [];
    for (const line of text.split('\n')) {
      const parts = line.trim().split(' ');
      // A torn last line (crash mid-write by another tool) is skipped rather than failing the read.
      if (parts.length !== 2 && parts.length !== 3) continue;
      const timestamp = Number(parts[0]);
      const value = Number(parts[1] === 'nan' ? NaN : parts[1] === 'inf' ? Infinity : parts[1] === '-inf' ? -Infinity : parts[1]);
      const step = parts.length === 3 ? Number(parts[2]) : 0;
      if (!Number.isInteger(timestamp) || !Number.isInteger(step) || (Number.isNaN(value) && parts[1] !== 'nan')) continue;
      out.push({ timestamp, value, step });
    }
    return out;
  }

  /** Latest value of every metric, chosen as MLflow does: the largest (step, timestamp, value). */
  listMetrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of walkFiles(join(this.runDir, 'metrics'))) {
      let best: MetricPoint | undefined;
      for (const p of this.getMetricHistory(key)) {
        if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
      }
      if (best) out[key] = best.value;
    }
    return out;
  }

  /**
   * qlib's `save_objects`, without pickles: JSON → `<name>.json`, Panel / column table → `<name>.csv`,
   * bytes → `<name>` (see artifacts.ts). Returns the artifact paths written.
   */
  saveObjects(objects: Record<string, ArtifactValue>, opts: SaveObjectsOptions = {}): string[] {
    this.writable();
    if (opts.artifactPath !== undefined) assertKey('artifact path', opts.artifactPath, 'artifactPath');
    const encoded = Object.entries(objects).map(([name, value]) => {
      assertKey('artifact', name, `objects.${name}`);
      return encodeArtifact(name, value);
    });
    const written: string[] = [];
    for (const e of encoded) {
      const rel = opts.artifactPath ? `${opts.artifactPath}/${e.fileName}` : e.fileName;
      this.writeEntry('artifacts', rel, e.data);
      written.push(rel);
    }
    return written;
  }

  /** Copies a local file into the artifacts (MLflow's `log_artifact`); returns its artifact path. */
  logArtifact(localPath: string, artifactPath?: string): string {
    this.writable();
    if (artifactPath !== undefined) assertKey('artifact path', artifactPath, 'artifactPath');
    const name = localPath.split(/[\\/]/).pop() ?? '';
    assertKey('artifact', name, 'localPath');
    const rel = artifactPath ? `${artifactPath}/${name}` : name;
    this.writeEntry('artifacts', rel, readFileSync(localPath));
    return rel;
  }

  /** Artifact file paths (recursive, `/`-separated) under `path` (default: all). */
  listArtifacts(path?: string): string[] {
    if (path !== undefined) assertKey('artifact path', path, 'path');
    const base = join(this.runDir, 'artifacts');
    const files = walkFiles(base);
    return path === undefined ? files : files.filter((f) => f.startsWith(`${path}/`) || f === path);
  }

  /** Local path of an artifact file (MLflow's `download_artifacts` for a file store). */
  artifactLocalPath(name: string): string {
    assertKey('artifact', name, 'name');
    return join(this.runDir, 'artifacts', ...name.split('/'));
  }

  /**
   * qlib's `load_object`. Looks for `name` itself (decoded by extension: .json, .csv, else bytes),
   * then `name.json`, then `name.csv`. Pickles are refused, never loaded.
   */
  loadObject(name: string): LoadedArtifact {
    assertKey('artifact', name, 'name');
    const candidates = [name, `${name}.json`, `${name}.csv`];
    for (const c of candidates) {
      const p = this.artifactLocalPath(c);
      if (!existsSync(p) || !statSync(p).isFile()) continue;
      if (c.endsWith('.pkl')) {
        throw new RecorderError('ARTIFACT_PICKLE', `artifact ${c} is a pickle; qtask does not load pickles`, {
          path: p,
          hint: 're-save it from Python as JSON/CSV/Parquet, or read it with pandas yourself if you trust its origin',
        });
      }
      const bytes = readFileSync(p);
      if (c.endsWith('.json')) {
        try {
          return JSON.parse(bytes.toString('utf8')) as JsonValue;
        } catch (e) {
          throw new RecorderError('ARTIFACT_CORRUPT', `artifact ${c} is not valid JSON`, { path: p, hint: 'the file was truncated or edited', cause: e });
        }
      }
      if (c.endsWith('.csv')) return csvToObject(bytes.toString('utf8'), p);
      return new Uint8Array(bytes);
    }
    const have = this.listArtifacts();
    throw new RecorderError('ARTIFACT_NOT_FOUND', `run ${this.id} has no artifact ${JSON.stringify(name)}`, {
      path: `artifacts/${name}`,
      hint: have.length ? `artifacts: ${have.slice(0, 20).join(', ')}${have.length > 20 ? ', …' : ''}` : 'the run has no artifacts',
    });
  }

  /** True from `ExperimentStore.start` until `end()`, in the process that started the run. */
  get isOpen(): boolean {
    return this.openHere;
  }

  /** Ends the run (qlib's `end_run`): rewrites meta.yaml with the status and end time. Default FINISHED. */
  end(status: RunStatus = 'FINISHED'): void {
    this.openHere = false;
    unregisterOpenRun(this);
    writeRunMeta(this.runDir, { ...this.meta(), status, endTime: Date.now() }, this.fsync);
  }

  /** @internal */
  failSync(reason: string): void {
    try {
      this.setTags({ [END_REASON_TAG]: reason });
    } finally {
      this.end('FAILED');
    }
  }

  /** @internal */
  beat(): void {
    const now = new Date();
    utimesSync(join(this.runDir, OWNER_FILE), now, now);
  }

  /** @internal */
  markOpen(): void {
    this.openHere = true;
    registerOpenRun(this);
  }
}

export function ensureRunFolders(runDir: string): void {
  for (const f of ['metrics', 'params', 'artifacts', 'tags']) mkdirSync(join(runDir, f), { recursive: true });
}
