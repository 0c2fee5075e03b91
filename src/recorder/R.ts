import { AsyncLocalStorage } from 'node:async_hooks';
import { RecorderError } from './errors.ts';
import { ExperimentStore } from './store.ts';
import type {
  ExperimentListing,
  ExperimentRef,
  ExperimentStoreOptions,
  GetRecorderOptions,
  ListRecordersOptions,
  RecorderFilter,
  RecorderListing,
  StartOptions,
} from './store.ts';
import { resolveMlrunsUri } from './uri.ts';
import type { Recorder, SaveObjectsOptions } from './recorder.ts';
import type { ArtifactValue, LoadedArtifact } from './artifacts.ts';
import type { LoggableValue } from './pyFormat.ts';

/**
 * qlib's `R` as module functions. Differences from qlib (W22): the active recorder is per async
 * scope (AsyncLocalStorage), not per process, so concurrent `R.start` scopes in one process each log
 * to their own run; and logging outside a scope throws `NO_ACTIVE_RECORDER` instead of silently
 * starting a default run.
 */

const stores = new Map<string, ExperimentStore>();
const scope = new AsyncLocalStorage<{ store: ExperimentStore; recorder: Recorder }>();
let defaultUri: string | undefined;

/** The store for `uri` (default: the one set by `setUri`, else `resolveMlrunsUri()`), cached per directory. */
export function getStore(opts: ExperimentStoreOptions = {}): ExperimentStore {
  const uri = opts.uri ?? defaultUri;
  const root = resolveMlrunsUri(uri === undefined ? {} : { uri });
  let s = stores.get(root);
  if (!s) {
    s = new ExperimentStore({ ...opts, uri: root });
    stores.set(root, s);
  }
  return s;
}

function active(): { store: ExperimentStore; recorder: Recorder } {
  const a = scope.getStore();
  if (!a) {
    throw new RecorderError('NO_ACTIVE_RECORDER', 'no active recorder: this call logs to the recorder of an R.start scope', {
      hint: 'wrap the code in `await R.start({ experimentName }, async (rec) => { … })`, or call the method on a Recorder',
    });
  }
  return a;
}

export interface RStartOptions extends StartOptions {
  /** mlruns location for this scope. Default: `R.setUri` or `resolveMlrunsUri()`. */
  uri?: string;
}

export const R = {
  /** Sets the default mlruns location for later calls (qlib's `R.set_uri`). */
  setUri(uri: string | undefined): void {
    defaultUri = uri;
  },

  getUri(): string {
    return getStore().root;
  },

  /**
   * qlib's `with R.start(...)`: runs `fn` with a new recorder active, then ends it FINISHED, or
   * FAILED if `fn` throws (the error is rethrown) — and FAILED on SIGINT/SIGTERM/process exit
   * while `fn` runs (qlib left those RUNNING, W23).
   */
  async start<T>(opts: RStartOptions, fn: (recorder: Recorder) => Promise<T> | T): Promise<T> {
    const store = getStore(opts.uri === undefined ? {} : { uri: opts.uri });
    const recorder = store.start(opts);
    let result: T;
    try {
      result = await scope.run({ store, recorder }, () => fn(recorder));
    } catch (e) {
      if (recorder.isOpen) recorder.end('FAILED');
      throw e;
    }
    // A body that ended the run itself (e.g. as KILLED) keeps its status.
    if (recorder.isOpen) recorder.end('FINISHED');
    return result;
  },

  /** The active recorder with no arguments; otherwise `ExperimentStore.getRecorder` (default experiment: none, give one). */
  getRecorder(opts?: GetRecorderOptions & { uri?: string }): Recorder {
    if (opts === undefined) return active().recorder;
    return getStore(opts.uri === undefined ? {} : { uri: opts.uri }).getRecorder(opts);
  },

  activeRecorder(): Recorder | undefined {
    return scope.getStore()?.recorder;
  },

  listRecorders(experiment: ExperimentRef | string, filterFn?: RecorderFilter, opts?: ListRecordersOptions & { uri?: string }): RecorderListing {
    return getStore(opts?.uri === undefined ? {} : { uri: opts.uri }).listRecorders(experiment, filterFn, opts);
  },

  listExperiments(opts?: { includeDeleted?: boolean; uri?: string }): ExperimentListing {
    return getStore(opts?.uri === undefined ? {} : { uri: opts.uri }).listExperiments(opts);
  },

  getExperiment(ref: ExperimentRef, opts?: { create?: boolean; uri?: string }) {
    return getStore(opts?.uri === undefined ? {} : { uri: opts.uri }).getExperiment(ref, opts);
  },

  deleteRecorder(recorderId: string, experiment?: ExperimentRef & { uri?: string }): void {
    getStore(experiment?.uri === undefined ? {} : { uri: experiment.uri }).deleteRecorder(recorderId, experiment);
  },

  deleteExperiment(ref: ExperimentRef & { uri?: string }): void {
    getStore(ref.uri === undefined ? {} : { uri: ref.uri }).deleteExperiment(ref);
  },

  logParams(params: Record<string, LoggableValue>): void {
    active().recorder.logParams(params);
  },

  /** qlib's `R.log_metrics(step=None, **metrics)`; step default 0. */
  logMetrics(metrics: Record<string, number>, step?: number): void {
    active().recorder.logMetrics(metrics, step);
  },

  setTags(tags: Record<string, LoggableValue>): void {
    active().recorder.setTags(tags);
  },

  saveObjects(objects: Record<string, ArtifactValue>, opts?: SaveObjectsOptions): string[] {
    return active().recorder.saveObjects(objects, opts);
  },

  loadObject(name: string): LoadedArtifact {
    return active().recorder.loadObject(name);
  },
};
